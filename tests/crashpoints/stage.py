"""Playing one crash point: a scenario's interaction, the bots killed where the plan says, and
what the user ended up seeing.

``run_point(scenario, root, n)`` plays the scenario with the first bot killed before its effect
``n``; ``run_point(scenario, root, n, m)`` also kills the bot that recovers after it, at its own
effect ``m``; no stop plays it without a crash. Each kill is followed by a new bot on the same
store, emulator and fake ComfyUI; the last one lives until the interaction ends. Between two
lives ComfyUI finishes what it was given (a held node is let go, a stopped server stays down),
so what the next bot finds -- and so the list of its effects -- is the same on every run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from discomfy.core.jobs.store import JobStore
from discomfy.testing.audit import InteractionVerdict, jobs_in, judge_interaction
from discomfy.testing.bot_harness import build_config, install_models, running_bot
from discomfy.testing.discord_emulator import DiscordEmulator
from discomfy.testing.fake_comfyui import FakeComfyUI
from tests.conftest import REPO_ROOT
from tests.crashpoints.harness import CrashPlan, Effect, Killed, incarnation

#: a bound against a lost job only (a correct run never waits for it): with the job store on
#: PostgreSQL, a loaded machine starved the database server while this process kept counting,
#: and 30 s judged 4 of 33 PostgreSQL tests' jobs lost in a fresh-clone run of the whole suite
SETTLE_TIMEOUT = 120.0
#: a short sampling, with progress: what the user sees does not depend on its length
SAMPLER = ("SamplerCustomAdvanced", 3, 0.02)
#: one progress edit per phase change at most, no health probes: the number of effects does
#: not depend on timing; and a ComfyUI request slowed down by a loaded machine is not taken for
#: a server that is down (the fake answers every request, or refuses the connection when stopped)
QUIET = {"comfyui.health_interval": 3600.0, "progress.edit_interval": 3600.0, "comfyui.request_timeout": 60.0,
         "plugins.workflow_dirs": []}
#: on a shared (PostgreSQL) store the scheduling bot takes jobs in when they are announced
#: (NOTIFY), and also polls the store every ``jobs.poll_interval`` seconds of real time, the
#: safety net for a notification lost with a connection (tests/bot/test_several_processes.py).
#: One server on loopback loses none here, and a poll lands at whichever effect the machine's
#: speed puts under it: a pass over the store while the job is being accepted sees it half-done
#: (and, with the restart grace at 0, ends it as if its process had died). So no poll here.
SHARED_STORE = {"jobs.poll_interval": 24 * 3600.0}


@dataclass
class Stage:
    """One crash point's world: the stand-ins, the project folder, the plan, the user."""

    emu: DiscordEmulator
    fakes: list[FakeComfyUI]
    config: Any
    plan: CrashPlan
    scenario: Any
    user: Any = None
    interaction: Any = None
    bot: Any = None
    notes: dict[str, Any] = field(default_factory=dict)
    #: user actions in flight (a Cancel click): they die with the bot they were started under
    drivers: list[asyncio.Task[Any]] = field(default_factory=list)
    #: servers that died during the scenario (they stay down), and their deaths under way
    stopped: list[FakeComfyUI] = field(default_factory=list)
    dying: list[asyncio.Task[None]] = field(default_factory=list)

    def drive(self, coro: Awaitable[Any]) -> None:
        self.drivers.append(asyncio.ensure_future(coro))

    def kill_server(self, fake: FakeComfyUI) -> None:
        """``fake`` dies now (from a synchronous hook: its stop runs as a task, awaited before
        the next bot starts) and stays down."""
        self.stopped.append(fake)
        self.dying.append(asyncio.ensure_future(fake.stop()))


@dataclass
class Scenario:
    name: str
    act: Callable[[Stage], Awaitable[Any]]  # starts the interaction under test, returns it
    prepare: Callable[[Stage], Awaitable[None]] | None = None  # before counting starts
    servers: int = 1
    settings: dict[str, Any] = field(default_factory=dict)
    plugins: tuple[str, ...] = ("generate",)  # only what the scenario uses: each start loads them
    on_effect: Callable[[Stage, Effect], None] | None = None  # as an effect is numbered, before it happens
    on_written: Callable[[Stage, Effect], None] | None = None  # once a numbered store write landed
    between: Callable[[Stage], Awaitable[None]] | None = None  # while the bot is down, before ComfyUI settles
    restart_after: float = 0.0  # Discord-clock seconds between a kill and the restart
    expect: str = "result"  # what the user gets without a crash


@dataclass
class PointResult:
    stops: tuple[int, ...]
    killed_at: dict[int, Effect]  # by bot (1, 2, ...): where it was killed
    effects: dict[int, list[Effect]]  # by bot: its numbered effects before it was killed
    verdict: InteractionVerdict
    settled: bool
    public: int = 0  # messages about the job that everyone in the guild channel can see
    unanswered_edits: int = 0  # PATCHes of an interaction reply that did not exist (Discord: 404)

    def numbered(self, bot: int) -> list[Effect]:
        return self.effects.get(bot, [])

    def lived(self, bot: int) -> list[tuple[str, str]]:
        """Bot ``bot``'s effects as (kind, label), the one it was killed at last."""
        killed = [self.killed_at[bot]] if bot in self.killed_at else []
        return [(e.kind, e.label) for e in self.numbered(bot) + killed]


async def run_point(scenario: Scenario, root: Path, *stops: int, store_url: str | None = None) -> PointResult:
    """Play ``scenario`` with the bots killed at ``stops`` (see the module docstring), its jobs
    in a store at ``root`` or, with ``store_url``, in that PostgreSQL database."""
    emu = DiscordEmulator()
    fakes = [FakeComfyUI() for _ in range(scenario.servers)]
    await emu.start()
    for fake in fakes:
        await fake.start()
        fake.simulate(*SAMPLER)
    try:
        return await _play(scenario, root, tuple(stops), emu, fakes, store_url)
    finally:
        for fake in fakes:
            with contextlib.suppress(Exception):
                await fake.stop()
        await emu.stop()


async def _play(scenario: Scenario, root: Path, stops: tuple[int, ...], emu: DiscordEmulator,
                fakes: list[FakeComfyUI], store_url: str | None) -> PointResult:
    settings = {**QUIET, "plugins.enabled": list(scenario.plugins), **scenario.settings}
    if store_url:
        settings.update({"jobs.store_url": store_url, **SHARED_STORE})
    if scenario.servers > 1:
        settings["comfyui.servers"] = [{"name": f"gpu{i + 1}", "url": f.url} for i, f in enumerate(fakes)]
    config = build_config(root, emulator=emu, comfyui_url=fakes[0].url, plugin_dirs=[REPO_ROOT / "plugins"],
                          settings=settings)
    plan = CrashPlan(stops=stops, discord_port=emu.port)
    stage = Stage(emu, fakes, config, plan, scenario, user=emu.make_user("crash"))
    if scenario.on_effect is not None:
        plan.on_effect = lambda effect: scenario.on_effect(stage, effect)
    if scenario.on_written is not None:
        plan.on_written = lambda effect: scenario.on_written(stage, effect)
    with plan.installed():
        settled = await _live(stage, 1)
        for bot in range(2, len(stops) + 2):
            if not plan.killed(bot - 1):
                break  # the bot before lived to the end (the test reports the stop as not reached)
            await _between_lives(stage)
            settled = await _live(stage, bot)
    for task in stage.drivers:  # a user action the last bot never answered
        task.cancel()
    job_ids = await _jobs_of(config, stage)
    verdict = judge_interaction(emu, stage.interaction, job_ids)
    public = sum(1 for m in emu.messages.values()
                 if m.channel_id == emu.channel_id and not m.deleted and not m.ephemeral and jobs_in(m) & job_ids)
    unanswered = sum(1 for r in emu.requests
                     if r.method == "PATCH" and r.path.endswith("/messages/@original") and r.status == 404)
    return PointResult(stops, dict(plan.killed_at), {b: list(e) for b, e in plan.effects.items()}, verdict,
                       settled, public, unanswered)


async def _live(stage: Stage, number: int) -> bool:
    """One bot's life on the stage's store: the first plays the scenario; each lives until the
    interaction ended (True) or it was killed. A bot killed while starting (recovery runs as
    it starts) never gets to say so: its start raises ``Killed``."""
    scenario, plan = stage.scenario, stage.plan
    token = incarnation.set(number)
    try:
        async with running_bot(stage.emu, stage.fakes[0], stage.config) as bot:
            stage.bot = bot
            if number == 1:
                for fake in stage.fakes[1:]:
                    install_models(fake, bot)
                await bot.jobs.servers.refresh_object_info()
                if scenario.prepare is not None:
                    await scenario.prepare(stage)
                plan.counting = True
                stage.interaction = await scenario.act(stage)
            return await until(lambda: _ended(stage, bot.jobs.store, number), SETTLE_TIMEOUT)
    except (Exception, Killed):
        if not plan.killed(number):
            raise
        return False
    finally:
        incarnation.reset(token)


async def _between_lives(stage: Stage) -> None:
    """The dead bot's user actions die with it; the scenario decides what happens meanwhile
    (a server dies, a held node is let go); ComfyUI finishes what it was given; then as much of
    Discord's time passes as the scenario says."""
    drivers, stage.drivers = stage.drivers, []
    for task in drivers:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Killed):
            await task
    if stage.scenario.between is not None:
        await stage.scenario.between(stage)
    for death in stage.dying:
        await death
    alive = [fake for fake in stage.fakes if fake not in stage.stopped]
    finished = await until(lambda: _idle(alive), SETTLE_TIMEOUT)
    assert finished, "ComfyUI did not finish what the killed bot gave it"
    stage.emu.clock.advance(stage.scenario.restart_after)


async def _idle(fakes: list[FakeComfyUI]) -> bool:
    return all(fake.worker.running is None and not fake.worker.pending for fake in fakes)


async def _ended(stage: Stage, store: JobStore, number: int) -> bool:
    """Bot ``number`` was killed, or the interaction reached its end: no job (refused, or never
    accepted), or every job it created ended in the store and visibly for the user."""
    if stage.plan.killed(number):
        return True
    inter = stage.interaction
    jobs = [j for j in await store.jobs_for_user(int(stage.user.id), active_only=False)
            if j.interaction_token == inter.token]
    if not jobs:
        return inter.response is not None or number > 1
    if any(not job.is_final for job in jobs):
        return False
    return judge_interaction(stage.emu, inter, {j.id for j in jobs}).outcome != "lost"


async def _jobs_of(config: Any, stage: Stage) -> set[str]:
    async with JobStore.from_config(config) as store:
        jobs = await store.jobs_for_user(int(stage.user.id), active_only=False)
    return {job.id for job in jobs if job.interaction_token == stage.interaction.token}


POLL = 0.02
#: the most one poll's pause counts for: a process starved of CPU (a loaded machine, parallel
#: workers) sees seconds pass in one pause, in which nothing it runs could move on either
STARVED = 0.5


async def until(predicate: Callable[[], Awaitable[bool]], timeout: float) -> bool:
    """Wait for state the test cannot subscribe to (store rows, the fake's queue); False on
    timeout. The timeout is ``timeout`` seconds in which this process ran: time it was starved
    of CPU does not count (on a loaded 2-core machine a worker was seen stalled for 41 s, which
    a wall-clock bound of 30 s judged a job lost that nobody had a chance to move)."""
    loop = asyncio.get_running_loop()
    waited = 0.0
    while not await predicate():
        if waited > timeout:
            return False
        before = loop.time()
        await asyncio.sleep(POLL)
        waited += min(loop.time() - before, STARVED)
    return True


__all__ = ["PointResult", "Scenario", "Stage", "run_point", "until"]
