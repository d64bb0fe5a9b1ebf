"""No callback holds the bot's event loop for seconds during an end-to-end session (issue 20,
point 10).

A blocked loop answers nothing: interactions miss Discord's 3-second window and heartbeats
go unanswered. The session below -- a FLUX image, upscaled twice to 4096² and delivered over a
small upload limit, so it is re-encoded -- runs with every callback of the loop timed. What is
timed is the CPU the loop's thread spent in the callback, which a loaded machine does not inflate
(a callback preempted by other processes is not holding the loop by its own work), with a wall
bound five times larger for a callback that blocks without computing (a synchronous read or
sleep). asyncio's own debug mode times wall-clock only, and so failed under load, and slowed
every callback besides.

In ``discomfy play`` the fake ComfyUI shares the bot's loop, so its node execution counts too:
the session's second verdict covers that (the fake draws and encodes off the loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator

import pytest

from tests.bot.support import assert_settled, image_size, wait_result
from tests.bot.test_result_actions_e2e import button

BOUND = 2.0  # CPU seconds one callback may hold the loop
WALL_BOUND = 5 * BOUND  # seconds, for a callback that blocks without computing
FAKE_COMFYUI = "fake-comfyui"  # the fake's tasks are named so


@contextlib.contextmanager
def slow_callbacks(bound: float = BOUND, wall_bound: float = WALL_BOUND) -> Iterator[list[tuple[float, str]]]:
    """(seconds, callback) of every callback that held the loop longer than the bounds."""
    found: list[tuple[float, str]] = []
    original = asyncio.events.Handle._run

    def timed(handle: asyncio.Handle) -> None:
        cpu, wall = time.thread_time(), time.monotonic()
        try:
            original(handle)
        finally:
            cpu, wall = time.thread_time() - cpu, time.monotonic() - wall
            if cpu > bound or wall > wall_bound:
                found.append((max(cpu, wall), described(handle)[:300]))

    asyncio.events.Handle._run = timed  # TimerHandle inherits it: every callback of every loop
    try:
        yield found
    finally:
        asyncio.events.Handle._run = original


def described(handle: asyncio.Handle) -> str:
    """The task a callback steps (with its name), as asyncio's debug log names it, else the handle."""
    owner = getattr(handle._callback, "__self__", None)
    return repr(owner) if isinstance(owner, asyncio.Task) else repr(handle)


def test_the_watch_catches_a_callback_that_computes_or_blocks_and_nothing_else():
    def compute() -> None:
        until = time.thread_time() + 0.2
        while time.thread_time() < until:
            pass

    def quick() -> None:
        pass

    loop = asyncio.new_event_loop()
    try:
        with slow_callbacks(bound=0.05, wall_bound=0.15) as found:
            for callback in (compute, quick, lambda: time.sleep(0.3)):
                loop.call_soon(callback)
            loop.run_until_complete(asyncio.sleep(0))
    finally:
        loop.close()
    caught = " ".join(what for _, what in found)
    assert "compute" in caught and "<lambda>" in caught and "quick" not in caught, found


async def session(emu, fake) -> None:
    """Generate, upscale the result twice (1024² -> 2048² -> 4096²), each over the upload limit."""
    fake.preview_frames = True
    fake.simulate("SamplerCustomAdvanced", steps=10, step_delay=0.01)
    image = await wait_result(emu, await emu.invoke("generate", {"prompt": "a red fox", "seed": 3}), timeout=60)
    emu.attachment_size_limit = len(image.attachments[0].data) // 2  # every later result is re-encoded
    for side in (2048, 4096):
        image = await wait_result(emu, await emu.click(image, button(image, "upscale")), timeout=240)
        assert max(image_size(image.attachments[0].data)) <= side


def blocks(found: list[tuple[float, str]], *, fake: bool) -> list[tuple[float, str]]:
    return [(seconds, what) for seconds, what in found if (FAKE_COMFYUI in what) == fake]


@pytest.mark.timeout(480)  # two 4096² re-encodes: minutes on a loaded machine (147 s with 8 workers on 2 cores)
async def test_neither_the_bot_nor_the_playgrounds_fake_holds_the_loop_for_seconds(discord_emulator, fake_comfyui,
                                                                                   bot):
    """One session judged twice: the bot's own callbacks, then the fake's too (in ``discomfy
    play`` the fake runs on the bot's loop, as it does here). They were two tests playing the
    same session; the second's verdict includes the first's."""
    with slow_callbacks() as found:
        await session(discord_emulator, fake_comfyui)
        await assert_settled(discord_emulator, bot)
    assert not blocks(found, fake=False), f"the bot's callbacks held the loop over {BOUND} s: {blocks(found, fake=False)}"
    assert not blocks(found, fake=True), f"the fake ComfyUI's callbacks held the loop over {BOUND} s: {blocks(found, fake=True)}"
