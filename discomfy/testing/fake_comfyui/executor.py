"""The fake's prompt queue and the worker that runs one prompt at a time.

Message order, payload keys and who receives what follow the recorded traces: ``status``
broadcasts on every queue change, ``execution_start`` / ``execution_cached``, per node a
cumulative ``progress_state`` then ``executing``, ``progress`` (+ preview frames), ``executed``
for nodes with UI output, then ``execution_success`` (or ``_error`` / ``_interrupted``),
history written, ``status``, and finally ``executing`` with ``node: null``.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from discomfy.testing.fake_comfyui.prompt_graph import execution_order, simulated_upstream
from discomfy.testing.fake_comfyui.semantics import NodeFailure, NodeResult, png_bytes
from discomfy.utils.tasks import cancel_and_wait

# The FakeComfyUI this serves is handed in, not imported: server.py builds this module's objects.
FakeComfyUI = Any

HISTORY_CAP = 10_000


@dataclass(order=True)
class QueueItem:
    number: int
    prompt_id: str = field(compare=False)
    prompt: dict[str, Any] = field(compare=False)
    extra_data: dict[str, Any] = field(compare=False)
    outputs: list[str] = field(compare=False)

    def as_list(self) -> list[Any]:
        return [self.number, self.prompt_id, self.prompt, self.extra_data, self.outputs]

    @property
    def client_id(self) -> str | None:
        return self.extra_data.get("client_id")


class InterruptRequested(Exception):
    pass


def _now_ms() -> int:
    return int(time.time() * 1000)


class PromptWorker:
    """Owns pending/running/history and executes prompts in ``number`` order."""

    def __init__(self, fake: FakeComfyUI) -> None:
        self.fake = fake
        self.pending: list[QueueItem] = []  # a heap, like the real server's (so not sorted)
        self.running: QueueItem | None = None
        self.history: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.number = 0
        self.interrupt_requested = False
        self.current_node: str | None = None  # what a reconnecting socket is told
        self.cache: dict[str, tuple[tuple[Any, ...], dict[str, Any] | None]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- queue ---------------------------------------------------------------------------
    def remaining(self) -> int:
        return len(self.pending) + (1 if self.running else 0)

    def status_message(self) -> dict[str, Any]:
        return {"type": "status", "data": {"status": {"exec_info": {"queue_remaining": self.remaining()}}}}

    def next_number(self, front: bool) -> int:
        number = self.number
        self.number += 1
        return -number if front else number

    def put(self, item: QueueItem) -> None:
        heapq.heappush(self.pending, item)
        self.fake.broadcast(self.status_message())
        self._wake.set()

    def delete(self, prompt_ids: list[str]) -> None:
        before = len(self.pending)
        self.pending = [it for it in self.pending if it.prompt_id not in prompt_ids]
        heapq.heapify(self.pending)
        if len(self.pending) != before:
            self.fake.broadcast(self.status_message())

    def clear(self) -> None:
        self.pending = []
        self.fake.broadcast(self.status_message())

    def interrupt(self, prompt_id: str | None) -> None:
        if self.running and (prompt_id is None or prompt_id == self.running.prompt_id):
            self.interrupt_requested = True

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="fake-comfyui-worker")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _loop(self) -> None:
        while True:
            if not self.pending:
                self._wake.clear()
                await self._wake.wait()
                continue
            item = heapq.heappop(self.pending)
            self.running = item
            self.interrupt_requested = False
            self.fake.broadcast(self.status_message())
            try:
                await self._execute(item)
            finally:
                self.running = None
                self.current_node = None
            self.fake.broadcast(self.status_message())
            self._send(item, "executing", {"node": None, "prompt_id": item.prompt_id})
            self.fake.completed_at[item.prompt_id] = time.monotonic()
            # The real server executes on its own thread, so HTTP never queues behind a run of
            # back-to-back prompts; a short pause here gives the loop the same chance.
            await asyncio.sleep(self.fake.prompt_gap)

    # -- execution -----------------------------------------------------------------------
    def _send(self, item: QueueItem, kind: str, data: dict[str, Any], broadcast: bool = False) -> None:
        """To the prompt's client; without client_id only the broadcast kinds go to all."""
        if item.client_id is not None:
            self.fake.send_to(item.client_id, {"type": kind, "data": data})
        elif broadcast:
            self.fake.broadcast({"type": kind, "data": data})

    def _is_output_node(self, class_type: str) -> bool:
        return bool((self.fake.catalog.info(class_type) or {}).get("output_node"))

    def _signature(self, item: QueueItem, nid: str, memo: dict[str, str]) -> str:
        if nid in memo:
            return memo[nid]
        node = item.prompt[nid]
        parts: dict[str, Any] = {}
        for name, value in node["inputs"].items():
            parts[name] = (["link", self._signature(item, str(value[0]), memo), value[1]]
                           if isinstance(value, list) else value)
        if node["class_type"] in ("LoadImage", "LoadImageMask"):
            parts["@file"] = hash(self.fake.files.read_input_image(str(node["inputs"].get("image"))))
        if node["class_type"] == "SaveImageWebsocket" or not self.fake.cache_enabled:
            parts["@never"] = time.monotonic_ns()  # IS_CHANGED returns the time: never cached
        memo[nid] = json.dumps([node["class_type"], parts], sort_keys=True, default=str)
        return memo[nid]

    async def _execute(self, item: QueueItem) -> None:
        pid = item.prompt_id
        messages: list[list[Any]] = []

        def record(kind: str, data: dict[str, Any], broadcast: bool = False) -> None:
            messages.append([kind, data])
            self._send(item, kind, data, broadcast)

        order = execution_order(item.prompt, item.outputs, self._is_output_node)
        memo: dict[str, str] = {}
        sigs = {nid: self._signature(item, nid, memo) for nid in order}
        cached = [nid for nid in order if sigs[nid] in self.cache]
        simulated = simulated_upstream(item.prompt, order, self.fake.runner.is_simulated)
        if self.fake.cost_model is not None:
            self.fake.cost_model.begin(item.prompt, cached)
        record("execution_start", {"prompt_id": pid, "timestamp": _now_ms()})
        record("execution_cached", {"nodes": cached, "prompt_id": pid, "timestamp": _now_ms()})
        states: dict[str, dict[str, Any]] = {}
        values: dict[str, tuple[Any, ...]] = {}
        outputs: dict[str, Any] = {}
        executed: list[str] = []
        try:
            for nid in order:
                class_type = item.prompt[nid]["class_type"]
                if nid in cached:
                    values[nid], ui = self.cache[sigs[nid]]
                    if ui is not None:
                        outputs[nid] = ui
                        self._send(item, "executed", {"node": nid, "display_node": nid, "output": ui, "prompt_id": pid})
                        self._state(item, states, nid, 1, 1, "finished")
                    continue
                self._state(item, states, nid, 0.0, 1.0, "running")
                self.current_node = nid
                self._send(item, "executing", {"node": nid, "display_node": nid, "prompt_id": pid})
                await asyncio.sleep(0)
                if self.interrupt_requested:
                    raise InterruptRequested(nid)
                result = await self._run_node(item, nid, class_type, values, states, simulated[nid])
                values[nid] = result.outputs
                self.cache[sigs[nid]] = (result.outputs, result.ui)
                executed.append(nid)
                if result.ui is not None:
                    outputs[nid] = result.ui
                    self._send(item, "executed", {"node": nid, "display_node": nid, "output": result.ui, "prompt_id": pid})
                done = states.get(nid, {}).get("max", 1.0)
                self._state(item, states, nid, done, done, "finished")
        except InterruptRequested as stop:
            nid = str(stop.args[0])
            record("execution_interrupted", {"prompt_id": pid, "node_id": nid,
                                             "node_type": item.prompt[nid]["class_type"],
                                             "executed": executed, "timestamp": _now_ms()}, broadcast=True)
            self._finish(item, {}, "error", False, messages)
            return
        except NodeFailure as exc:
            nid = exc.node_id  # type: ignore[attr-defined]
            inputs = item.prompt[nid]["inputs"]
            record("execution_error", {
                "prompt_id": pid, "node_id": nid, "node_type": item.prompt[nid]["class_type"],
                "executed": executed, "exception_message": str(exc), "exception_type": exc.exception_type,
                "traceback": ['  File "ComfyUI/execution.py", line 496, in execute\n'],
                "current_inputs": {k: [v] for k, v in inputs.items() if not isinstance(v, list)},
                "current_outputs": list(item.prompt), "timestamp": _now_ms()})
            self._finish(item, {}, "error", False, messages)
            return
        finally:
            keep = set(sigs.values())
            if self.fake.cost_model is not None:  # --cache-lru and memory, see cost_model
                self.cache = self.fake.cost_model.retain(self.cache, keep)
            else:
                self.cache = {k: v for k, v in self.cache.items() if k in keep}
        record("execution_success", {"prompt_id": pid, "timestamp": _now_ms()})
        self._finish(item, outputs, "success", True, messages)

    async def _run_node(self, item, nid, class_type, values, states, simulated=()) -> NodeResult:
        inputs = {k: (values[str(v[0])][v[1]] if isinstance(v, list) else v)
                  for k, v in item.prompt[nid]["inputs"].items()}
        info = self.fake.catalog.info(class_type) or {}
        gate = self.fake.hold_for(nid, class_type)
        if gate is not None:
            await gate.wait()
        if self.fake.cost_model is not None:
            await self.fake.cost_model.run_node(item.prompt, nid, class_type, bool(info.get("output_node")))
        steps, delay = self.fake.steps_for(nid, class_type, inputs, info, item.prompt)
        for step in range(steps):
            if delay:
                await asyncio.sleep(delay)
            if self.interrupt_requested:
                raise InterruptRequested(nid)
            self._progress(item, states, nid, step + 1, steps, self.fake.preview_image() if self.fake.preview_frames else None)
        fault = self.fake.fault_for(nid, class_type)
        try:
            if fault:
                raise NodeFailure(fault[0].rstrip("\n") + "\n", fault[1])
            # drawing, resizing and encoding take up to seconds of CPU: off the loop, which the
            # fake shares with the bot in `discomfy play` and in tests
            result = await asyncio.to_thread(self.fake.runner.run, nid, class_type, info, inputs, simulated)
        except NodeFailure as exc:
            exc.node_id = nid  # type: ignore[attr-defined]
            raise
        if result.text is not None:
            self.fake.send_binary_to(item.client_id, ("text", nid, result.text))
        if result.stream_images:
            total = len(result.stream_images)
            for i, image in enumerate(result.stream_images):
                self._progress(item, states, nid, i, total, ("image/png", png_bytes(image, simulated)))
            states[nid]["value"] = total
        return result

    def _progress(self, item, states, nid, value, total, preview) -> None:
        pid = item.prompt_id
        self._state(item, states, nid, value, total, "running")
        progress = {"value": value, "max": total, "prompt_id": pid, "node": nid}
        if isinstance(preview, bytes):
            preview = ("image/jpeg", preview)
        wants_meta = item.client_id is not None and self.fake.supports_metadata(item.client_id)
        if preview and wants_meta:
            meta = {"node_id": nid, "prompt_id": pid, "display_node_id": nid, "parent_node_id": None, "real_node_id": nid}
            self.fake.send_binary_to(item.client_id, ("preview", preview[0], preview[1], meta))
        self._send(item, "progress", progress, broadcast=True)
        if preview and not wants_meta:
            self.fake.send_binary_to(item.client_id, ("preview", preview[0], preview[1], None))

    def _state(self, item, states, nid, value, total, state) -> None:
        pid = item.prompt_id
        states[nid] = {"value": value, "max": total, "state": state, "node_id": nid, "prompt_id": pid,
                       "display_node_id": nid, "parent_node_id": None, "real_node_id": nid}
        self._send(item, "progress_state", {"prompt_id": pid, "nodes": {k: dict(v) for k, v in states.items()}},
                   broadcast=True)

    def _finish(self, item: QueueItem, outputs, status_str: str, completed: bool, messages) -> None:
        self.history[item.prompt_id] = {
            "prompt": item.as_list(),
            "outputs": outputs,
            "status": {"status_str": status_str, "completed": completed, "messages": messages},
            "meta": {nid: {"node_id": nid, "display_node": nid, "parent_node": None, "real_node_id": nid}
                     for nid in outputs},
        }
        while len(self.history) > HISTORY_CAP:
            self.history.popitem(last=False)
        self.fake.on_finished(item.prompt_id)

