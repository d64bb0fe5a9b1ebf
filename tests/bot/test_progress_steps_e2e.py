"""The "Step x/y" line of a progress message counts the sampler's steps only (issue 20,
point 10): other nodes report progress too (a tiled VAE decode, an upscaler by tiles,
SaveImageWebsocket per image, as recorded in tests/fixtures/comfyui-traces/
progress_websocket_image.json), and a 25-step job must never read "Step 18/20"."""

from __future__ import annotations

import re

from tests.bot.support import assert_settled, wait_result

STEP = re.compile(r"Step (\d+)/(\d+)")


async def test_a_25_step_job_shows_steps_out_of_25_while_other_nodes_report_progress(
        discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    fake_comfyui.simulate("SamplerCustomAdvanced", steps=25, step_delay=0.01)
    fake_comfyui.simulate("VAEDecode", steps=20, step_delay=0.02)  # a decode that reports its tiles
    inter = await emu.invoke("generate", {"prompt": "a red fox", "steps": 25})
    message = await wait_result(emu, inter, timeout=20)
    edits = [r.json["embeds"][0]["description"] for r in emu.requests
             if r.method == "PATCH" and r.path.endswith(f"/messages/{message.id}") and r.json and r.json.get("embeds")]
    totals = {int(m[2]) for text in edits for m in [STEP.search(text)] if m}
    assert totals == {25}, f"step totals shown: {totals}"
    await assert_settled(emu, bot)


async def test_a_flux_job_counts_the_steps_its_scheduler_was_given(discord_emulator, fake_comfyui, bot):
    """FLUX's SamplerCustomAdvanced has no ``steps`` input: like ComfyUI, the fake reports one
    step per sigma of the BasicScheduler feeding it, so the playground shows "Step n/12" for a
    12-step job (it used to report a fixed 20)."""
    emu = discord_emulator
    fake_comfyui.step_delay = 0.01
    inter = await emu.invoke("generate", {"prompt": "a red fox", "steps": 12})
    message = await wait_result(emu, inter, timeout=20)
    edits = [r.json["embeds"][0]["description"] for r in emu.requests
             if r.method == "PATCH" and r.path.endswith(f"/messages/{message.id}") and r.json and r.json.get("embeds")]
    totals = {int(m[2]) for text in edits for m in [STEP.search(text)] if m}
    assert totals == {12}, f"step totals shown: {totals}"
    await assert_settled(emu, bot)
