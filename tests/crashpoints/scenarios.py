"""The job lives the crash-point suite stops the bot in.

Each scenario is one user's accepted interaction. Those that end with a result: a
``/generate``, an ``/editflux`` with an attached image, a Reroll click on a delivered result, a
``/generate`` that outlives the 15-minute interaction token (Discord's clock is moved past it
when the prompt is queued), and the same restarted only after Discord's nonce window (so
recovery must look for its own earlier post instead of relying on the nonce), a ``/generate``
whose server dies mid-job so failover runs it on a second server, and a private job
(``/settings results: me``) that outlives the token, so its outcome goes to its owner's direct
messages and never to the channel.

Those that end with a failure, so that delivering a failure is crashed at every point too: a
result a review plugin withholds (the image must never be shown), a job whose only server dies
mid-job (lost: Retry), an ``/editflux`` whose image ComfyUI cannot read, and a job its user
cancels while it runs.

Whatever depends on timing is tied to the job's own effects or to events instead: a server
dies as the bot records that its prompt runs, while the sampler is held so the prompt cannot
finish first; the Cancel click comes once that write landed, and the held sampler goes on only
once the user was told "Cancelled.". A step the killed bot never reached is decided while it is
down, the same way on every run (see ``stage.py``).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image

from discomfy.testing.discord_emulator.nonces import NONCE_WINDOW
from tests.conftest import REPO_ROOT
from tests.crashpoints.harness import Effect
from tests.crashpoints.stage import SAMPLER, SETTLE_TIMEOUT, Scenario, Stage, run_point, until

TOKEN_LIFETIME = 15 * 60
WITHHOLDING_PLUGINS = Path(__file__).parent / "plugins"
PROMPT_RUNS = "update running"  # the store write after ComfyUI accepted the prompt
UNREADABLE = "cannot identify image file 'cat.png'"
CANCEL_ANSWERS = ("Cancelled.", "It was too late to cancel this job.")


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(buffer, "PNG")
    return buffer.getvalue()


# --- what the user does ------------------------------------------------------------------

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

    await until(recorded, 10)  # its end is written: the first job's effects are not the reroll's


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


# --- a server dying with the job on it ----------------------------------------------------

async def hold_the_sampler(stage: Stage) -> None:
    """Every server holds its sampler until it dies (or it is decided that none will)."""
    stage.notes["holds"] = {id(fake): fake.hold_at(SAMPLER[0]) for fake in stage.fakes}


def server_dies_when_the_prompt_runs(stage: Stage, effect: Effect) -> None:
    if effect.label == PROMPT_RUNS and "server died" not in stage.notes:
        _server_dies(stage)


async def server_dies_while_the_bot_is_down(stage: Stage) -> None:
    """A prompt the killed bot left on a server dies with that server; if none is there, no
    server will die in this run."""
    if "server died" not in stage.notes:
        _server_dies(stage)


def _server_dies(stage: Stage) -> None:
    holding = [fake for fake in stage.fakes if fake.worker.running or fake.worker.pending]
    stage.notes["server died"] = bool(holding)
    for fake in holding:
        stage.kill_server(fake)
    for gate in stage.notes["holds"].values():  # the other servers run what failover sends them
        gate.set()


# --- a user cancelling a running job -----------------------------------------------------

def cancel_when_the_prompt_runs(stage: Stage, effect: Effect) -> None:
    """Once the store says the prompt runs: the bot reads the job from the store to find its
    prompt, and a click racing that write would find none (the job's own flow would then send
    the interrupt, after the answer instead of before it)."""
    if effect.label == PROMPT_RUNS and "cancel" not in stage.notes:
        stage.notes["cancel"] = "clicked"
        stage.drive(_click_cancel(stage))


async def _click_cancel(stage: Stage) -> None:
    """Click Cancel on the job's message; the held sampler goes on once the user was answered,
    so the job's own flow meets the interrupt after the click's effects, on every run."""
    message = stage.interaction.original_message
    button = next((c for c in message.custom_ids if c.startswith("discomfy:cancel:")), None) if message else None
    if button is None:  # the killed bot never answered: the user has nothing to click
        stage.notes["cancel"] = "never"
    else:
        click = await stage.emu.click(message, button, user=stage.user, wait=False)

        async def answered() -> bool:
            # the bot defers ("thinking"): Discord shows its first followup in that message
            shown = [click.original_message, *click.followups] if click.original_message else click.followups
            return any(m.content in CANCEL_ANSWERS for m in shown)

        await until(answered, SETTLE_TIMEOUT)
    _let_the_sampler_go(stage)


async def no_cancel_while_the_bot_is_down(stage: Stage) -> None:
    """A bot killed before the click was handled (or before it could be made): the sampler goes
    on, with the interrupt if ComfyUI got it; no click comes later."""
    stage.notes.setdefault("cancel", "never")
    _let_the_sampler_go(stage)


def _let_the_sampler_go(stage: Stage) -> None:
    for gate in stage.notes["holds"].values():
        gate.set()


# --- ComfyUI unable to read the user's image -----------------------------------------------

async def image_unreadable_on_comfyui(stage: Stage) -> None:
    for fake in stage.fakes:
        fake.fail_at("LoadImage", UNREADABLE, "UnidentifiedImageError")


SCENARIOS = {
    "generate": Scenario("generate", generate),
    "edit with attachment": Scenario("edit with attachment", edit_with_attachment, plugins=("editflux",)),
    "reroll": Scenario("reroll", reroll, prepare=deliver_one_first),
    "outlives the token": Scenario("outlives the token", generate, on_effect=expire_token_when_queued),
    "token + late restart": Scenario("token + late restart", generate, on_effect=expire_token_when_queued,
                                     restart_after=NONCE_WINDOW + 60),
    "failover": Scenario("failover", generate, prepare=hold_the_sampler, servers=2,
                         on_effect=server_dies_when_the_prompt_runs, between=server_dies_while_the_bot_is_down,
                         settings={"comfyui.health_interval": 0.2}),
    "private + late restart": Scenario("private + late restart", generate, prepare=ask_for_private_results,
                                       plugins=("generate", "settings"), on_effect=expire_token_when_queued,
                                       restart_after=NONCE_WINDOW + 60),
    # a review plugin withholds the result: the image must never reach the user, at any point
    "withheld": Scenario("withheld", generate, expect="failure", plugins=("generate", "withhold_all"),
                         settings={"plugins.dirs": [str(REPO_ROOT / "plugins"), str(WITHHOLDING_PLUGINS)]}),
    "server lost": Scenario("server lost", generate, prepare=hold_the_sampler, expect="failure+retry",
                            on_effect=server_dies_when_the_prompt_runs, between=server_dies_while_the_bot_is_down,
                            settings={"comfyui.server_lost_after": 1.0}),
    "unreadable image": Scenario("unreadable image", edit_with_attachment, prepare=image_unreadable_on_comfyui,
                                 plugins=("editflux",), expect="failure+retry"),
    "cancelled": Scenario("cancelled", generate, prepare=hold_the_sampler, expect="failure",
                          on_written=cancel_when_the_prompt_runs, between=no_cancel_while_the_bot_is_down),
}


__all__ = ["SCENARIOS", "ask_for_private_results", "run_point"]
