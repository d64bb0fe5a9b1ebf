"""``FakeComfyUI``: a loopback aiohttp server that speaks ComfyUI's protocol.

It holds the state (files, queue, history, sockets) and the knobs tests turn: model lists,
simulated step counts and delays, preview frames, and faults (node failures, dropped
sockets, restarts, slow or failing HTTP). The routes live in :mod:`.routes`; prompt
execution in :mod:`.executor`.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from PIL import Image

from discomfy.core.comfyui.frames import encode_preview, encode_text
from discomfy.testing.fake_comfyui.catalog import NodeCatalog
from discomfy.testing.fake_comfyui.cost_model import CostModel
from discomfy.testing.fake_comfyui.executor import PromptWorker
from discomfy.testing.fake_comfyui.nodes import NodeRunner
from discomfy.testing.fake_comfyui.semantics import NodeRegistry, jpeg_bytes
from discomfy.testing.fake_comfyui.routes import build_app
from discomfy.testing.fake_comfyui.sockets import SocketConn
from discomfy.testing.fake_comfyui.storage import FileStore
from discomfy.testing.fake_comfyui.validation import PromptValidator

DEFAULT_LORAS = ["sdxl/detail_tweaker.safetensors", "style_a.safetensors", "style_b.safetensors"]
DEFAULT_CHECKPOINTS = ["dummy_sd15.safetensors", "dummy_sdxl.ckpt"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeComfyUI:
    """A ComfyUI stand-in on 127.0.0.1; ``url = await fake.start()``, ``await fake.stop()``."""

    def __init__(
        self,
        *,
        loras: list[str] | None = None,
        checkpoints: list[str] | None = None,
        models: dict[str, list[str]] | None = None,
        step_delay: float = 0.0,
        preview_frames: bool = False,
        cache: bool = True,
        prompt_gap: float = 0.001,
        cost_model: CostModel | None = None,
    ) -> None:
        self.models: dict[str, list[str]] = {k: list(v) for k, v in (models or {}).items()}
        self.models["loras"] = list(DEFAULT_LORAS if loras is None else loras)
        self.models["checkpoints"] = list(DEFAULT_CHECKPOINTS if checkpoints is None else checkpoints)
        self.step_delay = step_delay
        self.preview_frames = preview_frames
        self.cache_enabled = cache
        self.prompt_gap = prompt_gap  # pause between prompts so HTTP is never starved
        self.cost_model = cost_model  # GPU time, memory and --cache-lru; None = free and instant
        self.files = FileStore()
        self.catalog = NodeCatalog(self.models, self.files.input_names)
        self.validator = PromptValidator(self.catalog, self.files)
        self.runner = NodeRunner(self.files)
        self.worker: PromptWorker | None = None
        self.requests: list[tuple[str, str]] = []
        self.sockets: dict[str, SocketConn] = {}
        self._steps: dict[str, tuple[int, float | None]] = {}
        self._faults: dict[str, tuple[str, str]] = {}
        self._holds: dict[str, asyncio.Event] = {}
        self.http_delay = 0.0
        self._http_failures: list[int] = []
        self.failed_requests: list[tuple[str, str, int]] = []  # (method, path, status) answered by fail_http
        self.sockets_blocked = False
        self.completed_at: dict[str, float] = {}  # prompt_id -> time.monotonic() of `executing: null`
        self.ws_connects = 0
        self._finished: dict[str, asyncio.Event] = {}
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self.url = ""

    @property
    def nodes(self) -> NodeRegistry:
        """This fake's node semantics (a copy of the built-ins): ``fake.nodes.simulate("MyNode")``
        or ``fake.nodes.register("MyNode", summary=...)(fn)`` for a custom node."""
        return self.runner.registry

    @property
    def loras(self) -> list[str]:
        return self.models["loras"]

    @loras.setter
    def loras(self, value: list[str]) -> None:
        self.models["loras"] = list(value)

    @property
    def checkpoints(self) -> list[str]:
        return self.models["checkpoints"]

    @checkpoints.setter
    def checkpoints(self, value: list[str]) -> None:
        self.models["checkpoints"] = list(value)

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> str:
        """Serve on 127.0.0.1 (a free port the first time, the same port on restart)."""
        self.port = self.port or _free_port()
        self.worker = PromptWorker(self)
        self.worker.start()
        self._runner = web.AppRunner(build_app(self), handle_signals=False, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self.url = f"http://127.0.0.1:{self.port}"
        return self.url

    async def stop(self) -> None:
        await self.drop_sockets()
        if self.worker:
            await self.worker.stop()
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    async def restart(self, lose_queue: bool = True) -> None:
        """Stop and start again on the same port, like a crashed and restarted server.

        History and the queue live in memory on the real server, so both are lost (and
        ``number`` starts again at 0); with ``lose_queue=False`` pending prompts survive.
        """
        pending = [] if lose_queue or not self.worker else list(self.worker.pending)
        if self.worker and self.worker.running and not lose_queue:
            pending.append(self.worker.running)
        await self.stop()
        await self.start()
        for item in pending:
            self.worker.put(item)

    async def __aenter__(self) -> FakeComfyUI:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- knobs and faults -----------------------------------------------------------------
    def simulate(self, node_class_or_id: str, steps: int, step_delay: float | None = None) -> None:
        """Make a node (by class or id) report ``steps`` progress steps, ``step_delay`` apart."""
        self._steps[node_class_or_id] = (steps, step_delay)

    def steps_for(self, nid: str, class_type: str, inputs: dict[str, Any], info: dict[str, Any],
                  prompt: Mapping[str, Mapping[str, Any]] | None = None) -> tuple[int, float]:
        configured = self._steps.get(nid) or self._steps.get(class_type)
        if configured:
            return configured[0], self.step_delay if configured[1] is None else configured[1]
        if "LATENT" not in (info.get("output") or []):
            return 0, 0.0
        if isinstance(inputs.get("steps"), int):
            return inputs["steps"], self.step_delay  # samplers: step+1 of steps
        scheduled = scheduler_steps(prompt or {}, nid)
        if scheduled:  # SamplerCustomAdvanced: one step per sigma its scheduler made, as on ComfyUI
            return scheduled, self.step_delay
        return 0, 0.0

    def fail_at(self, node_class_or_id: str, message: str, exception_type: str = "RuntimeError") -> None:
        """Every later execution of that node raises (``execution_error``) until cleared."""
        self._faults[node_class_or_id] = (message, exception_type)

    def hold_at(self, node_class_or_id: str) -> asyncio.Event:
        """Make that node wait (after its ``executing`` message) until the returned event is
        set: a slow node without progress reports, for deterministic interrupt tests."""
        return self._holds.setdefault(node_class_or_id, asyncio.Event())

    def hold_for(self, nid: str, class_type: str) -> asyncio.Event | None:
        return self._holds.get(nid) or self._holds.get(class_type)

    def clear_faults(self) -> None:
        self._faults.clear()
        for gate in self._holds.values():
            gate.set()
        self._holds.clear()
        self.http_delay = 0.0
        self._http_failures.clear()

    def fault_for(self, nid: str, class_type: str) -> tuple[str, str] | None:
        return self._faults.get(nid) or self._faults.get(class_type)

    def slow_http(self, seconds: float) -> None:
        """Delay every HTTP answer (not the socket) by ``seconds``; 0 turns it off."""
        self.http_delay = seconds

    def fail_http(self, status: int = 500, times: int = 1) -> None:
        """Answer the next ``times`` HTTP requests with ``status``."""
        self._http_failures += [status] * times

    def take_http_failure(self) -> int | None:
        return self._http_failures.pop(0) if self._http_failures else None

    async def drop_sockets(self) -> None:
        """Close every WebSocket from the server side (the client must reconnect)."""
        conns = list(self.sockets.values())
        self.sockets.clear()
        for conn in conns:
            await conn.ws.close()

    async def block_sockets(self) -> None:
        """Drop every socket and refuse new ones (HTTP 503) until ``unblock_sockets()``."""
        self.sockets_blocked = True
        await self.drop_sockets()

    def unblock_sockets(self) -> None:
        self.sockets_blocked = False

    def on_finished(self, prompt_id: str) -> None:
        self._finished.setdefault(prompt_id, asyncio.Event()).set()

    async def wait_finished(self, prompt_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """Wait until the prompt's history entry exists (it ran to an end); returns it."""
        async with asyncio.timeout(timeout):
            await self._finished.setdefault(prompt_id, asyncio.Event()).wait()
        return self.worker.history[prompt_id]

    def preview_image(self) -> bytes:
        return jpeg_bytes(Image.new("RGB", (32, 32), (40, 80, 160)))

    def add_input_image(self, name: str, data: bytes) -> None:
        """Put a file in the input folder, as if uploaded."""
        self.files.put("input", name, data)

    def count(self, method: str | None = None, prefix: str = "") -> int:
        """How many HTTP requests matched (the WebSocket upgrade is not counted)."""
        return sum(1 for m, p in self.requests if (method is None or m == method) and p.startswith(prefix))

    # -- sending -------------------------------------------------------------------------
    def new_sid(self) -> str:
        return uuid.uuid4().hex

    def supports_metadata(self, client_id: str) -> bool:
        conn = self.sockets.get(client_id)
        return bool(conn and conn.flags.get("supports_preview_metadata"))

    def send_to(self, client_id: str, message: dict[str, Any]) -> None:
        conn = self.sockets.get(client_id)
        if conn is not None:
            conn.outbox.put_nowait(message)

    def broadcast(self, message: dict[str, Any]) -> None:
        for conn in list(self.sockets.values()):
            conn.outbox.put_nowait(message)

    def send_binary_to(self, client_id: str | None, frame: tuple[Any, ...]) -> None:
        conn = self.sockets.get(client_id) if client_id else None
        if conn is None:
            return
        if frame[0] == "text":
            conn.outbox.put_nowait(encode_text(frame[1], frame[2]))
        else:
            conn.outbox.put_nowait(encode_preview(frame[2], frame[1], frame[3]))


def scheduler_steps(prompt: Mapping[str, Mapping[str, Any]], nid: str) -> int:
    """The ``steps`` of the scheduler node (BasicScheduler and kin) feeding node ``nid``'s
    ``sigmas``: how many steps a custom sampler reports, since it has no ``steps`` of its own."""
    link = (prompt.get(nid, {}).get("inputs") or {}).get("sigmas")
    if not (isinstance(link, list) and link):
        return 0
    steps = (prompt.get(str(link[0]), {}).get("inputs") or {}).get("steps")
    return steps if isinstance(steps, int) and steps > 0 else 0
