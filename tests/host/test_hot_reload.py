"""discomfy run --dev: editing a plugin file changes the command without a restart."""

from __future__ import annotations

import asyncio
import json
import os

from discomfy.testing.bot_harness import build_config, running_bot

from tests.conftest import command_plugin_source, write_plugin
from tests.faults.audit import until


async def next_reload(bot):
    return await asyncio.wait_for(bot.plugins.reloader.results.get(), timeout=15)


async def test_edit_reloads_the_plugin_and_a_syntax_error_keeps_the_old_version(project, discord_emulator, fake_comfyui):
    source = write_plugin(project, "hello", command_plugin_source("hello", "v1"))
    config = build_config(project, emulator=discord_emulator, comfyui_url=fake_comfyui.url)
    async with running_bot(discord_emulator, fake_comfyui, config, dev=True) as bot:
        first = await discord_emulator.invoke("hello")
        assert first.original_message.content == "v1"
        await asyncio.wait_for(bot.plugins.reloader.watching.wait(), timeout=10)
        # the start's own sync first: run late on a loaded machine, it synced v2 between the
        # reload's import and the reload's sync, which then found nothing left to sync
        syncer = bot.plugins.syncer
        await until(lambda: syncer.synced.get(syncer.dev_guild.id) is not None, timeout=60, what="the start's sync")
        syncs = len([r for r in discord_emulator.requests if r.method == "PUT"])

        # same size, same modification second: Python's cached v1 module would look current
        before = source.stat()
        source.write_text(source.read_text().replace("v1", "v2"))
        os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
        result = await next_reload(bot)
        assert result.reloaded == ["hello"] and result.synced  # description changed: guild re-synced
        assert (await discord_emulator.invoke("hello")).original_message.content == "v2"
        assert len([r for r in discord_emulator.requests if r.method == "PUT"]) == syncs + 1

        source.write_text(source.read_text().replace("async def setup(bot):", "async def setup(bot:"))
        result = await next_reload(bot)
        assert result.reloaded == [] and "SyntaxError" in result.failed["hello"]
        assert (await discord_emulator.invoke("hello")).original_message.content == "v2"
    assert not discord_emulator.violations and not discord_emulator.unhandled


async def test_a_new_data_pack_becomes_a_model_choice_without_a_restart(project, discord_emulator, fake_comfyui):
    import shutil

    from tests.conftest import REPO_ROOT

    config = build_config(project, emulator=discord_emulator, comfyui_url=fake_comfyui.url,
                          plugin_dirs=[REPO_ROOT / "plugins"], workflow_dirs=[project / "workflows"])
    async with running_bot(discord_emulator, fake_comfyui, config, dev=True) as bot:
        assert "model" not in {o["name"] for o in discord_emulator.command("generate")["options"]}
        await asyncio.wait_for(bot.plugins.reloader.watching.wait(), timeout=10)

        staged = project / "staging" / "sdxl"  # then one rename: the watcher sees a whole pack
        shutil.copytree(REPO_ROOT / "workflows" / "sdxl", staged)
        staged.rename(project / "workflows" / "sdxl")
        result = await next_reload(bot)
        assert "sdxl" in result.reloaded and result.synced
        model = next(o for o in discord_emulator.command("generate")["options"] if o["name"] == "model")
        assert [c["value"] for c in model["choices"]] == ["flux", "sdxl"]
    assert not discord_emulator.violations and not discord_emulator.unhandled


async def test_a_broken_pack_under_dev_is_reported_and_the_command_keeps_working(project, discord_emulator, fake_comfyui):
    import shutil

    from tests.conftest import REPO_ROOT

    config = build_config(project, emulator=discord_emulator, comfyui_url=fake_comfyui.url,
                          plugin_dirs=[REPO_ROOT / "plugins"], workflow_dirs=[project / "workflows"])
    async with running_bot(discord_emulator, fake_comfyui, config, dev=True) as bot:
        await asyncio.wait_for(bot.plugins.reloader.watching.wait(), timeout=10)
        staged = project / "staging" / "broken"
        shutil.copytree(REPO_ROOT / "workflows" / "sdxl", staged)
        (staged / "workflow.json").write_text('{"nodes": [], "links": []}')
        staged.rename(project / "workflows" / "broken")
        result = await next_reload(bot)
        assert "Save (API)" in result.failed["broken"]
        assert "model" not in {o["name"] for o in discord_emulator.command("generate")["options"]}
        done = await discord_emulator.invoke("generate", {"prompt": "still fine", "seed": 2})
        assert done.response["type"] == 4
    assert not discord_emulator.violations and not discord_emulator.unhandled


async def test_editing_a_packs_schema_updates_the_command(project, discord_emulator, fake_comfyui):
    import shutil

    from tests.conftest import REPO_ROOT

    shutil.copytree(REPO_ROOT / "workflows" / "sdxl", project / "workflows" / "sdxl")
    config = build_config(project, emulator=discord_emulator, comfyui_url=fake_comfyui.url,
                          plugin_dirs=[REPO_ROOT / "plugins"], workflow_dirs=[project / "workflows"])
    async with running_bot(discord_emulator, fake_comfyui, config, dev=True) as bot:
        await asyncio.wait_for(bot.plugins.reloader.watching.wait(), timeout=10)
        schema = project / "workflows" / "sdxl" / "params.schema.json"
        text = schema.read_text()
        old = json.loads(text)["properties"]["negative_prompt"]["description"]
        schema.write_text(text.replace(old, "What to keep out of the picture"))
        result = await next_reload(bot)
        assert result.reloaded == ["sdxl"] and result.synced
        option = next(o for o in discord_emulator.command("generate")["options"] if o["name"] == "negative_prompt")
        assert option["description"] == "What to keep out of the picture — sdxl only"  # flux takes none
    assert not discord_emulator.violations and not discord_emulator.unhandled
