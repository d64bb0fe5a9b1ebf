"""The benchmark stage: Discord emulator + fake ComfyUI here, the real bot in a child process.

Why a child process: the figures are about the *bot*. In one process the emulator's records
(every request body, every uploaded PNG) and the fake's in-memory outputs would be counted as
the bot's RSS, and all three would share one core. Here the bot runs exactly as ``discomfy run``
starts it (``ComfyUIBot(config).start(token)``) in its own interpreter; its RSS is read from
``/proc/<pid>/status`` and the emulator and fake get the other core.

Every timestamp is taken in *this* process with ``time.perf_counter`` at the stand-ins:
``INTERACTION_CREATE`` leaving the emulator's gateway, ``POST /prompt`` reaching the fake,
``execution_success`` handed to the fake's socket, a REST request answered by the emulator.
The stand-ins record requests without times, so the bench wraps them (below) instead of
editing ``discomfy/testing``.

Run as a script, this file is the child: ``python bench/_stack.py '<json spec>'``.

Over 300 lines on purpose: the parent's stage, the child's start-up and the timestamp wrappers
must agree on one JSON spec and one set of hooks, so they are kept in one file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_MESSAGE = re.compile(r"^/webhooks/\d+/(?P<token>[^/]+)/messages/")
CALLBACK = re.compile(r"^/interactions/\d+/(?P<token>[^/]+)/callback$")
ROUTE_IDS = re.compile(r"/(\d{5,}|emu\.[^/]+|[0-9a-f]{32}|[0-9a-f-]{36})(?=/|$)")


# --- instrumentation of the stand-ins (parent side) ---------------------------------------

@dataclass
class Stamps:
    """perf_counter times keyed by what ties them to one job."""

    interaction: dict[str, float] = field(default_factory=dict)  # token -> INTERACTION_CREATE sent
    prompt_posted: dict[str, float] = field(default_factory=dict)  # prompt_id -> POST /prompt arrived
    finished: dict[str, float] = field(default_factory=dict)  # prompt_id -> execution_success sent
    uploaded: dict[str, list[float]] = field(default_factory=dict)  # token -> PATCHes with files answered 2xx
    acked: dict[str, float] = field(default_factory=dict)  # token -> interaction callback answered
    discord_log: list[tuple[float, str, str, int | None]] = field(default_factory=list)  # (t, method, route, status)
    comfy_log: list[tuple[float, str, str]] = field(default_factory=list)  # (t, method, path)


def route_of(path: str) -> str:
    """``/webhooks/123/emu.x/messages/456`` -> ``/webhooks/{id}/{id}/messages/{id}`` for tallies."""
    return ROUTE_IDS.sub("/{id}", path)


class TimedList(list):
    """The fake's ``requests`` list, also timestamping every append."""

    def __init__(self, sink: list[tuple[float, str, str]]) -> None:
        super().__init__()
        self._sink = sink

    def append(self, item: Any) -> None:
        self._sink.append((time.perf_counter(), item[0], item[1]))
        super().append(item)


def instrument_fake(fake: Any, stamps: Stamps) -> None:
    """Time ``POST /prompt`` arrivals (by the prompt id answered) and ``execution_success``."""
    from discomfy.testing.fake_comfyui import routes

    fake.requests = TimedList(stamps.comfy_log)
    fake.bench_stamps = stamps
    if not getattr(routes.Handlers.post_prompt, "bench_wrapped", False):
        original = routes.Handlers.post_prompt

        async def post_prompt(self: Any, request: Any) -> Any:
            arrived = time.perf_counter()
            response = await original(self, request)
            sink = getattr(self.fake, "bench_stamps", None)
            if sink is not None and response.status == 200:
                sink.prompt_posted[json.loads(response.body)["prompt_id"]] = arrived
            return response

        post_prompt.bench_wrapped = True  # type: ignore[attr-defined]
        routes.Handlers.post_prompt = post_prompt  # build_app binds it on every (re)start
    send_to = fake.send_to

    def timed_send_to(client_id: str, message: dict[str, Any]) -> None:
        if message.get("type") == "execution_success":
            stamps.finished[message["data"]["prompt_id"]] = time.perf_counter()
        send_to(client_id, message)

    fake.send_to = timed_send_to


def instrument_emulator(emu: Any, stamps: Stamps) -> None:
    """Time INTERACTION_CREATE dispatches and every answered REST request."""
    dispatch = emu.gateway.dispatch

    async def timed_dispatch(event: str, data: dict[str, Any]) -> None:
        if event == "INTERACTION_CREATE":
            stamps.interaction[data["token"]] = time.perf_counter()
        await dispatch(event, data)

    emu.gateway.dispatch = timed_dispatch
    finished = emu._request_finished

    def timed_finished(rec: Any) -> None:
        now = time.perf_counter()
        stamps.discord_log.append((now, rec.method, route_of(rec.path), rec.status))
        match = WEBHOOK_MESSAGE.match(rec.path)
        if rec.method == "PATCH" and match and rec.files and rec.status and rec.status < 300:
            stamps.uploaded.setdefault(match["token"], []).append(now)
        callback = CALLBACK.match(rec.path)
        if callback and rec.status and rec.status < 300:
            stamps.acked.setdefault(callback["token"], now)
        finished(rec)

    emu._request_finished = timed_finished


# --- the bot in a child process ------------------------------------------------------------

def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time used so far by ``pid`` (default: this process)."""
    with open(f"/proc/{pid or os.getpid()}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def read_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM (peak) of ``pid`` in kB."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values


class BotProcess:
    """``discomfy``'s bot in its own interpreter, wired to this process's emulator and fake."""

    def __init__(self, emu: Any, fake: Any, root: Path, settings: dict[str, Any]) -> None:
        self.emu, self.fake, self.root = emu, fake, root
        self.spec = {
            "root": str(root), "token": emu.token, "api_base": emu.api_base, "gateway_url": emu.gateway_url,
            "guild_id": emu.guild_id, "comfyui_url": fake.url, "settings": settings,
        }
        self.proc: asyncio.subprocess.Process | None = None
        self.log_path = root / "bot.log"
        self._models_installed = False

    @property
    def store_path(self) -> Path:
        return self.root / "jobs.sqlite3"

    async def start(self, timeout: float = 60.0) -> None:
        if not self._models_installed:
            await install_models(self.fake, self.spec)
            self._models_installed = True
        self.emu.gateway.guild_sent.clear()
        log = open(self.log_path, "ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, str(Path(__file__)), json.dumps(self.spec), stdout=log, stderr=log)
        log.close()
        ready = asyncio.ensure_future(self.emu.gateway.guild_sent.wait())
        exited = asyncio.ensure_future(self.proc.wait())
        done, _ = await asyncio.wait({ready, exited}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        exited.cancel()
        if ready not in done:
            ready.cancel()
            await self.stop()
            raise RuntimeError(f"the bot did not connect to the emulator within {timeout} s; "
                               f"its log ({self.log_path}) ends with:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    def memory(self) -> dict[str, int]:
        assert self.proc is not None
        return read_status(self.proc.pid)

    async def kill(self) -> None:
        """SIGKILL: the process ends wherever it is, nothing cleaned up, nothing flushed."""
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.kill()
        await self.proc.wait()

    async def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, as a container stop: the exit status, or None when it had to be killed
        after ``timeout`` seconds (or was not running)."""
        if self.proc is None or self.proc.returncode is not None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout)
        except asyncio.TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            return None


async def install_models(fake: Any, spec: dict[str, Any]) -> None:
    """Give the fake every model file the bot's workflows name (what ``running_bot`` does).

    The plugins are loaded into a throwaway, never-started bot here to learn those names."""
    from discomfy.bot.client import ComfyUIBot
    from discomfy.testing.bot_harness import install_models as install

    probe = ComfyUIBot(child_config(spec))
    await probe.plugins.load()
    install(fake, probe)


def child_config(spec: dict[str, Any]) -> Any:
    from discomfy.testing.bot_harness import build_config

    stand_in = SimpleNamespace(token=spec["token"], api_base=spec["api_base"], gateway_url=spec["gateway_url"],
                               guild_id=spec["guild_id"])
    return build_config(Path(spec["root"]), emulator=stand_in, comfyui_url=spec["comfyui_url"],
                        plugin_dirs=[REPO_ROOT / "plugins"], workflow_dirs=[REPO_ROOT / "workflows"],
                        settings=spec["settings"])


async def child_main(spec: dict[str, Any]) -> int:
    """The bot as ``discomfy run`` runs it (``run_bot``): SIGTERM stops it gracefully
    (``discomfy.ops.stop``) and it exits with run_bot's status; no health endpoint."""
    import logging

    from discomfy.bot.runner import run_bot
    from discomfy.config import override

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = child_config(spec)
    override(config, "ops.port", 0)  # several bots may run at once; the soak reads the store, not /metrics
    return await run_bot(config)


# --- the stage ------------------------------------------------------------------------------

@contextlib.asynccontextmanager
async def stage(settings: dict[str, Any], *, keep: bool = False):
    """Started emulator + fake (instrumented) and a project folder; yields (emu, fake, stamps, root)."""
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    from discomfy.testing.discord_emulator import DiscordEmulator
    from discomfy.testing.fake_comfyui import FakeComfyUI

    saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    stamps = Stamps()
    emu, fake = DiscordEmulator(), FakeComfyUI()
    instrument_fake(fake, stamps)  # before start: the routes bind the prompt handler when built
    await emu.start()
    await fake.start()
    instrument_emulator(emu, stamps)
    tmp = tempfile.mkdtemp(prefix="discomfy-bench-")
    try:
        yield emu, fake, stamps, Path(tmp)
    finally:
        await fake.stop()
        await emu.stop()
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved
        if not keep:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)


async def stored_jobs(store_path: Path, user_ids: list[str], per_user: int = 50) -> tuple[list[Any], list[Any]]:
    """(every job of these users, every job still unfinished), read through the bot's own store
    API from this process (SQLite in WAL mode lets us read while the bot writes)."""
    from discomfy.core.jobs.store import JobStore

    async with JobStore(store_path) as store:
        jobs = [job for uid in user_ids for job in await store.jobs_for_user(int(uid), active_only=False,
                                                                                  limit=per_user)]
        return jobs, await store.unfinished()


def outcome_now(emu: Any, inter: Any, seen: Any = None) -> tuple[str, str] | None:
    """What the user of ``inter`` has seen so far, as ("result" | "failed" | "refused", text);
    None while their job is still going. ``seen`` is another message to consider: a result or
    failure posted to the channel mentioning the user (after the interaction token is gone)."""
    message = inter.original_message
    if message is None:
        return None
    if message.ephemeral:
        return "refused", message.content
    found = _final(message)
    if found is None and seen is not None and seen.id != message.id and message.embeds \
            and seen.content.startswith(f"<@{inter.user_id}>") and _footer(seen) == _footer(message):
        found = _final(seen)
    return found


def _footer(message: Any) -> str:
    return (message.embeds[0].get("footer") or {}).get("text", "") if message.embeds else ""


def _final(message: Any) -> tuple[str, str] | None:
    from discomfy.testing.audit import outcome_of  # the one definition of what the user saw

    return outcome_of(message)


async def wait_outcome(emu: Any, inter: Any, timeout: float) -> tuple[str, str] | None:
    """The user's outcome, waiting on the emulator's message events (None if none in time)."""
    for seen in [None, *list(emu.messages.values())]:
        if (found := outcome_now(emu, inter, seen)) is not None:
            return found
    box: list[tuple[str, str]] = []

    def judge(message: Any) -> bool:
        found = outcome_now(emu, inter, message)
        if found is not None:
            box.append(found)
        return found is not None

    with contextlib.suppress(AssertionError):
        await emu.wait_for_message(judge, timeout=timeout)
    return box[0] if box else None


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def tally(items: list[str], top: int = 8) -> str:
    return ", ".join(f"{name} x{count}" for name, count in Counter(items).most_common(top))


if __name__ == "__main__":
    status = 0
    with contextlib.suppress(KeyboardInterrupt):
        status = asyncio.run(child_main(json.loads(sys.argv[1])))
    os._exit(status)
