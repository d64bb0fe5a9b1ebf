"""An unexpected exception reaches the user as a short message with an error id, never as
the raw exception or an internal URL; the traceback goes to the log under that id."""

from __future__ import annotations

import logging
import re

from discomfy.testing.bot_harness import build_config, running_bot
from discomfy.core.jobs.job import JobState
from tests.bot.support import answer_text, assert_settled, embed_text, final_state, job_id_of, wait_outcome, wait_result
from tests.conftest import REPO_ROOT, write_plugin

SECRET = "http://10.0.0.7:8188/internal/admin"
BROKEN_PLUGIN = f'''
    from discord.ext import commands

    from discomfy import hookimpl


    class Broken(commands.Cog, name="broken"):
        @hookimpl
        def discomfy_prepare_parameters(self, workflow, parameters, user_id):
            if "boom" in parameters.get("prompt", "") or parameters.get("seed") in (-1, None):
                raise RuntimeError("database password rejected at {SECRET}")


    async def setup(bot):
        await bot.add_cog(Broken())
'''


async def test_an_exception_in_a_plugin_hook_becomes_an_error_id(discord_emulator, fake_comfyui, project, caplog):
    emu = discord_emulator
    write_plugin(project, "broken", BROKEN_PLUGIN)
    config = build_config(project, emulator=emu, comfyui_url=fake_comfyui.url,
                          plugin_dirs=[REPO_ROOT / "plugins", project / "plugins"],
                          workflow_dirs=[REPO_ROOT / "workflows"])
    async with running_bot(emu, fake_comfyui, config) as bot:
        with caplog.at_level(logging.ERROR, logger="discomfy.errors"):
            inter = await emu.invoke("generate", {"prompt": "boom"})
            text = await answer_text(emu, inter)
        match = re.search(r"error id `([0-9a-f]+)`", text)
        assert match, text
        assert "RuntimeError" not in text and "password" not in text and "10.0.0.7" not in text
        logged = [r for r in caplog.records if match[1] in r.getMessage()]
        assert logged and logged[0].exc_info and "password" in str(logged[0].exc_info[1])

        # the same path for a button: the hook also breaks on random seeds, which reroll asks for
        fine = await wait_result(emu, await emu.invoke("generate", {"prompt": "calm", "seed": 5}))
        reroll = await emu.click(fine, next(c for c in fine.custom_ids if ":reroll:" in c))
        again = await answer_text(emu, reroll)
        assert re.search(r"error id `[0-9a-f]+`", again) and "10.0.0.7" not in again
        await assert_settled(emu, bot)



FINISH_HOOK_PLUGIN = '''
    from discord.ext import commands

    from discomfy import hookimpl


    class Observer(commands.Cog, name="observer"):
        @hookimpl
        def discomfy_job_finished(self, job):
            raise RuntimeError("observer crashed")


    async def setup(bot):
        await bot.add_cog(Observer())
'''


async def test_a_crashing_observer_plugin_does_not_spoil_delivered_results(discord_emulator, fake_comfyui, project):
    emu = discord_emulator
    write_plugin(project, "observer", FINISH_HOOK_PLUGIN)
    config = build_config(project, emulator=emu, comfyui_url=fake_comfyui.url,
                          plugin_dirs=[REPO_ROOT / "plugins", project / "plugins"],
                          workflow_dirs=[REPO_ROOT / "workflows"])
    async with running_bot(emu, fake_comfyui, config) as bot:
        first = await wait_result(emu, await emu.invoke("generate", {"prompt": "one"}))
        fake_comfyui.fail_at("SamplerCustomAdvanced", "out of memory")
        failed = await emu.invoke("generate", {"prompt": "two"})
        text = embed_text(await wait_outcome(emu, failed))
        assert "out of memory" in text and "observer" not in text
        await assert_settled(emu, bot)  # the crashing hook left no job task behind
        assert await final_state(bot, job_id_of(first)) == JobState.DELIVERED
