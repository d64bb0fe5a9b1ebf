"""The ComfyUI servers the bot may use, each with its own client (one session, one socket).

A single ``comfyui.url`` is a pool of one. Model names are checked against a server's
``/object_info`` before a job is accepted, so a missing LoRA reads as "LoRA x is not installed"
instead of ComfyUI's raw "value not in list" after the user already waited.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from discomfy.core.comfyui.client import ComfyUIClient
from discomfy.exceptions import ComfyUIError

log = logging.getLogger(__name__)


@dataclass
class Server:
    name: str
    url: str
    client: ComfyUIClient
    healthy: bool = True


def stable_client_id(config: Any, server_name: str) -> str:
    """The same ComfyUI client_id across restarts of the same bot (same job store)."""
    from discomfy.config import resolve_path

    store = str(resolve_path(config, config.jobs.store_path).resolve())
    return "discomfy-" + hashlib.sha256(f"{store}|{server_name}".encode()).hexdigest()[:24]


class ServerPool:
    def __init__(self, servers: list[Server]) -> None:
        if not servers:
            raise ValueError("at least one ComfyUI server is needed")
        self._servers = {server.name: server for server in servers}

    @classmethod
    def from_config(cls, config: Any) -> ServerPool:
        section = config.comfyui
        entries = list(section.servers or []) or [{"name": "default", "url": section.url}]
        servers = []
        for index, entry in enumerate(entries):
            url = entry["url"] if isinstance(entry, dict) else str(entry)
            name = (entry.get("name") if isinstance(entry, dict) else None) or ("default" if index == 0 else f"server{index + 1}")
            client = ComfyUIClient(
                url,
                client_id=stable_client_id(config, name),
                request_timeout=float(section.request_timeout),
                job_deadline=float(section.job_deadline),
                reconnect_max_delay=float(section.reconnect_max_delay),
            )
            servers.append(Server(name, url, client))
        return cls(servers)

    def __iter__(self) -> Iterator[Server]:
        return iter(self._servers.values())

    def __len__(self) -> int:
        return len(self._servers)

    def get(self, name: str) -> Server | None:
        return self._servers.get(name)

    @property
    def primary(self) -> Server:
        return next(iter(self._servers.values()))

    async def start(self) -> None:
        """Open every client; a server that is down now is reported, not fatal."""
        async def one(server: Server) -> None:
            try:
                await server.client.initialize()
            except ComfyUIError as exc:
                server.healthy = False
                log.warning("ComfyUI server %s (%s) is not reachable yet: %s", server.name, server.url, exc.detail)

        await asyncio.gather(*(one(s) for s in self))

    async def close(self) -> None:
        await asyncio.gather(*(s.client.close() for s in self), return_exceptions=True)

    async def check_choices(self, spec: Any, parameters: dict[str, Any]) -> None:
        """Raise ``ValidationError`` for a model/LoRA/sampler name the server lacks."""
        from discomfy.core.comfyui.workflows.server_check import check_choices_before_queue

        object_info = await self.primary.client.get_object_info()
        check_choices_before_queue(spec, parameters, object_info)
