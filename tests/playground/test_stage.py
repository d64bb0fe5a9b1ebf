"""``discomfy play`` wired in-process: which ComfyUI it uses, what it tells the page, what it leaves."""

from __future__ import annotations

import json

import aiohttp
import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from discomfy.config import get_config, override
from discomfy.playground.actions import ActionRefused
from discomfy.playground.stage import Playground, is_loopback
from discomfy.testing.playground import free_port
from tests.conftest import REPO_ROOT


@pytest.fixture
def config(tmp_path):
    config = get_config(tmp_path)
    override(config, "plugins.dirs", [str(REPO_ROOT / "plugins")])
    override(config, "plugins.workflow_dirs", [str(REPO_ROOT / "workflows")])
    return config


@pytest.fixture
async def started():
    """``await started(config)`` -> a started in-process Playground, stopped afterwards."""
    saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    running = []

    async def start(config):
        playground = Playground(config, port=free_port())
        running.append(playground)
        await playground.start()
        return playground

    yield start
    for playground in running:
        await playground.stop()
    Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved


async def test_a_configured_comfyui_that_answers_is_used_and_no_banner_is_shown(config, started, fake_comfyui):
    fake_comfyui.loras = ["only_on_the_configured_server.safetensors"]
    override(config, "comfyui.url", fake_comfyui.url)
    playground = await started(config)
    assert playground.comfyui.fake is None
    state = playground.page.state()
    assert state["banner"] is None and state["comfyui"] == [fake_comfyui.url]
    inter = await playground.emu.invoke("loras")
    answer = await playground.emu.wait_for_message(
        lambda m: m.id == inter.original_message.id and not m.loading)
    assert "only_on_the_configured_server" in json.dumps(answer.embeds) + answer.content


async def test_without_an_answering_comfyui_the_fake_runs_jobs_and_the_page_says_so(config, started):
    dead = f"http://127.0.0.1:{free_port()}"
    override(config, "comfyui.url", dead)
    playground = await started(config)
    assert playground.comfyui.fake is not None
    banner = playground.page.state()["banner"]
    assert dead in banner and "placeholders" in banner and "comfyui.url" in banner
    inter = await playground.emu.invoke("generate", {"prompt": "a cat", "model": "sdxl"})
    result = await playground.emu.wait_for_message(
        lambda m: m.id == inter.original_message.id and any(c.startswith("discomfy:reroll:") for c in m.custom_ids),
        timeout=30)
    assert result.attachments[0].data[:8] == b"\x89PNG\r\n\x1a\n"


async def test_the_page_is_served_where_asked_and_the_job_store_is_thrown_away(config, started):
    override(config, "comfyui.url", f"http://127.0.0.1:{free_port()}")
    playground = await started(config)
    store = playground.store_dir
    assert str(config.jobs.store_path).startswith(str(store)) and store.exists()
    async with aiohttp.ClientSession() as session:
        async with session.get(playground.url) as response:
            assert response.status == 200 and "DisComfy playground" in await response.text()
        async with session.get(playground.url + "/api/commands") as response:
            names = [c["name"] for c in await response.json()]
    assert {"generate", "editqwen", "editflux", "loras", "discomfy reload"} <= set(names)
    await playground.stop()
    assert not store.exists()


async def test_option_text_is_typed_against_the_synced_schema_with_plain_refusals(config, started):
    override(config, "comfyui.url", f"http://127.0.0.1:{free_port()}")
    actions = (await started(config)).page.actions
    assert actions.typed_options("generate", {"steps": "30", "guidance": "4", "prompt": " x "}) == \
        {"steps": 30, "guidance": 4.0, "prompt": "x"}
    refusals = {
        "steps needs a whole number, e.g. steps:20": ("generate", {"steps": "lots"}),
        "guidance needs a number": ("generate", {"guidance": "high"}),
        "/generate has no option 'colour'": ("generate", {"colour": "red"}),
        "image takes a file": ("editflux", {"image": "photo.png"}),
        "/nope is not a command of this bot": ("nope", {}),
    }
    for expected, (command, options) in refusals.items():
        with pytest.raises(ActionRefused, match=expected):
            actions.typed_options(command, options)


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                                ("0.0.0.0", False), ("192.168.1.20", False), ("example.org", False)])
def test_only_loopback_addresses_count_as_local(host, loopback):
    assert is_loopback(host) is loopback


async def test_when_the_bot_stops_the_playground_stops_and_says_so(config, started, capsys):
    import asyncio

    override(config, "comfyui.url", f"http://127.0.0.1:{free_port()}")
    playground = await started(config)
    playground.bot_task.cancel()
    assert await asyncio.wait_for(playground.wait_closed(asyncio.Event()), 10) == 1
    # run_bot ends a cancelled bot cleanly (status 0); the playground still stops, saying so
    assert "The bot stopped (exit status 0); its log above says why" in capsys.readouterr().err
