"""The job lives the crash-point suite stops the bot in, and the run of one crash point.

Each scenario is one user's accepted interaction: a ``/generate``, an ``/editflux`` with an
attached image, a Reroll click on a delivered result, a ``/generate`` that outlives the
15-minute interaction token (Discord's clock is moved past it when the prompt is queued), and
the same restarted only after Discord's nonce window (so recovery must look for its own earlier
post instead of relying on the nonce), a ``/generate`` whose server dies mid-job so failover
runs it on a second server, a private job (``/settings results: me``) that outlives the token,
so its outcome goes to its owner's direct messages and never to the channel, and a job whose
result a review plugin withholds (the image must never be shown). ``run_point``
plays one scenario with the bot killed before effect ``n`` (or not at all), starts a new bot
on the same store, emulator and fake ComfyUI, and judges what the user ended up seeing.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from discomfy.core.jobs.store import JobStore
from discomfy.testing.audit import InteractionVerdict, jobs_in, judge_interaction
from discomfy.testing.bot_harness import build_config, install_models, running_bot
from discomfy.testing.discord_emulator import DiscordEmulator
from discomfy.testing.fake_comfyui import FakeComfyUI
from discomfy.testing.discord_emulator.nonces import NONCE_WINDOW
from tests.conftest import REPO_ROOT
from tests.crashpoints.harness import CrashPlan, Effect, incarnation

TOKEN_LIFETIME = 15 * 60
WITHHOLDING_PLUGINS = Path(__file__).parent / "plugins"
SETTLE_TIMEOUT = 30.0


@dataclass
class Stage:
    """One crash point's world: the stand-ins, the project folder, the plan, the user."""

    emu: DiscordEmulator
    fakes: list[FakeComfyUI]
    config: Any
    plan: CrashPlan
    user: Any = None
    interaction: Any = None
    bot: Any = None
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Scenario:
    name: str
    act: Callable[[Stage], Awaitable[Any]]  # starts the interaction under test, returns it
    prepare: Callable[[Stage], Awaitable[None]] | None = None  # before counting starts
    servers: int = 1
    settings: dict[str, Any] = field(default_factory=dict)
    on_effect: Callable[[Stage, Effect], None] | None = None
    restart_after: float = 0.0  # Discord-clock seconds between the kill and the restart
    expect: str = "result"  # what the user gets without a crash


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(buffer, "PNG")
    return buffer.getvalue()


# --- the scenarios ------------------------------------------------------------------------

async def generate(stage: Stage) -> Any:
    return await stage.emu.invoke("generate", {"prompt": "a lighthouse", "seed": 7}, user=stage.user, wait=False)


async def edit_with_attachment(stage: Stage) -> Any:
    return await stage.emu.invoke("editflux", {"prompt": "add a hat"}, user=stage.user, wait=False,
                                  attachments={"image": ("cat.png", png_bytes(), "image/png")})


async def deliver_one_first(stage: Stage) -> None:
    first = await stage.emu.invoke("generate", {"prompt": "a first lighthouse", "seed": 3}, user=stage.user)
    stage.notes["result"] = await stage.emu.wait_for_message(
        lambda m: m.id == first.original_message.id and m.attachments, timeout=20)

    async def recorded() -> bool:
        return not await stage.bot.jobs.store.unfinished()

    await _until(recorded, 10)  # its end is written: the first job's effects are not the reroll's


async def reroll(stage: Stage) -> Any:
    result = stage.notes["result"]
    button = next(c for c in result.custom_ids if c.startswith("discomfy:reroll:"))
    return await stage.emu.click(result, button, user=stage.user, wait=False)


async def ask_for_private_results(stage: Stage) -> None:
    await stage.emu.invoke("settings set", {"results": "me"}, user=stage.user)


def expire_token_when_queued(stage: Stage, effect: Effect) -> None:
    """The job outlives its token: Discord's clock passes 15 minutes as the prompt is queued."""
    if effect.label == "POST /prompt" and not stage.notes.get("expired"):
        stage.notes["expired"] = True
        stage.emu.clock.advance(TOKEN_LIFETIME + 60)


async def generate_then_kill_its_server(stage: Stage) -> Any:
    inter = await generate(stage)
    stage.notes["kill_server"] = asyncio.create_task(_stop_server_once_prompted(stage))
    return inter


async def _stop_server_once_prompted(stage: Stage) -> None:
    """The server that received the prompt dies mid-job (failover moves the job)."""
    while True:
        for fake in stage.fakes:
            if fake.count("POST", "/prompt"):
                await asyncio.sleep(0.3)  # sampling has begun
                await fake.stop()
                stage.notes["dead_server"] = fake
                return
        await asyncio.sleep(0.01)


SCENARIOS = {
    "generate": Scenario("generate", generate),
    "edit with attachment": Scenario("edit with attachment", edit_with_attachment),
    "reroll": Scenario("reroll", reroll, prepare=deliver_one_first),
    "outlives the token": Scenario("outlives the token", generate, on_effect=expire_token_when_queued),
    "token + late restart": Scenario("token + late restart", generate, on_effect=expire_token_when_queued,
                                     restart_after=NONCE_WINDOW + 60),
    "failover": Scenario("failover", generate_then_kill_its_server, servers=2,
                         settings={"comfyui.health_interval": 0.2}),
    "private + late restart": Scenario("private + late restart", generate, prepare=ask_for_private_results,
                                       on_effect=expire_token_when_queued, restart_after=NONCE_WINDOW + 60),
    # a review plugin withholds the result: the image must never reach the user, at any point
    "withheld": Scenario("withheld", generate, expect="failure",
                         settings={"plugins.dirs": [str(REPO_ROOT / "plugins"), str(WITHHOLDING_PLUGINS)]}),
}


# --- one crash point --------------------------------------------------------------------------

@dataclass
class PointResult:
    stop_before: int | None
    killed_at: Effect | None
    effects: list[Effect]
    verdict: InteractionVerdict
    settled: bool
    public: int = 0  # messages about the job that everyone in the guild channel can see
    unanswered_edits: int = 0  # PATCHes of an interaction reply that did not exist (Discord: 404)


async def run_point(scenario: Scenario, root: Path, stop_before: int | None) -> PointResult:
    emu = DiscordEmulator()
    fakes = [FakeComfyUI() for _ in range(scenario.servers)]
    await emu.start()
    for fake in fakes:
        await fake.start()
        fake.simulate("SamplerCustomAdvanced", 10, 0.05)  # half a second of sampling, with progress
    try:
        return await _play(scenario, root, stop_before, emu, fakes)
    finally:
        for fake in fakes:
            with contextlib.suppress(Exception):
                await fake.stop()
        await emu.stop()


async def _play(scenario: Scenario, root: Path, stop_before: int | None, emu: DiscordEmulator,
                fakes: list[FakeComfyUI]) -> PointResult:
    # one progress edit per phase change at most: the number of effects does not depend on timing
    settings = {"comfyui.health_interval": 3600.0, "progress.edit_interval": 3600.0, **scenario.settings}
    if scenario.servers > 1:
        settings["comfyui.servers"] = [{"name": f"gpu{i + 1}", "url": f.url} for i, f in enumerate(fakes)]
    config = build_config(root, emulator=emu, comfyui_url=fakes[0].url, plugin_dirs=[REPO_ROOT / "plugins"],
                          workflow_dirs=[REPO_ROOT / "workflows"], settings=settings)
    plan = CrashPlan(stop_before=stop_before, discord_port=emu.port)
    stage = Stage(emu, fakes, config, plan, user=emu.make_user("crash"))
    if scenario.on_effect is not None:
        plan.on_effect = lambda effect: scenario.on_effect(stage, effect)
    with plan.installed():
        first = incarnation.set(1)
        try:
            async with running_bot(emu, fakes[0], config) as bot:
                stage.bot = bot
                for fake in fakes[1:]:
                    install_models(fake, bot)
                await bot.jobs.servers.refresh_object_info()
                if scenario.prepare is not None:
                    await scenario.prepare(stage)
                plan.counting = True
                stage.interaction = await scenario.act(stage)
                await _until(lambda: _ended(stage, bot.jobs.store, plan), SETTLE_TIMEOUT)
                plan.counting = False
        except Exception:
            if not plan.killed:
                raise
        finally:
            incarnation.reset(first)
        killer = stage.notes.get("kill_server")
        if killer is not None:
            killer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await killer
        emu.clock.advance(scenario.restart_after)  # past Discord's nonce window: the bot must look first
        second = incarnation.set(2)
        try:
            async with running_bot(emu, fakes[0], config) as bot:
                settled = await _until(lambda: _ended(stage, bot.jobs.store), SETTLE_TIMEOUT)
        finally:
            incarnation.reset(second)
    job_ids = await _jobs_of(config, stage)
    verdict = judge_interaction(emu, stage.interaction, job_ids)
    public = sum(1 for m in emu.messages.values()
                 if m.channel_id == emu.channel_id and not m.deleted and not m.ephemeral and jobs_in(m) & job_ids)
    unanswered = sum(1 for r in emu.requests
                     if r.method == "PATCH" and r.path.endswith("/messages/@original") and r.status == 404)
    return PointResult(stop_before, plan.killed_at, list(plan.effects), verdict, settled, public, unanswered)


async def _ended(stage: Stage, store: JobStore, plan: CrashPlan | None = None) -> bool:
    """The bot was killed, or the interaction reached its end: no job (refused, or never
    accepted), or every job it created ended in the store and visibly for the user."""
    if plan is not None and plan.killed:
        return True
    inter = stage.interaction
    jobs = [j for j in await store.jobs_for_user(int(stage.user.id), active_only=False)
            if j.interaction_token == inter.token]
    if not jobs:
        return inter.response is not None or plan is None
    if any(not job.is_final for job in jobs):
        return False
    return judge_interaction(stage.emu, inter, {j.id for j in jobs}).outcome != "lost"


async def _jobs_of(config: Any, stage: Stage) -> set[str]:
    async with JobStore.from_config(config) as store:
        jobs = await store.jobs_for_user(int(stage.user.id), active_only=False)
    return {job.id for job in jobs if job.interaction_token == stage.interaction.token}


async def _until(predicate: Callable[[], Awaitable[bool]], timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not await predicate():
        if loop.time() > end:
            return False
        await asyncio.sleep(0.02)
    return True


__all__ = ["PointResult", "SCENARIOS", "Scenario", "run_point"]
