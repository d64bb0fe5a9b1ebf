"""The ComfyUI servers the bot may use, each with its own client (one session, one socket).

A single ``comfyui.url`` is a pool of one. Each job goes to a healthy server that has what its
workflow needs (node classes, model files, the user's LoRA and choices, read from that
server's ``/object_info``) and the shortest queue; a missing model reads "The diffusion model
`x` is not installed on any image server" before the user waits, not ComfyUI's "value not in
list" after. ``watch()`` keeps each server's health current and tells listeners (the bot, through
:class:`~discomfy.core.servers.failover.Failover`) when one goes down or comes back.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from discomfy.config import resolve_path
from discomfy.core.comfyui.client import ComfyUIClient
from discomfy.core.servers.routing import Missing, missing_on_server, no_server_error
from discomfy.core.servers.health import (
    HealthListener,
    HealthListeners,
    check_server,
    load_object_info,
    reread_classes,
)
from discomfy.core.servers.server import Server
from discomfy.core.servers.status import status_row

if TYPE_CHECKING:
    from discomfy.core.jobs.queue import FairQueue

log = logging.getLogger(__name__)

#: A failed routing decision re-reads ``/object_info`` (models may have been added since), but
#: not more often than this many seconds per server.
OBJECT_INFO_MIN_AGE = 10.0


def stable_client_id(config: Any, server_name: str) -> str:
    """The same ComfyUI client_id across restarts of the same bot, and across every process
    sharing its job store: ComfyUI sends a prompt's events to the socket of the client_id that
    queued it, and the process that schedules (the only one with sockets open) must hear the
    events of prompts an earlier scheduler queued. The store is named by its file (resolved)
    or by ``jobs.store_url`` without its user and password (every process must name the same
    host, port, database and options there)."""
    url = str(config.jobs.get("store_url") or "")
    if url:
        parts = urlsplit(url)
        store = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    else:
        store = str(resolve_path(config, config.jobs.store_path).resolve())
    return "discomfy-" + hashlib.sha256(f"{store}|{server_name}".encode()).hexdigest()[:24]


class ServerPool:
    """Every configured server: routing (``eligible``/``choose``/``check_choices``), health
    (``start``/``check_all``/``watch`` + listeners) and ``status`` rows for /status."""

    def __init__(self, servers: list[Server], *, health_interval: float = 15.0,
                 request_timeout: float = 30.0, job_queue: FairQueue | None = None) -> None:
        if not servers:
            raise ValueError("at least one ComfyUI server is needed")
        names = [s.name for s in servers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"ComfyUI server names must be unique; repeated: {', '.join(duplicates)}")
        self._servers = {server.name: server for server in servers}
        self.health_interval = health_interval
        self.request_timeout = request_timeout
        #: The bot's fair queue; its running jobs count towards each server's load.
        self.job_queue = job_queue
        self.object_info_min_age = OBJECT_INFO_MIN_AGE
        self._listeners = HealthListeners()
        self._check_lock = asyncio.Lock()
        self._refreshing: dict[str, asyncio.Task[None]] = {}
        if job_queue is not None and job_queue.policy is not None:
            job_queue.policy.attach(self)  # held models follow health; pipelining only to healthy servers

    @classmethod
    def from_config(cls, config: Any, *, job_queue: FairQueue | None = None) -> ServerPool:
        """``comfyui.servers`` (URLs or ``{name, url}`` tables) or else ``comfyui.url``."""
        section = config.comfyui
        entries = list(section.servers or []) or [{"name": "default", "url": section.url}]
        servers = []
        for index, entry in enumerate(entries):
            is_table = isinstance(entry, Mapping)
            url = entry.get("url") if is_table else str(entry)
            if not url:
                raise ValueError(f"comfyui.servers entry {index + 1} has no url; write {{name = \"gpu1\", url = \"http://host:8188\"}}")
            name = (entry.get("name") if is_table else None) or ("default" if index == 0 else f"server{index + 1}")
            client = ComfyUIClient(
                url,
                client_id=stable_client_id(config, name),
                request_timeout=float(section.request_timeout),
                job_deadline=float(section.job_deadline),
                reconnect_max_delay=float(section.reconnect_max_delay),
                server_lost_after=float(section.get("server_lost_after", 60.0)),
                name=str(name),
            )
            servers.append(Server(str(name), str(url), client))
        return cls(servers, health_interval=float(section.get("health_interval", 15.0)),
                   request_timeout=float(section.request_timeout), job_queue=job_queue)

    def __iter__(self) -> Iterator[Server]:
        return iter(self._servers.values())

    def __len__(self) -> int:
        return len(self._servers)

    def get(self, name: str) -> Server | None:
        return self._servers.get(name)

    @property
    def names(self) -> list[str]:
        return list(self._servers)

    @property
    def primary(self) -> Server:
        return next(iter(self._servers.values()))

    # --- lifecycle and health -------------------------------------------------------------

    async def start(self, *, listen: bool = True) -> None:
        """Open every client and check each server once; one that is down is reported (and
        its listeners told), not fatal. ``listen=False`` leaves the event sockets closed: a
        process that does not schedule (several share the store) opens them with ``listen``
        once it does, as ComfyUI sends a client_id's events to one socket."""
        if listen:
            await self.listen()
        await self.check_all()

    async def listen(self) -> None:
        """Open every client's event socket (waiting at most ``request_timeout`` for each)."""
        await asyncio.gather(*(s.client.initialize() for s in self))

    async def close(self) -> None:
        """Close every client, each within ``request_timeout`` (shutdown never hangs)."""
        async def one(server: Server) -> None:
            try:
                async with asyncio.timeout(self.request_timeout):
                    await server.client.close()
            except asyncio.TimeoutError:
                log.warning("closing the client of ComfyUI server %s took too long; left behind", server.name)

        for task in self._refreshing.values():
            task.cancel()
        await asyncio.gather(*(one(s) for s in self), return_exceptions=True)

    def add_health_listener(self, *, on_down: HealthListener | None = None,
                            on_up: HealthListener | None = None) -> Callable[[], None]:
        """Hear about servers going down / coming back (sync or async callbacks, called one
        after another from the checking task); returns a function that removes them."""
        return self._listeners.add(on_down, on_up)

    async def check_all(self) -> dict[str, str]:
        """Check every server now (in parallel), then tell listeners about each change.
        Returns ``{server name: "down" | "up"}`` for the servers whose state changed."""
        async with self._check_lock:
            changes = await asyncio.gather(*(check_server(s, self.request_timeout) for s in self))
            changed = {s.name: c for s, c in zip(self, changes) if c is not None}
            for name, change in changed.items():
                await self._listeners.notify(change, self._servers[name])  # type: ignore[arg-type]
            return changed

    async def watch(self, interval: float | None = None) -> None:
        """Check every server each ``interval`` seconds (default ``comfyui.health_interval``)
        until cancelled. Run it as a task next to the dispatchers."""
        interval = self.health_interval if interval is None else interval
        while True:
            await asyncio.sleep(interval)
            try:
                await self.check_all()
            except Exception:  # noqa: BLE001 - the watcher must outlive any one bad check
                log.exception("health check of the ComfyUI servers failed")

    async def refresh_object_info(self, max_age: float = 0.0) -> None:
        """Re-read ``/object_info`` of every healthy server whose copy is older than
        ``max_age`` seconds. Callers arriving meanwhile share the one request per server, so
        a burst of commands costs one fetch, not one each."""
        now = time.monotonic()
        tasks = []
        for server in self:
            if not server.healthy or (server.object_info is not None and now - server.object_info_at < max_age):
                continue
            task = self._refreshing.get(server.name)
            if task is None or task.done():
                task = self._refreshing[server.name] = asyncio.ensure_future(self._refresh_one(server))
            tasks.append(task)
        if tasks:
            await asyncio.shield(asyncio.gather(*tasks))

    async def _refresh_one(self, server: Server) -> None:
        error = await load_object_info(server, self.request_timeout)
        if error is not None:
            server.last_error = error

    # --- routing ----------------------------------------------------------------------------

    def running_here(self, server: Server) -> int:
        """Jobs our fair queue runs on ``server`` right now."""
        if self.job_queue is None:
            return 0
        return sum(1 for job in self.job_queue.snapshot().running if job.server == server.name)

    def load(self, server: Server) -> int:
        """How busy ``server`` is: ComfyUI's queue (anyone's prompts) plus the jobs we run there."""
        return server.comfy_running + server.comfy_pending + self.running_here(server)

    async def eligible(self, spec: Any, params: Any) -> list[Server]:
        """Healthy servers that can run ``spec`` with ``params``, least busy first.

        Raises a ``DisComfyError`` naming what is missing when there is none ("The LoRA
        `x` is not installed on any image server", "All image servers are down; ..."). A refusal
        re-reads ``/object_info`` first, so a model installed a minute ago is found."""
        ok, missing, down = await self._evaluate(spec, params, refresh=False)
        if not ok and missing:
            ok, missing, down = await self._evaluate(spec, params, refresh=True)
        if not ok:
            infos = [s.object_info for s in self if s.name in missing and s.object_info]
            raise no_server_error(spec, missing, down, infos)
        order = {name: index for index, name in enumerate(self._servers)}
        return sorted(ok, key=lambda s: (self.load(s), order[s.name]))

    async def choose(self, spec: Any, params: Any) -> Server:
        """The least busy server that can run the job (see ``eligible``)."""
        return (await self.eligible(spec, params))[0]

    async def check_choices(self, spec: Any, params: Any) -> list[Server]:
        """Refuse, before queueing, a job no healthy server can run (missing model, LoRA,
        sampler...); return the servers that can, least busy first, for
        ``FairQueue.submit(job_id, user, servers=[s.name for s in ...])``."""
        return await self.eligible(spec, params)

    async def _evaluate(self, spec: Any, params: Any, *, refresh: bool
                        ) -> tuple[list[Server], dict[str, list[Missing]], list[str]]:
        """Ask every healthy server what it lacks. With ``refresh``, a server that lacked
        something first re-reads the node definitions involved (one small request each)."""
        async def one(server: Server) -> list[Missing] | None:
            if not server.healthy:
                return None
            if server.object_info is None:
                error = await load_object_info(server, self.request_timeout)
                if error is not None:
                    server.last_error = error
                    return None
            else:  # the client's cache: someone may have refreshed it since
                server.object_info = await server.client.get_object_info()
            missing = missing_on_server(spec, params, server.object_info)
            if refresh and missing:
                classes = {m.node_class for m in missing}
                if None in classes:  # a choice (sampler...): its class is not known here
                    fresh = time.monotonic() - server.object_info_at < self.object_info_min_age
                    error = None if fresh else await load_object_info(server, self.request_timeout)
                else:
                    error = await reread_classes(server, sorted(classes), self.request_timeout)
                if error is not None:
                    server.last_error = error
                    return None
                missing = missing_on_server(spec, params, server.object_info)
            return missing

        results = await asyncio.gather(*(one(s) for s in self))
        ok = [s for s, r in zip(self, results) if r == []]
        missing = {s.name: r for s, r in zip(self, results) if r}
        down = [s.name for s, r in zip(self, results) if r is None]
        return ok, missing, down

    # --- status -----------------------------------------------------------------------------

    def status(self) -> list[dict[str, Any]]:
        """One dict per server for /status, from what the pool already knows (no request):
        name, url, healthy, queue_running/queue_pending/queue_length (ComfyUI's own queue),
        running (our jobs there), last_error, down_since, checked_at, models, loras; with the
        bot's queue also waiting (our jobs that may run there), holds (models it probably has
        loaded, most recent first), scheduling and pipelining."""
        running: dict[str, list[str]] = {}
        rows = []
        if self.job_queue is not None:
            snapshot = self.job_queue.snapshot()
            for job in snapshot.running:
                running.setdefault(job.server or "default", []).append(job.job_id)
        for server in self:
            row = status_row(server, running.get(server.name, []))
            if self.job_queue is not None:  # what it holds loaded and our jobs waiting for it
                row["waiting"] = sum(1 for j in snapshot.pending if j.servers is None or server.name in j.servers)
                if self.job_queue.policy is not None:
                    row.update(self.job_queue.policy.status(server.name))
            rows.append(row)
        return rows


__all__ = ["Server", "ServerPool"]
