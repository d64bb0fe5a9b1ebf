"""SIGTERM to a real ``discomfy run``: it stops taking commands (answering that it restarts),
lets the delivery under way finish, exits 0, and the next start delivers the job it left, once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

from discomfy.bot.client import ComfyUIBot
from discomfy.core.jobs.store import JobStore
from discomfy.testing.bot_harness import install_models, running_bot
from tests.bot.support import answer_text
from tests.conftest import REPO_ROOT


def run_env(config) -> dict[str, str]:
    """``discomfy run`` configured as ``config`` (the harness's), by environment variables."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DISCOMFY_")}
    values = {
        "DISCORD__TOKEN": config.discord.token, "DISCORD__API_BASE": config.discord.api_base,
        "DISCORD__GATEWAY_URL": config.discord.gateway_url, "DISCORD__DEV_GUILD_ID": str(config.discord.dev_guild_id),
        "COMFYUI__URL": config.comfyui.url, "COMFYUI__MAX_RUNNING_PER_SERVER": "2",
        "JOBS__STORE_PATH": config.jobs.store_path, "PROGRESS__EDIT_INTERVAL": "0.05",
        "PLUGINS__DIRS": "@json " + json.dumps([str(REPO_ROOT / "plugins")]),
        "PLUGINS__WORKFLOW_DIRS": "@json " + json.dumps([str(REPO_ROOT / "workflows")]),
        "COMMUNITY__NSFW_POLICY": "everywhere", "OPS__PORT": "0", "OPS__STOP_GRACE": "20",
    }
    environ.update({f"DISCOMFY_{k}": v for k, v in values.items()})
    return environ


def uploads(emu, message_id) -> list:
    """Result uploads Discord accepted onto that message."""
    return [r for r in emu.requests if r.method == "PATCH" and r.path.endswith(f"/messages/{message_id}") and r.files
            and r.status < 300]


async def test_sigterm_mid_job_answers_restarting_finishes_the_delivery_and_exits_0(
        tmp_path, discord_emulator, fake_comfyui, bot_config):
    emu = discord_emulator
    probe = ComfyUIBot(bot_config)
    await probe.plugins.load()
    install_models(fake_comfyui, probe)
    held = fake_comfyui.hold_at("KSampler")  # the sdxl job stays running on ComfyUI until released
    # the first result upload is answered 429 for 3 s: a delivery under way when SIGTERM comes
    emu.inject_429(lambda rec: rec.method == "PATCH" and bool(rec.files), retry_after=3.0)
    log = open(tmp_path / "bot.log", "wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "discomfy", "--root", str(tmp_path), "run", env=run_env(bot_config),
        stdout=log, stderr=log, cwd=tmp_path)
    try:
        await asyncio.wait_for(emu.gateway.guild_sent.wait(), 60)
        await asyncio.sleep(0.5)
        alice, bob, carol = emu.make_user("alice"), emu.make_user("bob"), emu.make_user("carol")
        delivering = await emu.invoke("generate", {"prompt": "a delivered lighthouse"}, user=alice, timeout=15)
        left = await emu.invoke("generate", {"prompt": "a lighthouse left running", "model": "sdxl"},
                                user=bob, timeout=15)
        await emu.wait_for_request(lambda r: r.status == 429 and bool(r.files), timeout=30)
        process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.3)
        refused = await emu.invoke("generate", {"prompt": "too late"}, user=carol, timeout=10)
        assert "restarting" in await answer_text(emu, refused)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        log.close()
    assert len(uploads(emu, delivering.original_message.id)) == 1  # its 429 waited out before the exit
    async with JobStore.from_config(bot_config) as store:
        assert [job.state for job in await store.unfinished()] == ["running"]  # left to recovery

    held.set()
    async with running_bot(emu, fake_comfyui, bot_config) as bot:  # the next start
        await emu.wait_for_message(lambda m: m.id == left.original_message.id and m.attachments, timeout=30)
        while await bot.jobs.store.unfinished():
            await asyncio.sleep(0.05)
    assert len(uploads(emu, left.original_message.id)) == 1
    assert len(uploads(emu, delivering.original_message.id)) == 1
    log_text = (tmp_path / "bot.log").read_text()
    assert "SIGTERM" in log_text and "Traceback" not in log_text
