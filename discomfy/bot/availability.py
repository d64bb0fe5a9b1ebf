"""Which workflows no healthy image server can run right now, and why.

Checked when the bot starts and whenever a server comes back: a workflow whose node classes or
model files are missing on every healthy server is marked unavailable, with the reason in the
log, ``/status`` and ``/help``, instead of every user finding out one refusal at a time. It is
available again by itself as soon as a server that has what it needs is up. When every server
is down nothing is marked: that is the servers' problem, which ``/status`` already shows.
"""

from __future__ import annotations

import logging
from typing import Any

from discomfy.exceptions import DisComfyError

log = logging.getLogger(__name__)


class WorkflowAvailability:
    """``unavailable``: workflow name -> why no healthy server can run it (empty when all can)."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot
        self.unavailable: dict[str, str] = {}

    async def refresh(self, *_: Any) -> None:
        """Ask the healthy servers about every loaded workflow (also a health listener)."""
        if not any(server.healthy for server in self.bot.jobs.servers):
            return
        found: dict[str, str] = {}
        for name, spec in sorted(self.bot.plugins.workflows.all().items()):
            try:
                await self.bot.jobs.servers.eligible(spec, {})
            except DisComfyError as exc:
                found[name] = exc.user_message
        for name, reason in found.items():
            if self.unavailable.get(name) != reason:
                log.warning("workflow %s (/%s) is unavailable: %s", name, self.bot.plugins.workflows.get(name).command, reason)
        for name in set(self.unavailable) - set(found):
            log.info("workflow %s is available again", name)
        self.unavailable = found

    def lines(self) -> list[str]:
        """One line per unavailable workflow, for /status and /help."""
        lines = []
        for name, reason in sorted(self.unavailable.items()):
            spec = self.bot.plugins.workflows.get(name)
            label = f"/{spec.command} · {spec.model}" if spec is not None else name
            lines.append(f"{label}: {reason}")
        return lines


__all__ = ["WorkflowAvailability"]
