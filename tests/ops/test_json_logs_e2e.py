"""``logging.format = "json"``: every line about a job names it (job, prompt, server, guild,
channel, command), and no line, from any logger at DEBUG, carries the bot token."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

from discomfy.ops.log_format import use_log_format
from discomfy.testing.bot_harness import running_bot


@pytest.fixture
def json_log(discord_emulator):
    """The root logger writing JSON to a buffer at DEBUG, as ``discomfy run`` would."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    use_log_format("json", discord_emulator.token)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(old_level)


async def test_json_lines_about_a_job_carry_its_ids_and_no_token(json_log, discord_emulator, fake_comfyui, bot_config):
    emu = discord_emulator
    emu.inject_429("PATCH /webhooks/*", retry_after=0.1)  # a warning in the middle of the job
    hold = fake_comfyui.hold_at("SamplerCustomAdvanced")
    async with running_bot(emu, fake_comfyui, bot_config) as bot:
        interaction = await emu.invoke("generate", {"prompt": "a lighthouse"})
        while not (await bot.jobs.store.unfinished() or [None])[0] or not (await bot.jobs.store.unfinished())[0].prompt_id:
            await asyncio.sleep(0.02)
        interaction.original_message.deleted = True  # a moderator deleted it: the bot logs a move, naming the job
        hold.set()
        await emu.wait_for_message(lambda m: m.id != interaction.original_message.id and bool(m.attachments),
                                   timeout=15)
        while await bot.jobs.store.unfinished():
            await asyncio.sleep(0.02)
        job = (await bot.jobs.store.jobs_for_user(int(interaction.user_id), active_only=False))[0]
    text = json_log.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    assert len(lines) > 20 and all({"time", "level", "logger", "message"} <= set(line) for line in lines)

    about_job = [line for line in lines if line.get("job_id") == job.id]
    assert any(line["level"] == "WARNING" and "rate limited" in line["message"] for line in about_job)
    with_prompt = [line for line in about_job if line.get("prompt_id")]
    assert with_prompt, "no line about the job once it ran on ComfyUI"
    for line in with_prompt:
        assert line["prompt_id"] == job.prompt_id and line["server"] == job.server
        assert (line["guild_id"], line["channel_id"], line["command"]) == (job.guild_id, job.channel_id, "generate")
    # a line that names the job in words is a line about it, carrying its ids (but Discord's
    # gateway echoing the job's message back is read by the gateway's task, about no job)
    naming = [line for line in lines if job.id in line["message"] and "WebSocket Event" not in line["message"]]
    assert naming and all(line.get("job_id") == job.id for line in naming), [
        line for line in naming if line.get("job_id") != job.id]

    assert emu.token not in text
    assert interaction.token not in text
