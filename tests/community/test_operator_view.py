"""What an operator sees of the community plugin. Without the optional NSFW classifier
(``discomfy[nsfw]`` not installed) it still loads: `discomfy check` warns that the classifier is
off and what still applies, /status tells members results here are not checked, /server show
tells admins, and results are posted rather than lost. A bad ``[community]`` setting stops the
plugin with the key and the fix instead of moderating by rules it misread."""

from __future__ import annotations

import importlib.util
import logging

import pytest

from discomfy.bot.offline import load_offline
from discomfy.testing.bot_harness import build_config, running_bot

from tests.bot.support import answer_text, assert_settled, wait_result
from tests.conftest import REPO_ROOT

MANAGE_GUILD = 1 << 5


@pytest.fixture
def without_nudenet(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: None if name == "nudenet" else real(name, *rest))


@pytest.fixture
def config(tmp_path, discord_emulator, fake_comfyui):
    return build_config(tmp_path, emulator=discord_emulator, comfyui_url=fake_comfyui.url,
                        plugin_dirs=[REPO_ROOT / "plugins"], workflow_dirs=[REPO_ROOT / "workflows"],
                        settings={"community.nsfw_policy": "nsfw_channels"})


async def test_check_warns_and_names_the_install_command(without_nudenet, config, caplog):
    with caplog.at_level(logging.WARNING):
        bot = await load_offline(config)
        await bot.close()
    assert "community" in bot.plugins.report.names("loaded")
    warning = next(r.getMessage() for r in caplog.records if "NSFW classifier is off" in r.getMessage())
    assert "pip install 'discomfy[nsfw]'" in warning and "word lists" in warning and "quotas" in warning


async def test_status_and_server_show_say_results_are_not_checked_and_results_still_arrive(
        without_nudenet, discord_emulator, fake_comfyui, config):
    emu = discord_emulator
    admin = emu.make_user("admin", roles=[emu.add_role("Admin", permissions=MANAGE_GUILD)])
    async with running_bot(emu, fake_comfyui, config) as bot:
        status = await answer_text(emu, await emu.invoke("status", {}))
        assert "the automatic image checker is off on this bot, so results are not checked" in status
        shown = await answer_text(emu, await emu.invoke("server show", {}, user=admin))
        assert "the NSFW classifier is off (NudeNet is not installed: pip install 'discomfy[nsfw]')" in shown
        await wait_result(emu, await emu.invoke("generate", {"prompt": "a lighthouse"}), timeout=15)
        await assert_settled(emu, bot)


async def test_a_bad_operator_setting_stops_the_plugin_with_the_key_and_the_fix(config):
    from discomfy.config import override

    override(config, "community.refuse", ["nsfw", "***"])
    override(config, "community.nsfw_policy", "sometimes")
    bot = await load_offline(config)
    await bot.close()
    (failed,) = [e for e in bot.plugins.report.failed if e.name == "community"]
    assert "[community] refuse: '***' cannot be used" in failed.reason
    assert "[community] nsfw_policy = 'sometimes': use one of off, nsfw_channels, everywhere" in failed.reason
