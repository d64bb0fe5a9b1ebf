"""Stopping the bot exactly at one external effect, the way a killed process leaves things.

Every external effect of the job is numbered as it happens: a job-store write (``add``,
``update``, ``claim_intent``, ``finish``), an HTTP request to Discord (REST, webhooks, the
attachment CDN) or to ComfyUI. Background effects are not numbered, because when they happen
depends on timers and machine speed, not on the job: the health checks (``GET /queue``), the
memory probe after a job (``GET /system_stats``), node-info reloads, and the progress editor's
best-effort edits (its own task, racing the job's flow; a kill there leaves the store and the
outcome as a kill at the job's next effect does). So every run of a scenario numbers the same
list. The effects of the bots started after a kill (the *incarnations* 2, 3, ...: recovery) are
numbered the same way, each from 1, leaving out a start's own requests (login, command sync).

``CrashPlan(stops=(n,))`` lets effects 1..n-1 of the first bot happen and kills it at effect n,
before it happens (background effects die with it): from then on *every* effect of that bot raises
``Killed`` (a ``BaseException``, so no ``except Exception`` handler of the bot can run
cleanup that writes or sends anything). What was written stays written, nothing else is;
ComfyUI keeps running what it was given; Discord keeps its messages and its clock.
``stops=(n, m)`` also kills the second bot, the one recovering, at its own effect m: a second
crash during recovery, which a third bot must then finish.

Which bot an effect belongs to is a ``ContextVar`` set before each bot starts: every task a
bot creates inherits it, so the killed bot's late tasks stay dead while the restarted bot
(the next incarnation) works normally on the same store, emulator and fake.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from discomfy.core.jobs.store import JobStore

incarnation: contextvars.ContextVar[int] = contextvars.ContextVar("bot_incarnation", default=0)

STORE_WRITES = ("add", "update", "claim_intent", "finish")
#: Requests that are not a job's: the gateway and ComfyUI sockets, the health probes
#: (GET /queue every ``health_interval``), the memory probe after each job, node-info reloads,
#: and a bot's start: its login (who am I, which application) and its command sync.
NOT_JOB_EFFECTS = ("/gateway", "/ws", "GET /queue", "GET /system_stats", "GET /object_info", "GET /users/@me",
                   "GET /oauth2/applications/@me", "/commands")
#: the progress editor's tasks (``discomfy.bot.progress.ThrottledEditor``) are named so
PROGRESS_TASK = "progress:"


class Killed(BaseException):
    """The bot process is gone: raised at, and after, the crash point."""


@dataclass
class Effect:
    index: int
    kind: str  # "store", "discord" or "comfyui"
    label: str
    #: for a ``claim_intent`` the store accepted: the outcome it recorded ("result", "failed",
    #: "failed+retry", "cancelled", "withheld") and the failure's reason
    ending: tuple[str, str | None] | None = None


@dataclass
class CrashPlan:
    """Numbers the effects of every incarnation; kills incarnation k before its effect
    ``stops[k - 1]``. The first bot is numbered once ``counting`` (after the scenario's
    preparation), every later one from its start."""

    stops: tuple[int, ...] = ()
    discord_port: int | None = None
    effects: dict[int, list[Effect]] = field(default_factory=dict)
    counting: bool = False
    killed_at: dict[int, Effect] = field(default_factory=dict)
    dead: set[int] = field(default_factory=set)
    on_effect: Callable[[Effect], None] | None = None  # as an effect is numbered, before it happens
    on_written: Callable[[Effect], None] | None = None  # once a numbered store write returned

    def effect(self, kind: str, label: str) -> Effect | None:
        """Number one effect (None for one that is not numbered); raise ``Killed`` at a stop."""
        bot = incarnation.get()
        if bot in self.dead:
            raise Killed(f"bot {bot} is dead")
        if bot == 0 or (bot == 1 and not self.counting) or any(skip in label for skip in NOT_JOB_EFFECTS) \
                or _in_progress_editor():
            return None
        numbered = self.effects.setdefault(bot, [])
        effect = Effect(len(numbered) + 1, kind, label)
        if self.on_effect is not None:
            self.on_effect(effect)
        if bot <= len(self.stops) and effect.index == self.stops[bot - 1]:
            self.killed_at[bot] = effect
            self.dead.add(bot)
            raise Killed(f"bot {bot} stopped before its effect {effect.index}: {kind} {label}")
        numbered.append(effect)
        return effect

    def killed(self, bot: int) -> bool:
        return bot in self.killed_at

    def numbered(self, bot: int) -> list[Effect]:
        return self.effects.get(bot, [])

    @contextlib.contextmanager
    def installed(self) -> Iterator[CrashPlan]:
        """Route every store write and every client HTTP request through ``effect``."""
        plan = self
        original_request = aiohttp.ClientSession._request
        originals = {name: getattr(JobStore, name) for name in STORE_WRITES}

        async def request(session: Any, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
            target = aiohttp.client.URL(str(url))
            kind = "discord" if target.port == plan.discord_port else "comfyui"
            plan.effect(kind, f"{method} {_short(target.path)}")
            return await original_request(session, method, url, *args, **kwargs)

        def store_write(name: str) -> Any:
            method = originals[name]

            async def write(store: Any, *args: Any, **kwargs: Any) -> Any:
                detail = kwargs.get("state") or (args[1] if name in ("claim_intent", "finish") and len(args) > 1 else "")
                detail = str(getattr(detail, "value", detail)).split(":")[0]
                effect = plan.effect("store", f"{name} {detail}".strip())
                written = await method(store, *args, **kwargs)
                if name == "claim_intent" and written is not None and effect is not None:
                    effect.ending = (args[2], kwargs.get("note"))
                if effect is not None and plan.on_written is not None:
                    plan.on_written(effect)
                return written

            return write

        aiohttp.ClientSession._request = request  # type: ignore[method-assign]
        for name in STORE_WRITES:
            setattr(JobStore, name, store_write(name))
        try:
            yield self
        finally:
            aiohttp.ClientSession._request = original_request  # type: ignore[method-assign]
            for name, method in originals.items():
                setattr(JobStore, name, method)


def _in_progress_editor() -> bool:
    task = asyncio.current_task()
    return task is not None and task.get_name().startswith(PROGRESS_TASK)


def _short(path: str) -> str:
    """``/api/v10/webhooks/1/emu.x/messages/2`` -> ``/webhooks/{id}/{token}/messages/{id}``."""
    parts = []
    for part in path.removeprefix("/api/v10").split("/"):
        if part.isdigit():
            part = "{id}"
        elif part.startswith("emu."):
            part = "{token}"
        elif len(part) > 30:
            part = "{..}"
        parts.append(part)
    return "/".join(parts)


__all__ = ["CrashPlan", "Effect", "Killed", "incarnation"]
