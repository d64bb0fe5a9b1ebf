"""What the fake ComfyUI can execute: a registry of node semantics, and nothing else.

The fake never pretends: a node runs only if the registry says what it does, in one of two ways.

* **real** — the node computes what ComfyUI computes, on real pixels with Pillow
  (``ImageScaleBy`` 3x gives a 3x image). These are the model-free nodes.
* **simulated** — the node needs model weights (loaders, text encoders, samplers, VAE...).
  Its outputs are stand-ins that carry the pixel size the graph asked for, so a txt2img graph
  still saves an image of the requested size. Every image saved downstream of a simulated
  node carries a marker in its PNG metadata: the text chunk ``SIMULATED_KEY`` lists those
  nodes (``KSampler (node 3), VAEDecode (node 8)``), so a test can tell simulated pixels
  from computed ones.

A node with no semantics fails its job with ``execution_error`` naming the node and how to
register it; it is never passed through.

Registering semantics, from any module::

    from discomfy.testing.fake_comfyui.semantics import NodeResult, fake_node, simulate_nodes

    @fake_node("ImageMirror", summary="mirrors each image left-right")
    def image_mirror(ctx, image):                # ctx: NodeContext; inputs by name, links resolved
        return NodeResult(([ImageOps.mirror(im) for im in as_batch(image)],))

    simulate_nodes("MyUpscaleModelLoader", summary="loads an upscale model")

``fake_node`` and ``simulate_nodes`` fill the built-in registry that every ``FakeComfyUI``
copies when it is created; a module of built-in nodes is imported by :mod:`.nodes` (add it to
the imports there). In a single test, use the instance's own copy instead:
``fake_comfyui.nodes.register("MyNode")(fn)`` or ``fake_comfyui.nodes.simulate("MyNode")``.
Output nodes return their ``ui`` dict (``ctx.save_images(...)`` writes PNGs and builds it).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, PngImagePlugin

DEFAULT_SIZE = (64, 64)
#: PNG text chunk naming the simulated nodes an image came through.
SIMULATED_KEY = "discomfy-fake-simulated"
Batch = list[Image.Image]


@dataclass(frozen=True)
class Simulated:
    """A stand-in for a tensor/model value; carries the pixel size it represents, if known."""

    type: str
    size: tuple[int, int] | None = None
    batch: int = 1


class NodeFailure(Exception):
    """Raised by a node; becomes ``execution_error`` with this type and message."""

    def __init__(self, message: str, exception_type: str = "RuntimeError") -> None:
        super().__init__(message)
        self.exception_type = exception_type


@dataclass
class NodeResult:
    outputs: tuple[Any, ...]
    ui: dict[str, Any] | None = None
    text: str | None = None  # sent as a binary TEXT frame (GetImageSize does this)
    stream_images: Batch | None = None  # SaveImageWebsocket: one progress + frame per image


@dataclass
class NodeContext:
    """What a node function gets besides its inputs."""

    node_id: str
    class_type: str
    info: dict[str, Any]      # the node's /object_info definition
    files: Any                # the fake's FileStore (input images, saved outputs)
    simulated: tuple[str, ...] = ()  # simulated nodes upstream of this one (and itself)

    def save_images(self, batch: Batch, folder_type: str, prefix: str) -> dict[str, Any]:
        """Write each image as a PNG (with the simulation marker); the ``ui`` entry for them."""
        entries = []
        for image in batch:
            subfolder, filename = self.files.next_save_name(folder_type, prefix)
            data = png_bytes(image, self.simulated)
            self.files.put(folder_type, f"{subfolder}/{filename}" if subfolder else filename, data)
            entries.append({"filename": filename, "subfolder": subfolder, "type": folder_type})
        return {"images": entries}


NodeFunction = Callable[..., NodeResult]


@dataclass(frozen=True)
class NodeSemantics:
    class_type: str
    run: NodeFunction
    simulated: bool
    summary: str


@dataclass
class NodeRegistry:
    """Class type -> semantics. The built-in one is :data:`BUILTIN`; each fake has a copy."""

    entries: dict[str, NodeSemantics] = field(default_factory=dict)

    def register(self, class_type: str, *, summary: str, simulated: bool = False) -> Callable[[NodeFunction], NodeFunction]:
        """Decorator: ``fn(ctx, **inputs) -> NodeResult`` is what ``class_type`` does."""
        def decorate(fn: NodeFunction) -> NodeFunction:
            self.entries[class_type] = NodeSemantics(class_type, fn, simulated, summary)
            return fn
        return decorate

    def simulate(self, *class_types: str, summary: str = "needs model weights: simulated") -> None:
        """Run these nodes with the generic simulation (outputs sized like their inputs)."""
        for class_type in class_types:
            self.entries[class_type] = NodeSemantics(class_type, simulate_outputs, True, summary)

    def get(self, class_type: str) -> NodeSemantics | None:
        return self.entries.get(class_type)

    def copy(self) -> NodeRegistry:
        return NodeRegistry(dict(self.entries))

    def table(self) -> list[NodeSemantics]:
        return [self.entries[name] for name in sorted(self.entries)]


BUILTIN = NodeRegistry()
fake_node = BUILTIN.register
simulate_nodes = BUILTIN.simulate


def no_semantics_message(node_id: str, class_type: str) -> str:
    return (f"the fake ComfyUI has no semantics for node {node_id} ({class_type}) and will not pretend "
            f"to run it; register them: @fake_node({class_type!r}) from "
            f"discomfy.testing.fake_comfyui.semantics (computes the result), or "
            f"fake_comfyui.nodes.simulate({class_type!r}) in the test (a node that needs model weights)")


# -- helpers for node functions -----------------------------------------------------------
def png_bytes(image: Image.Image, simulated: Iterable[str] = ()) -> bytes:
    info = None
    names = ", ".join(simulated)
    if names:
        info = PngImagePlugin.PngInfo()
        info.add_text(SIMULATED_KEY, names)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def jpeg_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=60)
    return buffer.getvalue()


def is_batch(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and isinstance(value[0], Image.Image)


def size_of(value: Any) -> tuple[tuple[int, int] | None, int]:
    """The pixel size and batch a value stands for, when it knows one."""
    if is_batch(value):
        return value[0].size, len(value)
    if isinstance(value, Simulated):
        return value.size, value.batch
    return None, 1


def as_batch(value: Any) -> Batch:
    """Images as RGB Pillow images (a simulated value becomes grey images of its size)."""
    if is_batch(value):
        return [im if im.mode == "RGB" else im.convert("RGB") for im in value]
    size, batch = size_of(value)
    return [Image.new("RGB", size or DEFAULT_SIZE, (96, 96, 96)) for _ in range(max(1, batch))]


def simulate_outputs(ctx: NodeContext, **inputs: Any) -> NodeResult:
    """The generic simulation: every output stands for the size the inputs asked for.

    ``width``/``height`` (and ``batch_size``) inputs set the size, as on EmptyLatentImage;
    otherwise the first input that knows a size passes it on (KSampler, VAEDecode...).
    """
    size, batch = None, 1
    if isinstance(inputs.get("width"), int) and isinstance(inputs.get("height"), int):
        size = (max(1, inputs["width"]), max(1, inputs["height"]))
        batch = inputs["batch_size"] if isinstance(inputs.get("batch_size"), int) else 1
    else:
        for value in inputs.values():
            size, batch = size_of(value)
            if size:
                break
    outputs: list[Any] = []
    for kind in ctx.info.get("output") or []:
        if kind == "IMAGE":
            outputs.append([Image.new("RGB", size or DEFAULT_SIZE, (96, 96, 96)) for _ in range(batch)])
        else:
            outputs.append(Simulated(str(kind), size, batch))
    return NodeResult(tuple(outputs))
