"""Replaying recorded ComfyUI exchanges: an HTTP server answering with recorded responses,
and a router fed with recorded WebSocket frames (binary frames rebuilt from their decoding)."""

from __future__ import annotations

import contextlib
import io
import json
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web
from PIL import Image

from discomfy.core.comfyui.events import JobEvent
from discomfy.core.comfyui.router import EventRouter, JobChannel

TRACES = Path(__file__).resolve().parents[1] / "fixtures" / "comfyui-traces"


def load(name: str) -> dict[str, Any]:
    return json.loads((TRACES / name).read_text())


def rebuild_binary(decoded: dict[str, Any]) -> bytes:
    """The bytes of a recorded binary frame (images are regenerated at the recorded size)."""
    event = decoded["event_type"]
    if event == 3:
        node = decoded["node_id"].encode()
        return struct.pack(">II", 3, len(node)) + node + decoded["text"].encode()
    size = tuple(decoded["image"]["size"])
    buffer = io.BytesIO()
    Image.new("RGB", size).save(buffer, format=decoded["image"]["pil_format"])
    if event == 1:
        return struct.pack(">II", 1, decoded["image_format"]) + buffer.getvalue()
    header = json.dumps(decoded["metadata"]).encode()
    return struct.pack(">II", 4, len(header)) + header + buffer.getvalue()


class RouterReplay:
    """Feeds frames to a real EventRouter and records what it routes and completes."""

    def __init__(self) -> None:
        self.completed: list[str] = []
        self.router = EventRouter(on_complete=self._complete)

    def _complete(self, channel: JobChannel) -> None:
        self.completed.append(channel.prompt_id)

    def feed(self, frames: list[dict[str, Any]]) -> None:
        for frame in frames:
            if frame.get("direction") == "client->server":
                continue
            if frame["frame"] == "text":
                self.router.feed_text(frame["message"])
            else:
                self.router.feed_binary(rebuild_binary(frame["decoded"]))

    def events(self, prompt_id: str) -> list[JobEvent]:
        channel = self.router.channels.get(prompt_id)
        out: list[JobEvent] = []
        while channel is not None and not channel.queue.empty():
            out.append(channel.queue.get_nowait())
        return out


@contextlib.asynccontextmanager
async def replay_server(*exchanges: dict[str, Any]) -> AsyncIterator[str]:
    """Serve recorded exchanges: each request gets the recorded answer for its method+path
    (and, when several were recorded for one path, the one whose query params match)."""

    async def handler(request: web.Request) -> web.Response:
        for ex in exchanges:
            if ex["method"] != request.method or ex["path"] != request.path:
                continue
            params = ex.get("params") or {}
            if params and any(request.query.get(k) != str(v) for k, v in params.items()):
                continue
            if "body_text" in ex:
                return web.Response(status=ex["status"], text=ex["body_text"])
            if ex.get("body") is None:
                return web.Response(status=ex["status"])
            return web.json_response(ex["body"], status=ex["status"])
        return web.Response(status=599, text=f"no recorded answer for {request.method} {request.path}")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
