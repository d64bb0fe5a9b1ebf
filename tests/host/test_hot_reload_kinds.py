"""discomfy run --dev, for every kind of plugin and every file it has (issue 16).

Three kinds: a code plugin shipping its own workflow (plugins/generate's files with a module of
its own), a data pack joining /generate as a model, a data pack with a command of its own. Each edit must reach the
development guild in the next sync, keep every other command there, and the command must run.
A broken edit keeps the last good version serving; pack folders come and go with their commands.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from discomfy.testing.bot_harness import build_config, install_models, running_bot

from tests.bot.support import embed_text, wait_result
from tests.conftest import REPO_ROOT, command_plugin_source, workflow_plugin_source, write_plugin


@dataclass
class Kind:
    folder: Path  # the plugin's folder, where the edits happen
    command: str
    options: dict[str, Any]  # a valid invocation
    plugin_dirs: list[Path]
    workflow_dirs: list[Path]

    @property
    def name(self) -> str:
        return self.folder.name


def make_kind(project: Path, kind: str) -> Kind:
    invocation = {"prompt": "after the edit", "seed": 5}
    if kind == "code":
        folder = project / "plugins" / "generate"
        shutil.copytree(REPO_ROOT / "plugins" / "generate", folder, ignore=shutil.ignore_patterns("__pycache__"))
        write_plugin(project, "generate", workflow_plugin_source("generate"))
        return Kind(folder, "generate", invocation, [project / "plugins"], [project / "workflows"])
    folder = project / "workflows" / ("sdxl" if kind == "joining" else "anime")
    shutil.copytree(REPO_ROOT / "workflows" / "sdxl", folder)
    if kind == "joining":
        return Kind(folder, "generate", {**invocation, "model": "sdxl"}, [REPO_ROOT / "plugins"], [project / "workflows"])
    rewrite(folder / "manifest.toml", ('name = "generate-sdxl"', 'name = "anime"'), ('command = "generate"', 'command = "anime"'),
            ('description = "Create an image from a text prompt"', 'description = "Anime pictures from a prompt"'))
    return Kind(folder, "anime", invocation, [REPO_ROOT / "plugins"], [project / "workflows"])


def rewrite(path: Path, *replacements: tuple[str, str]) -> None:
    text = path.read_text()
    for old, new in replacements:
        assert old in text, f"{old!r} not in {path}"
        text = text.replace(old, new)
    path.write_text(text)


def synced_commands(emu: Any) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in emu.commands}


def option(emu: Any, command: str, name: str) -> dict[str, Any]:
    return next(o for o in emu.command(command)["options"] if o["name"] == name)


def puts(emu: Any) -> int:
    return len([r for r in emu.requests if r.method == "PUT"])


async def next_reload(bot: Any) -> Any:
    return await asyncio.wait_for(bot.plugins.reloader.results.get(), timeout=15)


# (kind, file) -> (edit to make, what the development guild must show afterwards, or None when
# the edit does not change the command tree and must not cost a sync)
NEW = "Freshly reloaded text"
SDXL_ONLY = " — sdxl only"  # what a /generate option only the sdxl model takes adds to its description
PROMPT = ('"description": "What to draw, in plain words"', f'"description": "{NEW}"')
NEGATIVE = ('"description": "What to keep out of the image"', f'"description": "{NEW}"')
EDITS: dict[tuple[str, str], tuple[str, tuple[str, str], Any]] = {
    ("code", "module"): ("__init__.py", ('command_name = "generate"', f'command_name = "generate"\n    command_description = "{NEW}"'),
                         lambda emu: emu.command("generate")["description"]),
    ("code", "manifest"): ("manifest.toml", ('description = "Create an image from a text prompt"', f'description = "{NEW}"'),
                           lambda emu: emu.command("generate")["description"]),
    ("code", "schema"): ("params.schema.json", PROMPT, lambda emu: option(emu, "generate", "prompt")["description"]),
    ("code", "template"): ("workflow.json", ('"discomfy/generate"', f'"{NEW}"'), None),
    ("joining", "manifest"): ("manifest.toml", ('model = "sdxl"', f'model = "{NEW}"'),
                              lambda emu: [c["value"] for c in option(emu, "generate", "model")["choices"]][-1]),
    # on /generate only sdxl takes a negative prompt, and the option says so
    ("joining", "schema"): ("params.schema.json", NEGATIVE,
                            lambda emu: option(emu, "generate", "negative_prompt")["description"].removesuffix(SDXL_ONLY)),
    ("joining", "template"): ("workflow.json", ('"discomfy/sdxl"', f'"{NEW}"'), None),
    ("own", "manifest"): ("manifest.toml", ('description = "Anime pictures from a prompt"', f'description = "{NEW}"'),
                          lambda emu: emu.command("anime")["description"]),
    ("own", "schema"): ("params.schema.json", NEGATIVE, lambda emu: option(emu, "anime", "negative_prompt")["description"]),
    ("own", "template"): ("workflow.json", ('"discomfy/sdxl"', f'"{NEW}"'), None),
}


@pytest.mark.parametrize(("kind_name", "file_kind"), sorted(EDITS))
async def test_every_edit_of_every_plugin_kind_reaches_the_guild_and_runs(project, discord_emulator, fake_comfyui, kind_name, file_kind):
    emu = discord_emulator
    kind = make_kind(project, kind_name)
    file_name, replacement, shown = EDITS[kind_name, file_kind]
    config = build_config(project, emulator=emu, comfyui_url=fake_comfyui.url, plugin_dirs=kind.plugin_dirs,
                          workflow_dirs=kind.workflow_dirs)
    async with running_bot(emu, fake_comfyui, config, dev=True) as bot:
        await asyncio.wait_for(bot.plugins.reloader.watching.wait(), timeout=10)
        before, syncs = synced_commands(emu), puts(emu)
        assert kind.command in before

        rewrite(kind.folder / file_name, replacement)
        result = await next_reload(bot)
        assert result.failed == {} and result.reloaded == [kind.name]
        after = synced_commands(emu)
        assert set(after) == set(before)  # every other command is still there
        if shown is None:  # the template is not part of the command: no sync spent on it
            assert not result.synced and puts(emu) == syncs
        else:
            assert result.synced and puts(emu) == syncs + 1
            assert shown(emu) == NEW
        options = {**kind.options, "model": NEW} if (kind_name, file_kind) == ("joining", "manifest") else kind.options
        await wait_result(emu, await emu.invoke(kind.command, options))
        if file_kind == "template":
            (last,) = list(fake_comfyui.worker.history.values())[-1:]
            graph = last["prompt"][2]
            assert NEW in [n["inputs"].get("filename_prefix") for n in graph.values()]
    assert not emu.violations and not emu.unhandled


@pytest.mark.parametrize("kind_name", ["code", "joining", "own"])
async def test_broken_schema_keeps_the_last_good_version_until_it_is_fixed(project, discord_emulator, fake_comfyui, kind_name, caplog):
    emu = discord_emulator
    owner = emu.make_user("owner")
    kind = make_kind(project, kind_name)
    config = build_config(project, emulator=emu, comfyui_url=fake_comfyui.url, plugin_dirs=kind.plugin_dirs,
                          workflow_dirs=kind.workflow_dirs, settings={"discord.owner_ids": [int(owner.id)]})
    schema = kind.folder / "params.schema.json"
    good = schema.read_text()
    async with running_bot(emu, fake_comfyui, config, dev=True) as bot:
        await asyncio.wait_for(bot.plugins.reloader.watching.wait(), timeout=10)
        before, syncs = synced_commands(emu), puts(emu)

        schema.write_text(good[: len(good) // 2])  # a save in the middle of an edit: invalid JSON
        result = await next_reload(bot)
        assert result.reloaded == [] and result.kept == [kind.name]
        assert "JSON" in result.failed[kind.name] or "json" in result.failed[kind.name]
        logged = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
        assert any(kind.name in line and result.failed[kind.name] in line and "last good version" in line for line in logged)
        assert not result.synced and puts(emu) == syncs and synced_commands(emu) == before
        await wait_result(emu, await emu.invoke(kind.command, kind.options))  # the last good version serves
        report = (await emu.invoke("discomfy plugins", user=owner)).response["data"]["content"]
        assert f"stale    {kind.name}" in report and "last good version keeps serving" in report

        # the fix also changes a description that kind's schema decides on the command
        name, (old, new) = ("prompt", PROMPT) if kind_name == "code" else ("negative_prompt", NEGATIVE)
        schema.write_text(good.replace(old, new))
        result = await next_reload(bot)
        assert result.failed == {} and result.reloaded == [kind.name] and result.synced
        limit = SDXL_ONLY if kind.command == "generate" and name == "negative_prompt" else ""
        assert option(emu, kind.command, name)["description"] == NEW + limit
        await wait_result(emu, await emu.invoke(kind.command, kind.options))
        report = (await emu.invoke("discomfy plugins", user=owner)).response["data"]["content"]
        assert f"loaded   {kind.name}" in report and "stale" not in report
    assert not emu.violations and not emu.unhandled


async def test_adding_and_deleting_a_pack_folder_adds_and_removes_its_command(project, discord_emulator, fake_comfyui):
    emu = discord_emulator
    config = build_config(project, emulator=emu, comfyui_url=fake_comfyui.url, plugin_dirs=[REPO_ROOT / "plugins"],
                          workflow_dirs=[project / "workflows"])
    async with running_bot(emu, fake_comfyui, config, dev=True) as bot:
        await asyncio.wait_for(bot.plugins.reloader.watching.wait(), timeout=10)
        before = synced_commands(emu)
        assert before and "anime" not in before

        staging = project / "staging"
        staging.mkdir()
        kind = make_kind(staging, "own")  # made aside, then one rename: the watcher sees a whole pack
        kind.folder.rename(project / "workflows" / "anime")
        result = await next_reload(bot)
        assert result.reloaded == ["anime"] and result.synced
        assert set(synced_commands(emu)) == set(before) | {"anime"}
        assert emu.command("anime")["description"] == "Anime pictures from a prompt"
        install_models(fake_comfyui, bot)
        message = await wait_result(emu, await emu.invoke("anime", {"prompt": "a new command", "seed": 1}))
        assert "/anime" in embed_text(message)

        shutil.rmtree(project / "workflows" / "anime")
        result = await next_reload(bot)
        assert result.removed == ["anime"] and result.synced
        assert set(synced_commands(emu)) == set(before)
        assert "anime" not in bot.plugins.report.format()
        await wait_result(emu, await emu.invoke("generate", {"prompt": "others still run", "seed": 2}))
    assert not emu.violations and not emu.unhandled


async def test_a_syntax_error_in_a_workflow_plugin_keeps_its_command_serving(project, discord_emulator, fake_comfyui):
    emu = discord_emulator
    kind = make_kind(project, "code")
    config = build_config(project, emulator=emu, comfyui_url=fake_comfyui.url, plugin_dirs=kind.plugin_dirs,
                          workflow_dirs=kind.workflow_dirs)
    module = kind.folder / "__init__.py"
    good = module.read_text()
    async with running_bot(emu, fake_comfyui, config, dev=True) as bot:
        await asyncio.wait_for(bot.plugins.reloader.watching.wait(), timeout=10)
        before = synced_commands(emu)
        module.write_text(good.replace("async def setup(bot):", "async def setup(bot:"))
        result = await next_reload(bot)
        assert "SyntaxError" in result.failed["generate"] and result.kept == ["generate"]
        assert synced_commands(emu) == before
        await wait_result(emu, await emu.invoke("generate", kind.options))

        module.write_text(good.replace('command_name = "generate"', f'command_name = "generate"\n    command_description = "{NEW}"'))
        result = await next_reload(bot)
        assert result.reloaded == ["generate"] and result.synced
        assert emu.command("generate")["description"] == NEW
        await wait_result(emu, await emu.invoke("generate", kind.options))
    assert not emu.violations and not emu.unhandled


async def test_adding_and_deleting_a_code_plugin_folder_adds_and_removes_its_command(project, discord_emulator, fake_comfyui):
    emu = discord_emulator
    config = build_config(project, emulator=emu, comfyui_url=fake_comfyui.url)
    async with running_bot(emu, fake_comfyui, config, dev=True) as bot:
        await asyncio.wait_for(bot.plugins.reloader.watching.wait(), timeout=10)
        before = synced_commands(emu)
        assert before and "hello" not in before
        staging = project / "staging"
        staging.mkdir()
        write_plugin(staging, "hello", command_plugin_source("hello", "v1"))  # -> staging/plugins/hello
        (staging / "plugins" / "hello").rename(project / "plugins" / "hello")
        result = await next_reload(bot)
        assert result.reloaded == ["hello"] and result.synced
        assert set(synced_commands(emu)) == set(before) | {"hello"}
        assert (await emu.invoke("hello")).original_message.content == "v1"

        shutil.rmtree(project / "plugins" / "hello")
        result = await next_reload(bot)
        assert result.removed == ["hello"] and result.synced
        assert set(synced_commands(emu)) == set(before)
        assert "hello" not in bot.plugins.report.format()
    assert not emu.violations and not emu.unhandled


async def test_a_plugin_folder_without_code_reloads_as_a_pack_and_goes_with_its_folder(project, discord_emulator, fake_comfyui):
    """plugins/generate has no __init__.py: under plugins.dirs it is a pack, so an edit re-registers
    it (no module to import) and deleting the folder takes /generate away with it."""
    emu = discord_emulator
    folder = project / "plugins" / "generate"
    shutil.copytree(REPO_ROOT / "plugins" / "generate", folder, ignore=shutil.ignore_patterns("__pycache__"))
    config = build_config(project, emulator=emu, comfyui_url=fake_comfyui.url, plugin_dirs=[project / "plugins"],
                          workflow_dirs=[project / "workflows"])
    async with running_bot(emu, fake_comfyui, config, dev=True) as bot:
        await asyncio.wait_for(bot.plugins.reloader.watching.wait(), timeout=10)
        assert "generate" in synced_commands(emu)

        rewrite(folder / "manifest.toml", ('description = "Create an image from a text prompt"', f'description = "{NEW}"'))
        result = await next_reload(bot)
        assert result.failed == {} and result.reloaded == ["generate"] and result.synced
        assert emu.command("generate")["description"] == NEW
        await wait_result(emu, await emu.invoke("generate", {"prompt": "after the edit", "seed": 5}))

        shutil.rmtree(folder)
        result = await next_reload(bot)
        assert result.removed == ["generate"] and result.synced
        assert "generate" not in synced_commands(emu)
        assert "generate" not in bot.plugins.report.format()
    assert not emu.violations and not emu.unhandled
