"""One progress message per job: phase, bar, step x/y, elapsed, ETA, queue position and a
live preview, edited no more often than ``progress.edit_interval``."""

from __future__ import annotations

import asyncio
import re

from tests.bot.support import assert_settled, wait_result

STEP = re.compile(r"Step (\d+)/(\d+)")


def edits_of(emu, message_id: str) -> list:
    """Webhook edits of one message, in the order the bot sent them."""
    return [r for r in emu.requests if r.method == "PATCH" and r.path.endswith(f"/messages/{message_id}")]


async def test_one_throttled_message_shows_every_progress_detail(discord_emulator, fake_comfyui, start_bot):
    emu = discord_emulator
    fake_comfyui.preview_frames = True
    fake_comfyui.simulate("SamplerCustomAdvanced", steps=60, step_delay=0.01)
    interval = 0.15
    async with start_bot(**{"progress.edit_interval": interval}) as bot:
        loop = asyncio.get_running_loop()
        started = loop.time()
        first = await emu.invoke("generate", {"prompt": "running"})
        second = await emu.invoke("generate", {"prompt": "waiting"})
        await wait_result(emu, first)
        took = loop.time() - started
        await wait_result(emu, second)

        queued_text = second.response["data"]["embeds"][0]["description"]
        assert "Queued" in queued_text and "Position in queue: **1**" in queued_text

        edits = edits_of(emu, first.original_message.id)
        progress, final = edits[:-1], edits[-1]
        assert final.json["embeds"][0]["fields"], "the last edit is the result"
        texts = [r.json["embeds"][0]["description"] for r in progress]
        steps = [int(m[1]) for t in texts for m in [STEP.search(t)] if m]
        assert steps and steps == sorted(steps) and all(f"/{60}" in t for t in texts if STEP.search(t))
        assert any("█" in t and "░" in t and "%" in t for t in texts), texts
        assert any("Elapsed" in t and "ETA" in t for t in texts), texts
        assert any(t.startswith("**") for t in texts), "the phase is shown in bold first"
        previews = [r for r in progress if any(f.filename == "preview.jpg" for f in r.files)]
        assert previews and previews[-1].json["embeds"][0]["image"]["url"] == "attachment://preview.jpg"

        # 60 steps each with a preview frame, yet edits at most once per interval
        assert len(progress) <= took / interval + 2, (len(progress), took)
        job_messages = [m for m in emu.channel_messages() if m.interaction_id == first.id]
        assert len(job_messages) == 1, "progress and result share one message"
        await assert_settled(emu, bot)
