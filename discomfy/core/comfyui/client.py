"""``ComfyUIClient``: one HTTP session and one WebSocket to one ComfyUI server.

HTTP goes through :class:`~discomfy.core.comfyui.http.HttpTransport` (every failure is a
``ComfyUIError``); the socket is read by :class:`~discomfy.core.comfyui.websocket.SocketListener`
and routed per prompt by :class:`~discomfy.core.comfyui.router.EventRouter`. A job costs
``POST /prompt`` + ``GET /history/{id}`` + one ``/view`` per output while the socket is
healthy: nothing is polled.

Over 300 lines on purpose: this is API.md's one client class, and each method is a few lines
over the transport, router and socket modules beside it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from discomfy.core.comfyui.choices import FOLDER_INPUTS, combo_choices, input_spec
from discomfy.core.comfyui.error_text import workflow_error_from_400
from discomfy.core.comfyui.events import Failed, JobEvent, QueueSnapshot, ServerUnreachable
from discomfy.core.comfyui.quiet_wait import LOST_POLL, quiet_wait_event
from discomfy.core.comfyui.http import HttpTransport
from discomfy.core.comfyui.reconcile import JobFinisher
from discomfy.core.comfyui.router import EventRouter
from discomfy.core.comfyui.websocket import SocketListener
from discomfy.exceptions import ComfyUIError, GenerationError, ValidationError


class ComfyUIClient:
    """Async client for one ComfyUI server; use as ``async with ComfyUIClient(url) as c``."""

    def __init__(
        self,
        base_url: str,
        *,
        request_timeout: float = 30.0,
        job_deadline: float = 1800.0,
        reconnect_max_delay: float = 30.0,
        server_lost_after: float = 60.0,
        session: aiohttp.ClientSession | None = None,
        client_id: str | None = None,
        name: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = name or self.base_url
        self.job_deadline = job_deadline
        self.server_lost_after = server_lost_after
        # ComfyUI sends a prompt's events only to the socket of the client_id that queued it,
        # so a bot that restarts must reuse its id to keep hearing about its jobs.
        self.client_id = client_id or f"discomfy-{uuid.uuid4().hex}"
        self.http = HttpTransport(self.base_url, request_timeout=request_timeout, session=session)
        self._finisher = JobFinisher(self.http)
        self.router = EventRouter(on_complete=self._finisher.complete)
        self.socket = SocketListener(
            self.http, self.client_id, self.router, self._reconcile,
            reconnect_max_delay=reconnect_max_delay,
        )
        self._object_info: dict[str, Any] = {}
        self._object_info_full = False

    async def __aenter__(self) -> ComfyUIClient:
        await self.initialize()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def initialize(self) -> None:
        """Open the socket and wait (at most ``request_timeout``) for the first attempt.

        A server that is down does not make this raise: the socket keeps retrying in the
        background and requests fail with ``ComfyUIError`` until the server is back.
        """
        self.socket.start()
        try:
            async with asyncio.timeout(self.http.request_timeout):
                await self.socket.first_attempt_done.wait()
        except asyncio.TimeoutError:
            pass

    async def close(self) -> None:
        await self.socket.stop()
        await self._finisher.close()
        await self.http.close()

    @property
    def connected(self) -> bool:
        """Whether the event socket is up right now."""
        return self.socket.connected.is_set()

    # -- HTTP ----------------------------------------------------------------------------

    async def test_connection(self) -> bool:
        """True when the server answers ``/system_stats``; never raises."""
        try:
            await self.system_stats()
        except ComfyUIError:
            return False
        return True

    async def system_stats(self) -> dict[str, Any]:
        _, body = await self.http.request("GET", "/system_stats", what="read system stats")
        return body or {}

    async def queue_prompt(self, workflow: dict[str, Any]) -> str:
        """Queue an API-format graph with this client's ``client_id``; returns the prompt id.

        A 400 raises ``WorkflowError`` listing each node error in plain words.
        """
        if not isinstance(workflow, dict) or not workflow:
            raise ValidationError("The workflow is empty.", field="workflow")
        status, body = await self.http.request(
            "POST", "/prompt", what="queue the prompt",
            json_body={"prompt": workflow, "client_id": self.client_id}, ok_statuses=(200, 400),
        )
        if status == 400:
            raise workflow_error_from_400(body, self.base_url)
        prompt_id = (body or {}).get("prompt_id")
        if not isinstance(prompt_id, str):
            raise ComfyUIError(detail=f"ComfyUI at {self.base_url} answered /prompt without a prompt_id: {body!r}",
                               server=self.base_url, status=status)
        channel = self.router.channel(prompt_id, claim=True)
        channel.node_types = {
            str(k): str(v.get("class_type")) for k, v in workflow.items() if isinstance(v, dict)
        }
        return prompt_id

    async def get_history(self, prompt_id: str) -> dict[str, Any]:
        """``/history/{id}``: ``{prompt_id: entry}``, or ``{}`` while pending/running/unknown."""
        return await self._finisher.history(prompt_id)

    async def download_output(
        self, filename: str, subfolder: str = "", output_type: str = "output"
    ) -> bytes:
        _, data = await self.http.request(
            "GET", "/view", what=f"download {subfolder + '/' if subfolder else ''}{filename}",
            params={"filename": filename, "subfolder": subfolder, "type": output_type},
            expect="bytes",
        )
        return data

    async def upload_image(
        self, data: bytes, filename: str, *, subfolder: str = "", overwrite: bool = False,
        image_type: str = "input",
    ) -> str:
        """Upload an input image; returns the name to put in ``LoadImage.image``.

        ComfyUI renames on clashes (``x (1).png``) so the returned name, prefixed by its
        subfolder when there is one, is the only one to use.
        """
        form = aiohttp.FormData()
        form.add_field("image", data, filename=filename, content_type="application/octet-stream")
        form.add_field("type", image_type)
        if subfolder:
            form.add_field("subfolder", subfolder)
        if overwrite:
            form.add_field("overwrite", "true")
        status, body = await self.http.request("POST", "/upload/image", what=f"upload {filename}", data=form,
                                               ok_statuses=(200, 400))
        if status == 400:  # the server is up and said no: not "unreachable"
            raise ComfyUIError(
                "The image server refused your input image. Please try again with another file.",
                detail=f"ComfyUI at {self.base_url} answered 400 to the upload of {filename!r}: {body!r}",
                server=self.base_url, status=status)
        name = str((body or {}).get("name", filename))
        folder = str((body or {}).get("subfolder") or "")
        return f"{folder}/{name}" if folder else name

    async def get_object_info(
        self, node_class: str | None = None, *, refresh: bool = False
    ) -> dict[str, Any]:
        """Node definitions: all of them, or ``{class: info}`` for one (``{}`` if unknown)."""
        if node_class is None:
            if refresh or not self._object_info_full:
                _, body = await self.http.request("GET", "/object_info", what="read node definitions")
                self._object_info = dict(body or {})
                self._object_info_full = True
            return self._object_info
        if refresh or node_class not in self._object_info:
            _, body = await self.http.request(
                "GET", f"/object_info/{node_class}", what=f"read the {node_class} node definition"
            )
            if isinstance(body, dict) and node_class in body:
                self._object_info[node_class] = body[node_class]
            else:
                return {}
        return {node_class: self._object_info[node_class]}

    async def list_choices(self, node_class: str, input_name: str, *, refresh: bool = True) -> list[str]:
        """The server's current choices for a combo input (either encoding).

        Refetched by default because model lists change while ComfyUI runs.
        """
        info = (await self.get_object_info(node_class, refresh=refresh)).get(node_class)
        if info is None:
            raise ValidationError(f"The ComfyUI server has no node called {node_class}.", field="node_class")
        choices = combo_choices(input_spec(info, input_name))
        if choices is None:
            raise ValidationError(
                f"{node_class} has no choice input called {input_name}.", field="input_name"
            )
        return choices

    async def list_loras(self) -> list[str]:
        return await self.list_models("loras")

    async def list_models(self, folder: str) -> list[str]:
        """Files in a models folder (``/models/{folder}``; falls back to ``/object_info``)."""
        status, body = await self.http.request(
            "GET", f"/models/{folder}", what=f"list {folder}", ok_statuses=(200, 404)
        )
        if status == 200 and isinstance(body, list):
            return [str(x) for x in body]
        if folder in FOLDER_INPUTS:
            return await self.list_choices(*FOLDER_INPUTS[folder])
        raise ValidationError(f"The ComfyUI server has no models folder called {folder}.", field="folder")

    async def get_queue(self) -> QueueSnapshot:
        _, body = await self.http.request("GET", "/queue", what="read the queue")
        body = body or {}

        def ids(items: list[Any]) -> list[str]:
            return [str(item[1]) for item in sorted(items, key=lambda it: it[0])]

        return QueueSnapshot(ids(body.get("queue_running") or []), ids(body.get("queue_pending") or []))

    async def cancel(self, prompt_id: str) -> bool:
        """Delete ``prompt_id`` if pending, interrupt it if running; False when not queued.

        Interrupt is sent with the prompt id so it can never stop someone else's job.
        """
        snapshot = await self.get_queue()
        was_pending = prompt_id in snapshot.pending
        if was_pending:
            await self.http.request("POST", "/queue", what="delete a queued prompt",
                                    json_body={"delete": [prompt_id]}, expect="none")
            snapshot = await self.get_queue()
            if prompt_id in snapshot.pending:
                return False
        if prompt_id in snapshot.running:
            await self.http.request("POST", "/interrupt", what="interrupt the running prompt",
                                    json_body={"prompt_id": prompt_id}, expect="none")
            return True
        if not was_pending:
            return False
        # A deleted prompt never gets a message or a history entry: end its stream here.
        self.router.channel(prompt_id).push(Failed(prompt_id, GenerationError(
            "The job was cancelled before it started.",
            detail=f"prompt {prompt_id} deleted from the queue of {self.base_url}")))
        return True

    # -- events --------------------------------------------------------------------------

    async def follow(self, prompt_id: str, deadline: float | None = None) -> AsyncIterator[JobEvent]:
        """Yield the events of ``prompt_id`` until (and including) its terminal event.

        ``deadline`` is seconds from when the prompt was queued (default ``job_deadline``);
        when it passes a ``Failed`` event ends the stream (the prompt itself is left alone:
        call :meth:`cancel` to remove it from the server). Breaking out of the loop early
        keeps the job's buffer, so calling ``follow`` again resumes where it stopped.
        """
        unknown = prompt_id not in self.router.channels
        channel = self.router.channel(prompt_id, claim=True)
        if unknown:
            # Not queued by this client object (e.g. queued before a restart): its outcome
            # may already be in /history, or it may be gone; look once instead of waiting.
            self._finisher.spawn(self._finisher.reconcile([channel], self.get_queue))
        limit = channel.created + (self.job_deadline if deadline is None else deadline)
        told_down = False
        try:
            while True:
                if self.socket.down_since is None:
                    told_down = False  # reconnected: a later outage is reported again
                # wake up at the deadline, and every LOST_POLL to see whether the server is gone
                wake = max(0.0, min(limit - time.monotonic(), LOST_POLL))
                try:
                    if not channel.queue.empty():  # buffered events win over a passed deadline
                        event = channel.queue.get_nowait()
                    else:
                        async with asyncio.timeout(wake):
                            event = await channel.queue.get()
                except asyncio.TimeoutError:
                    event = quiet_wait_event(self, prompt_id, limit, deadline, told_down)
                    if event is None:
                        continue
                    if isinstance(event, ServerUnreachable):
                        told_down = True
                    else:
                        channel.done = True
                yield event
                if event.terminal:
                    return
        finally:
            if channel.done:
                self.router.forget(prompt_id)

    async def _reconcile(self) -> None:
        """After each connect: settle open jobs from /history and /queue, retrying HTTP
        failures a few times (with the socket up nothing else would settle them)."""
        for pause in (0.2, 1.0, 5.0, None):
            try:
                await self._finisher.reconcile(self.router.open_channels(), self.get_queue)
                return
            except ComfyUIError:
                if pause is None or not self.connected:
                    raise
                await asyncio.sleep(pause)


__all__ = ["ComfyUIClient"]
