"""The fake's HTTP and WebSocket routes, shaped like the recorded ones.

Every route also answers under ``/api`` as the real server's do. A middleware records each
HTTP request in ``fake.requests`` and applies the ``slow_http`` / ``fail_http`` faults.
"""

from __future__ import annotations

import asyncio
import io
import json
import mimetypes
import uuid
from typing import Any

from aiohttp import web
from PIL import Image

from discomfy.testing.fake_comfyui.catalog import MODEL_FOLDERS
from discomfy.testing.fake_comfyui.executor import QueueItem
from discomfy.testing.fake_comfyui.sockets import SocketConn
from discomfy.testing.fake_comfyui.storage import FOLDER_TYPES, PathRefused

# The FakeComfyUI this serves is handed in, not imported: server.py builds this module's objects.
FakeComfyUI = Any

FEATURES = {"supports_preview_metadata": True, "max_upload_size": 104857600}
SYSTEM_STATS = {
    "system": {"os": "posix", "ram_total": 8_000_000_000, "ram_free": 4_000_000_000,
               "comfyui_version": "0.3.64", "required_frontend_version": "1.27.10",
               "installed_templates_version": "0.1.94", "required_templates_version": "0.1.94",
               "python_version": "3.11 (fake)", "pytorch_version": "none (fake)",
               "embedded_python": False, "argv": ["main.py", "--cpu"]},
    "devices": [{"name": "cpu", "type": "cpu", "index": None, "vram_total": 0, "vram_free": 0,
                 "torch_vram_total": 0, "torch_vram_free": 0}],
}
SERVER_ERROR = "500 Internal Server Error\n\nServer got itself in trouble"


def build_app(fake: FakeComfyUI) -> web.Application:
    h = Handlers(fake)

    @web.middleware
    async def faults(request: web.Request, handler: Any) -> web.StreamResponse:
        path = request.path[4:] if request.path.startswith("/api/") else request.path
        if path == "/ws":
            return await handler(request)
        fake.requests.append((request.method, path))
        if fake.http_delay:
            await asyncio.sleep(fake.http_delay)
        status = fake.take_http_failure()
        if status is not None:
            fake.failed_requests.append((request.method, path, status))
            return web.Response(status=status, text=f"{status} injected by FakeComfyUI.fail_http")
        return await handler(request)

    app = web.Application(middlewares=[faults], client_max_size=200 * 1024 * 1024)
    routes = [
        ("GET", "/ws", h.ws), ("POST", "/prompt", h.post_prompt), ("GET", "/prompt", h.get_prompt),
        ("GET", "/queue", h.get_queue), ("POST", "/queue", h.post_queue),
        ("POST", "/interrupt", h.interrupt), ("GET", "/history", h.get_history_all),
        ("GET", "/history/{prompt_id}", h.get_history), ("POST", "/history", h.post_history),
        ("GET", "/view", h.view), ("POST", "/upload/image", h.upload),
        ("GET", "/object_info", h.object_info_all), ("GET", "/object_info/{node_class}", h.object_info),
        ("GET", "/models", h.models), ("GET", "/models/{folder}", h.model_files),
        ("GET", "/embeddings", h.embeddings), ("GET", "/system_stats", h.system_stats),
        ("GET", "/features", h.features), ("POST", "/free", h.empty),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, handler)
        app.router.add_route(method, "/api" + path, handler)
    return app


async def _json_body(request: web.Request) -> Any:
    if not request.can_read_body:
        return None
    try:
        return await request.json()
    except ValueError:
        return None


class Handlers:
    def __init__(self, fake: FakeComfyUI) -> None:
        self.fake = fake

    @property
    def worker(self):
        return self.fake.worker

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        if self.fake.sockets_blocked:
            return web.Response(status=503)
        self.fake.ws_connects += 1
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        sid = request.query.get("clientId") or self.fake.new_sid()
        conn = SocketConn(ws)
        self.fake.sockets[sid] = conn  # a newer socket with the same id deafens the older one
        pump = asyncio.create_task(conn.pump())
        status = self.worker.status_message()
        status["data"]["sid"] = sid
        conn.outbox.put_nowait(status)
        running = self.worker.running
        if running and running.client_id == sid and self.worker.current_node:
            conn.outbox.put_nowait({"type": "executing", "data": {"node": self.worker.current_node}})
        first = True
        try:
            async for msg in ws:
                if msg.type.name != "TEXT":
                    continue
                try:
                    message = json.loads(msg.data)
                except ValueError:
                    continue
                if first and isinstance(message, dict) and message.get("type") == "feature_flags":
                    conn.flags = dict(message.get("data") or {})
                    conn.outbox.put_nowait({"type": "feature_flags", "data": dict(FEATURES)})
                first = False
        finally:
            pump.cancel()
            if self.fake.sockets.get(sid) is conn:
                del self.fake.sockets[sid]
        return ws

    async def post_prompt(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=500, text=SERVER_ERROR)
        if not isinstance(body, dict) or "prompt" not in body:
            err = {"type": "no_prompt", "message": "No prompt provided", "details": "No prompt provided",
                   "extra_info": {}}
            return web.json_response({"error": err, "node_errors": {}}, status=400)
        number = self.worker.next_number(bool(body.get("front")))
        if isinstance(body.get("number"), (int, float)):
            number = body["number"]
        verdict = self.fake.validator.validate(body["prompt"])
        if verdict.error:
            return web.json_response({"error": verdict.error, "node_errors": verdict.node_errors}, status=400)
        extra = dict(body.get("extra_data") or {})
        if body.get("client_id") is not None:
            extra["client_id"] = body["client_id"]
        prompt_id = str(body.get("prompt_id") or uuid.uuid4())
        self.worker.put(QueueItem(number, prompt_id, body["prompt"], extra, verdict.outputs))
        return web.json_response({"prompt_id": prompt_id, "number": number, "node_errors": verdict.node_errors})

    async def get_prompt(self, request: web.Request) -> web.Response:
        return web.json_response({"exec_info": {"queue_remaining": self.worker.remaining()}})

    async def get_queue(self, request: web.Request) -> web.Response:
        running = [self.worker.running.as_list()] if self.worker.running else []
        return web.json_response({"queue_running": running,
                                  "queue_pending": [it.as_list() for it in self.worker.pending]})

    async def post_queue(self, request: web.Request) -> web.Response:
        body = await _json_body(request) or {}
        if body.get("clear"):
            self.worker.clear()
        if isinstance(body.get("delete"), list):
            self.worker.delete([str(x) for x in body["delete"]])
        return web.Response(status=200)

    async def interrupt(self, request: web.Request) -> web.Response:
        body = await _json_body(request) or {}
        self.worker.interrupt(body.get("prompt_id") if isinstance(body, dict) else None)
        return web.Response(status=200)

    async def get_history_all(self, request: web.Request) -> web.Response:
        items = list(self.worker.history.items())
        offset = int(request.query.get("offset", 0) or 0)
        if "max_items" in request.query:
            count = int(request.query["max_items"])
            items = items[max(0, len(items) - count - offset): len(items) - offset]
        return web.json_response(dict(items))

    async def get_history(self, request: web.Request) -> web.Response:
        pid = request.match_info["prompt_id"]
        entry = self.worker.history.get(pid)
        return web.json_response({pid: entry} if entry is not None else {})

    async def post_history(self, request: web.Request) -> web.Response:
        body = await _json_body(request) or {}
        if body.get("clear"):
            self.worker.history.clear()
        for pid in body.get("delete") or []:
            self.worker.history.pop(str(pid), None)
        return web.Response(status=200)

    async def view(self, request: web.Request) -> web.Response:
        q = request.query
        filename, subfolder, folder_type = q.get("filename", ""), q.get("subfolder", ""), q.get("type", "output")
        if not filename or filename.startswith("/") or ".." in filename:
            return web.Response(status=400)
        if folder_type not in FOLDER_TYPES:
            return web.Response(status=400)
        try:
            data = self.fake.files.get(folder_type, subfolder, filename)
        except PathRefused:
            return web.Response(status=403)
        if data is None:
            return web.Response(status=404)
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        if "preview" in q or q.get("channel", "rgba") != "rgba":
            data, content_type = _transform(data, q.get("preview"), q.get("channel", "rgba"), content_type)
        headers = {"Content-Disposition": f'filename="{filename}"'}
        return web.Response(body=data, content_type=content_type, headers=headers)

    async def upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        image = form.get("image")
        if image is None or not hasattr(image, "file"):
            return web.Response(status=400)
        folder_type = str(form.get("type") or "input")
        subfolder = str(form.get("subfolder") or "")
        overwrite = str(form.get("overwrite", "")).lower() in ("true", "1")
        if folder_type not in FOLDER_TYPES:
            return web.Response(status=400)
        try:
            name = self.fake.files.upload(image.file.read(), image.filename, subfolder, folder_type, overwrite)
        except PathRefused:
            return web.Response(status=400)
        return web.json_response({"name": name, "subfolder": subfolder, "type": folder_type})

    async def object_info_all(self, request: web.Request) -> web.Response:
        return web.json_response(self.fake.catalog.all_info())

    async def object_info(self, request: web.Request) -> web.Response:
        name = request.match_info["node_class"]
        info = self.fake.catalog.info(name)
        return web.json_response({name: info} if info is not None else {})

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response(list(dict.fromkeys(MODEL_FOLDERS + list(self.fake.models))))

    async def model_files(self, request: web.Request) -> web.Response:
        folder = request.match_info["folder"]
        if folder not in MODEL_FOLDERS and folder not in self.fake.models:
            return web.Response(status=404)
        return web.json_response(self.fake.catalog.folder_files(folder))

    async def embeddings(self, request: web.Request) -> web.Response:
        names = self.fake.catalog.folder_files("embeddings")
        return web.json_response([n.rsplit(".", 1)[0] for n in names])

    async def system_stats(self, request: web.Request) -> web.Response:
        cost = self.fake.cost_model  # with a cost model, VRAM follows what is loaded
        return web.json_response(SYSTEM_STATS if cost is None else cost.system_stats(SYSTEM_STATS))

    async def features(self, request: web.Request) -> web.Response:
        return web.json_response(FEATURES)

    async def empty(self, request: web.Request) -> web.Response:
        return web.Response(status=200)


def _transform(data: bytes, preview: str | None, channel: str, content_type: str) -> tuple[bytes, str]:
    """``/view``'s ``preview=webp;90`` re-encoding and ``channel=rgb|a`` extraction."""
    image = Image.open(io.BytesIO(data))
    if channel == "rgb":
        image = image.convert("RGB")
    elif channel == "a":
        alpha = image.getchannel("A") if "A" in image.getbands() else Image.new("L", image.size, 255)
        image = Image.merge("RGBA", (Image.new("L", image.size, 0),) * 3 + (alpha,))
    out = io.BytesIO()
    if preview:
        fmt, _, quality = preview.partition(";")
        fmt = "jpeg" if fmt.lower() == "jpeg" else "webp"
        image.convert("RGB").save(out, format=fmt.upper(), quality=int(quality or 90))
        return out.getvalue(), f"image/{fmt}"
    image.save(out, format="PNG")
    return out.getvalue(), "image/png"
