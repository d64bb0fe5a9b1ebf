"""A workflow whose model files no healthy server has is marked unavailable, with the reason in
/status, /help and the log, and comes back by itself when a server that has them comes back
(issue 23, point 6): the health check's "server is up again" is what re-checks it."""

from __future__ import annotations

import asyncio
import logging

from tests.bot.support import answer_text, assert_settled, wait_result

WAN = "wan2.2_ti2v_5B_fp16.safetensors"


async def until(predicate, timeout: float = 10.0) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


async def server_down_then_up(bot, fake) -> None:
    await fake.stop()
    await bot.jobs.servers.check_all()  # seen down
    await fake.start()
    await bot.jobs.servers.check_all()  # seen up: the listeners run, availability among them


async def test_a_workflow_no_server_can_run_is_named_and_comes_back_with_a_server_that_can(
        discord_emulator, fake_comfyui, bot, caplog):
    emu, fake = discord_emulator, fake_comfyui
    assert bot.jobs.availability.unavailable == {}  # checked at start: the fake has every model
    with caplog.at_level(logging.WARNING):
        for folder, names in fake.models.items():  # the server comes back without the video model
            fake.models[folder] = [n for n in names if n != WAN]
        await server_down_then_up(bot, fake)
        await until(lambda: "animate" in bot.jobs.availability.unavailable)
    assert list(bot.jobs.availability.unavailable) == ["animate"]
    assert any("animate" in r.getMessage() and "unavailable" in r.getMessage() and WAN in r.getMessage()
               for r in caplog.records)
    status = await answer_text(emu, await emu.invoke("status", {}))
    assert "Unavailable right now" in status and "/animate" in status and WAN in status
    shown = await answer_text(emu, await emu.invoke("help", {}))
    assert shown.index("Unavailable right now") < shown.index("/generate") and WAN in shown

    fake.models.setdefault("diffusion_models", []).append(WAN)  # installed again
    await server_down_then_up(bot, fake)
    await until(lambda: bot.jobs.availability.unavailable == {})
    assert "Unavailable right now" not in await answer_text(emu, await emu.invoke("status", {}))
    await wait_result(emu, await emu.invoke("animate", {"prompt": "waves", "seconds": 1}), timeout=20)
    await assert_settled(emu, bot)
