"""The bot token never reaches the log, even at DEBUG level through a whole job."""

from __future__ import annotations

import logging


async def test_token_is_not_logged_during_login_sync_and_a_job(caplog, discord_emulator, fake_comfyui, bot_config):
    from discomfy.testing.bot_harness import running_bot

    caplog.set_level(logging.DEBUG)
    async with running_bot(discord_emulator, fake_comfyui, bot_config):
        interaction = await discord_emulator.invoke("generate", {"prompt": "a cat"})
        await discord_emulator.wait_for_message(lambda m: m.id == interaction.original_message.id and m.attachments, timeout=10)
    assert len(caplog.records) > 20  # DEBUG logging really was on
    assert discord_emulator.token not in caplog.text
    assert interaction.token not in caplog.text  # interaction tokens are credentials too
