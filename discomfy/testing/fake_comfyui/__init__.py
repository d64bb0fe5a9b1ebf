"""A loopback stand-in for ComfyUI that speaks the recorded protocol.

``FakeComfyUI`` validates prompts against the real server's 478 node definitions, really
runs the model-free image nodes with Pillow, simulates the nodes that need weights (with
configurable steps, delays and preview frames, and a marker in the saved images) and injects
faults on demand; any other node fails its job naming it (:mod:`.semantics` says how to add
one). See :mod:`.server` for the knobs.
"""

from discomfy.testing.fake_comfyui.server import FakeComfyUI

__all__ = ["FakeComfyUI"]
