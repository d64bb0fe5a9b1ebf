"""Decoding ComfyUI's binary WebSocket frames (pure functions, no I/O).

A binary frame starts with a big-endian uint32 event type. Type 1 is a preview image (then a
uint32 image format: 1 JPEG, 2 PNG); type 4 is a preview with a JSON header naming its
prompt and node; type 3 is text a node sent. Anything else is returned as unknown so the
reader can ignore it without failing.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

PREVIEW_IMAGE = 1
TEXT = 3
PREVIEW_IMAGE_WITH_METADATA = 4
_FORMATS = {1: "image/jpeg", 2: "image/png"}


@dataclass(frozen=True)
class BinaryFrame:
    """One decoded frame: ``kind`` is "preview", "text" or "unknown"."""

    kind: str
    data: bytes = b""
    mime: str = ""
    prompt_id: str | None = None
    node: str | None = None
    text: str = ""


def decode_binary(frame: bytes) -> BinaryFrame:
    """Decode one frame; malformed frames come back as ``kind="unknown"``, never raise."""
    if len(frame) < 4:
        return BinaryFrame("unknown")
    (event,) = struct.unpack(">I", frame[:4])
    try:
        if event == PREVIEW_IMAGE and len(frame) >= 8:
            (fmt,) = struct.unpack(">I", frame[4:8])
            return BinaryFrame("preview", frame[8:], _FORMATS.get(fmt, "application/octet-stream"))
        if event == PREVIEW_IMAGE_WITH_METADATA and len(frame) >= 8:
            (length,) = struct.unpack(">I", frame[4:8])
            meta: dict[str, Any] = json.loads(frame[8 : 8 + length])
            return BinaryFrame(
                "preview",
                frame[8 + length :],
                str(meta.get("image_type", "image/png")),
                prompt_id=meta.get("prompt_id"),
                node=meta.get("node_id"),
            )
        if event == TEXT and len(frame) >= 8:
            (length,) = struct.unpack(">I", frame[4:8])
            node = frame[8 : 8 + length].decode("utf-8", "replace")
            return BinaryFrame("text", node=node, text=frame[8 + length :].decode("utf-8", "replace"))
    except (ValueError, struct.error):
        pass
    return BinaryFrame("unknown")


def encode_preview(image: bytes, mime: str, meta: dict[str, Any] | None = None) -> bytes:
    """The frame a server sends: type 4 when ``meta`` is given, else the legacy type 1."""
    if meta is not None:
        header = json.dumps({**meta, "image_type": mime}).encode()
        return struct.pack(">II", PREVIEW_IMAGE_WITH_METADATA, len(header)) + header + image
    fmt = 1 if mime == "image/jpeg" else 2
    return struct.pack(">II", PREVIEW_IMAGE, fmt) + image


def encode_text(node: str, text: str) -> bytes:
    raw = node.encode()
    return struct.pack(">II", TEXT, len(raw)) + raw + text.encode()
