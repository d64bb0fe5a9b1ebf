"""A loopback stand-in for ComfyUI that speaks the recorded protocol.

``FakeComfyUI`` validates prompts against the real server's 478 node definitions, really
runs a few model-free image nodes with Pillow, simulates the rest (with configurable steps,
delays and preview frames) and injects faults on demand. See :mod:`.server` for the knobs.
"""

from discomfy.testing.fake_comfyui.server import FakeComfyUI

__all__ = ["FakeComfyUI"]
