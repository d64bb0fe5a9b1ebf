"""What the fake's nodes compute.

A handful of model-free nodes really run with Pillow (EmptyImage, LoadImage, ImageInvert,
ImageScale, ImageBlur, GetImageSize, SaveImage, PreviewImage, SaveImageWebsocket) so tests
get real pixels back. Every other node, including everything that would need model
weights, is simulated: it produces a :class:`Simulated` value that remembers the image
size the graph asked for (EmptyLatentImage's width/height flow through KSampler and
VAEDecode), so a simulated txt2img graph still saves an image of the requested size.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageFilter, ImageOps

from discomfy.testing.fake_comfyui.storage import FileStore

DEFAULT_SIZE = (64, 64)
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


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=60)
    return buffer.getvalue()


def size_of(value: Any) -> tuple[tuple[int, int] | None, int]:
    """The pixel size and batch a value stands for, when it knows one."""
    if isinstance(value, list) and value and isinstance(value[0], Image.Image):
        return value[0].size, len(value)
    if isinstance(value, Simulated):
        return value.size, value.batch
    return None, 1


def _color(value: int) -> tuple[int, int, int]:
    return (value >> 16) & 255, (value >> 8) & 255, value & 255


def _as_batch(value: Any) -> Batch:
    if isinstance(value, list) and value and isinstance(value[0], Image.Image):
        return value
    size, batch = size_of(value)
    return [Image.new("RGB", size or DEFAULT_SIZE, (96, 96, 96)) for _ in range(max(1, batch))]


class NodeRunner:
    """Executes one node given resolved inputs; file output goes to a :class:`FileStore`."""

    def __init__(self, files: FileStore) -> None:
        self.files = files

    def run(self, class_type: str, info: dict[str, Any], inputs: dict[str, Any]) -> NodeResult:
        method = getattr(self, f"_{class_type}", None)
        if method is not None:
            return method(**inputs)
        return self._simulate(info, inputs)

    def _simulate(self, info: dict[str, Any], inputs: dict[str, Any]) -> NodeResult:
        size, batch = None, 1
        if isinstance(inputs.get("width"), int) and isinstance(inputs.get("height"), int):
            size = (max(1, inputs["width"]), max(1, inputs["height"]))
            batch = inputs.get("batch_size") if isinstance(inputs.get("batch_size"), int) else 1
        else:
            for value in inputs.values():
                size, batch = size_of(value)
                if size:
                    break
        outputs = []
        for kind in info.get("output") or []:
            if kind == "IMAGE":
                outputs.append([Image.new("RGB", size or DEFAULT_SIZE, (96, 96, 96)) for _ in range(batch)])
            else:
                outputs.append(Simulated(str(kind), size, batch))
        ui = None
        if info.get("output_node") and "images" in inputs:
            ui = self._save(_as_batch(inputs["images"]), "output", "ComfyUI")
        return NodeResult(tuple(outputs), ui)

    def _EmptyImage(self, width: int, height: int, batch_size: int = 1, color: int = 0) -> NodeResult:
        fill = _color(int(color))
        return NodeResult(([Image.new("RGB", (int(width), int(height)), fill) for _ in range(int(batch_size))],))

    def _LoadImage(self, image: str, **_: Any) -> NodeResult:
        data = self.files.read_input_image(image)
        try:
            loaded = Image.open(io.BytesIO(data or b""))
            loaded.load()
        except Exception as exc:  # noqa: BLE001 - Pillow raises several types for bad files
            raise NodeFailure(f"cannot identify image file 'ComfyUI/input/{image}'\n",
                              "PIL.UnidentifiedImageError") from exc
        rgb = loaded.convert("RGB")
        return NodeResult(([rgb], Simulated("MASK", rgb.size, 1)))

    def _ImageInvert(self, image: Any) -> NodeResult:
        return NodeResult(([ImageOps.invert(im.convert("RGB")) for im in _as_batch(image)],))

    def _ImageBlur(self, image: Any, blur_radius: int = 1, sigma: float = 1.0) -> NodeResult:
        return NodeResult(([im.filter(ImageFilter.GaussianBlur(float(sigma))) for im in _as_batch(image)],))

    def _ImageScale(self, image: Any, upscale_method: str, width: int, height: int, crop: str) -> NodeResult:
        out = []
        for im in _as_batch(image):
            w, h = int(width), int(height)
            if w == 0 and h == 0:
                out.append(im)
                continue
            w = w or max(1, round(im.width * h / im.height))
            h = h or max(1, round(im.height * w / im.width))
            resample = Image.Resampling.NEAREST if upscale_method == "nearest-exact" else Image.Resampling.BILINEAR
            out.append(im.resize((w, h), resample))
        return NodeResult((out,))

    def _GetImageSize(self, image: Any, **_: Any) -> NodeResult:
        batch = _as_batch(image)
        w, h = batch[0].size
        return NodeResult((w, h, len(batch)), text=f"width: {w}, height: {h}\n batch size: {len(batch)}")

    def _SaveImage(self, images: Any, filename_prefix: str = "ComfyUI", **_: Any) -> NodeResult:
        return NodeResult((), self._save(_as_batch(images), "output", filename_prefix))

    def _PreviewImage(self, images: Any, **_: Any) -> NodeResult:
        return NodeResult((), self._save(_as_batch(images), "temp", "ComfyUI"))

    def _SaveImageWebsocket(self, images: Any) -> NodeResult:
        return NodeResult((), None, stream_images=_as_batch(images))

    def _save(self, batch: Batch, folder_type: str, prefix: str) -> dict[str, Any]:
        entries = []
        for image in batch:
            subfolder, filename = self.files.next_save_name(folder_type, prefix)
            self.files.put(folder_type, f"{subfolder}/{filename}" if subfolder else filename, png_bytes(image))
            entries.append({"filename": filename, "subfolder": subfolder, "type": folder_type})
        return {"images": entries}
