"""Data packs: a folder of JSON and TOML becomes a model or a command, with no code."""

from __future__ import annotations

import json
import shutil

from discomfy.bot.client import ComfyUIBot
from discomfy.config import get_config, override

from tests.conftest import REPO_ROOT


def copy_pack(project, folder: str, **manifest_changes: str):
    name = folder
    target = project / "workflows" / folder
    shutil.copytree(REPO_ROOT / "workflows" / "sdxl", target)
    manifest = (target / "manifest.toml").read_text()
    for key, value in {"name": f"generate-{name}", "model": name, **manifest_changes}.items():
        lines = [f'{key} = "{value}"' if line.startswith(f"{key} =") else line for line in manifest.splitlines()]
        manifest = "\n".join(lines) + "\n"
    (target / "manifest.toml").write_text(manifest)
    return target


async def load(project, with_repo_plugins: bool = True) -> ComfyUIBot:
    config = get_config(project)
    if with_repo_plugins:
        override(config, "plugins.dirs", [str(REPO_ROOT / "plugins")])
    bot = ComfyUIBot(config)
    await bot.plugins.load()
    return bot


def options_of(bot, command: str) -> dict:
    (cmd,) = [c for c in bot.tree.get_commands() if c.name == command]
    return {o["name"]: o for o in cmd.to_dict(bot.tree)["options"]}


async def test_a_pack_joining_generate_appears_as_a_new_model_choice(project):
    copy_pack(project, "juggernaut")
    bot = await load(project)
    model = options_of(bot, "generate")["model"]
    assert [c["value"] for c in model["choices"]] == ["flux", "juggernaut"]
    assert "juggernaut" in bot.plugins.report.names("loaded")


async def test_the_pack_named_like_its_command_gives_the_default_model(project):
    """plugins/generate is a manifest, a schema and a workflow: it loads as a pack (plugins/upscale,
    with code beside its manifest, as code), owns the host-made /generate, and its model stays the
    first choice (the default) even beside a pack whose workflow sorts before it."""
    copy_pack(project, "aurora")  # workflow generate-aurora: before generate-flux by name
    bot = await load(project)
    assert [c["value"] for c in options_of(bot, "generate")["model"]["choices"]] == ["flux", "aurora"]
    assert bot.plugins.command_owners["generate"] == "generate"
    kinds = {e.name: (e.kind, e.state) for e in bot.plugins.report.entries}
    assert kinds["generate"] == kinds["editflux"] == kinds["editqwen"] == ("pack", "loaded")
    assert kinds["upscale"] == ("builtin", "loaded")


async def test_a_pack_with_a_new_command_gets_its_own_slash_command(project):
    copy_pack(project, "anime", command="anime", description="Anime pictures from a prompt")
    bot = await load(project)
    options = options_of(bot, "anime")
    assert options["prompt"]["required"] is True
    assert "negative_prompt" in options and "model" not in options
    assert bot.plugins.command_owners["anime"] == "anime"


async def test_a_broken_pack_is_reported_with_file_node_and_input_and_others_still_load(project):
    broken = copy_pack(project, "broken")
    manifest = (broken / "manifest.toml").read_text().replace('steps = "5.steps"', 'steps = "99.steps"')
    (broken / "manifest.toml").write_text(manifest)
    ui_export = copy_pack(project, "uiexport")
    (ui_export / "workflow.json").write_text(json.dumps({"nodes": [], "links": [], "version": 0.4}))
    copy_pack(project, "fine")

    bot = await load(project)
    failed = {e.name: e.reason for e in bot.plugins.report.failed}
    assert set(failed) == {"broken", "uiexport"}
    assert failed["broken"].startswith("broken: workflow.json node 99 input `steps`")
    assert "Save (API)" in failed["uiexport"]
    models = [c["value"] for c in options_of(bot, "generate")["model"]["choices"]]
    assert models == ["fine", "flux"] or models == ["flux", "fine"]


async def test_duplicate_workflow_names_fail_naming_both_owners(project):
    copy_pack(project, "twin", name="generate-sdxl")
    copy_pack(project, "zwin", name="generate-sdxl")
    bot = await load(project)
    (failed,) = bot.plugins.report.failed
    assert failed.name == "zwin"
    assert "'twin'" in failed.reason and "'zwin'" in failed.reason


def test_discomfy_check_names_each_broken_pack_and_keeps_the_good_one(project, capsys):
    from discomfy.cli import main

    (project / "plugins").rmdir()
    missing_target = copy_pack(project, "missing")
    manifest = (missing_target / "manifest.toml").read_text().replace('cfg = "5.cfg"', 'cfg = "5.cfg_scale"')
    (missing_target / "manifest.toml").write_text(manifest)
    bad_schema = copy_pack(project, "badschema")
    (bad_schema / "params.schema.json").write_text('{"type": "objekt", "properties": {"prompt": {"type": "string"}}}')
    ui_export = copy_pack(project, "uiexport")
    (ui_export / "workflow.json").write_text(json.dumps({"nodes": [{"id": 1}], "links": [], "version": 0.4}))
    copy_pack(project, "good", command="good")

    assert main(["--root", str(project), "check"]) == 1
    out = capsys.readouterr().out
    assert "failed   missing" in out and "node 5 input `cfg_scale`" in out
    assert "failed   badschema" in out and "params.schema.json" in out
    assert "failed   uiexport" in out and "Save (API)" in out
    assert "loaded   good" in out
