"""No callback holds the bot's event loop for seconds during an end-to-end session (issue 20,
point 10).

A blocked loop answers nothing: interactions miss Discord's 3-second window and heartbeats
go unanswered. asyncio's debug mode logs every callback that runs longer than
``slow_callback_duration``; the session below -- a FLUX image, upscaled twice to 4096² and
delivered over a small upload limit, so it is re-encoded -- runs with that watch on. The bound
is generous (a machine under load takes a few hundred milliseconds where an idle one takes
tens) yet catches a multi-second block.

In ``discomfy play`` the fake ComfyUI shares the bot's loop, so its node execution counts too:
the second test covers that, and fails until the fake draws and encodes off the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Iterator

import pytest

from tests.bot.support import assert_settled, image_size, wait_result
from tests.bot.test_result_actions_e2e import button

BOUND = 2.0  # seconds one callback may hold the loop
SLOW = re.compile(r"Executing (?P<what>.*) took (?P<seconds>[\d.]+) seconds", re.S)
FAKE_COMFYUI = "fake-comfyui"  # the fake's tasks are named so


@contextlib.contextmanager
def slow_callbacks(caplog: pytest.LogCaptureFixture) -> Iterator[list[tuple[float, str]]]:
    """(seconds, callback) of every callback that held the running loop longer than BOUND."""
    loop = asyncio.get_running_loop()
    debug, duration = loop.get_debug(), loop.slow_callback_duration
    loop.set_debug(True)
    loop.slow_callback_duration = BOUND
    found: list[tuple[float, str]] = []
    with caplog.at_level(logging.WARNING, logger="asyncio"):
        try:
            yield found
        finally:
            loop.set_debug(debug)
            loop.slow_callback_duration = duration
            for record in caplog.records:
                match = SLOW.match(record.getMessage()) if record.name == "asyncio" else None
                if match:
                    found.append((float(match["seconds"]), match["what"][:300]))


async def session(emu, fake) -> None:
    """Generate, upscale the result twice (1024² -> 2048² -> 4096²), each over the upload limit."""
    fake.preview_frames = True
    fake.simulate("SamplerCustomAdvanced", steps=10, step_delay=0.01)
    image = await wait_result(emu, await emu.invoke("generate", {"prompt": "a red fox", "seed": 3}), timeout=60)
    emu.attachment_size_limit = len(image.attachments[0].data) // 2  # every later result is re-encoded
    for side in (2048, 4096):
        image = await wait_result(emu, await emu.click(image, button(image, "upscale")), timeout=120)
        assert max(image_size(image.attachments[0].data)) <= side


def blocks(found: list[tuple[float, str]], *, fake: bool) -> list[tuple[float, str]]:
    return [(seconds, what) for seconds, what in found if (FAKE_COMFYUI in what) == fake]


@pytest.mark.timeout(300)  # asyncio debug mode slows every callback: minutes on a loaded machine
async def test_the_bot_never_holds_its_loop_for_seconds(discord_emulator, fake_comfyui, bot, caplog):
    with slow_callbacks(caplog) as found:
        await session(discord_emulator, fake_comfyui)
        await assert_settled(discord_emulator, bot)
    assert not blocks(found, fake=False), f"callbacks that held the loop over {BOUND} s: {blocks(found, fake=False)}"


@pytest.mark.timeout(300)  # asyncio debug mode slows every callback: minutes on a loaded machine
async def test_a_playground_session_never_holds_the_loop_for_seconds(discord_emulator, fake_comfyui, bot, caplog):
    with slow_callbacks(caplog) as found:
        await session(discord_emulator, fake_comfyui)
        await assert_settled(discord_emulator, bot)
    assert not found, f"callbacks that held the loop over {BOUND} s: {found}"
