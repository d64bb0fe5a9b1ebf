"""Capturing what the fake sends, in the same shape the recorded traces use, and reducing
frames to their protocol shape (message type, data keys, binary event type) for comparison."""

from __future__ import annotations

import asyncio
import io
import json
import struct
from typing import Any

import aiohttp
from PIL import Image


def png(size: tuple[int, int] = (40, 30), color: tuple[int, int, int] = (10, 200, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def shape(frame: dict[str, Any]) -> tuple:
    """A frame's protocol shape: values are dropped, keys and order are kept."""
    if frame["frame"] == "binary":
        return ("binary", frame["decoded"]["event_type"])
    message = frame["message"]
    data = message.get("data") or {}
    extra: tuple = ()
    if message["type"] == "progress_state":
        extra = tuple(sorted({k for node in data["nodes"].values() for k in node}))
    if message["type"] == "executed":
        extra = tuple(sorted(data["output"]))
    if message["type"] == "status":
        extra = tuple(sorted(data["status"]))
    return (message["type"], tuple(sorted(data)), extra)


def shapes(frames: list[dict[str, Any]], prompt_id: str | None = None) -> list[tuple]:
    """Shapes of server->client frames (optionally only one prompt's text frames)."""
    out = []
    for frame in frames:
        if frame.get("direction") == "client->server":
            continue
        if prompt_id is not None and frame["frame"] == "text":
            if (frame["message"].get("data") or {}).get("prompt_id") != prompt_id:
                continue
        out.append(shape(frame))
    return out


def as_frame(msg: aiohttp.WSMessage) -> dict[str, Any]:
    if msg.type == aiohttp.WSMsgType.TEXT:
        return {"frame": "text", "message": json.loads(msg.data)}
    (event,) = struct.unpack(">I", msg.data[:4])
    return {"frame": "binary", "decoded": {"event_type": event}}


class RawSocket:
    """A bare WebSocket to the fake, like the recorder's client."""

    def __init__(self, session: aiohttp.ClientSession, url: str, client_id: str | None) -> None:
        self.session, self.client_id = session, client_id
        self.url = url.replace("http", "ws", 1) + "/ws" + (f"?clientId={client_id}" if client_id else "")
        self.frames: list[dict[str, Any]] = []
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    async def connect(self, feature_flags: bool = False) -> RawSocket:
        self.ws = await self.session.ws_connect(self.url)
        if feature_flags:
            await self.ws.send_json({"type": "feature_flags", "data": {"supports_preview_metadata": True}})
        return self

    async def read_until(self, predicate, timeout: float = 60.0) -> list[dict[str, Any]]:
        async def loop():
            while True:
                msg = await self.ws.receive()
                if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    raise AssertionError(f"socket ended: {msg.type}")
                frame = as_frame(msg)
                self.frames.append(frame)
                if predicate(frame):
                    return self.frames

        return await asyncio.wait_for(loop(), timeout)

    async def read_until_done(self, prompt_id: str) -> list[dict[str, Any]]:
        return await self.read_until(lambda f: f["frame"] == "text" and f["message"]["type"] == "executing"
                                     and f["message"]["data"].get("node") is None
                                     and f["message"]["data"].get("prompt_id") == prompt_id)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


async def post_prompt(session: aiohttp.ClientSession, url: str, body: Any) -> tuple[int, Any]:
    async with session.post(url + "/prompt", json=body) as response:
        text = await response.text()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text
