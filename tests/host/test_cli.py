"""The discomfy command: check, commands and help output, as an owner would run them."""

from __future__ import annotations

import json
import shutil

import pytest

from discomfy.cli import build_parser, main

from tests.conftest import REPO_ROOT, command_plugin_source, write_plugin


def test_check_passes_on_the_repository(capsys):
    assert main(["--root", str(REPO_ROOT), "check"]) == 0
    out = capsys.readouterr().out
    assert "failed" not in out.split("\n", 1)[0]
    assert "Everything loaded." in out


def test_check_fails_naming_the_plugin_whose_setup_raises_and_lists_the_others(tmp_path, capsys):
    copy = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "plugins", copy / "plugins", ignore=shutil.ignore_patterns("__pycache__"))
    if (REPO_ROOT / "workflows").is_dir():
        shutil.copytree(REPO_ROOT / "workflows", copy / "workflows", ignore=shutil.ignore_patterns("__pycache__"))
    write_plugin(copy, "exploding", "async def setup(bot):\n    raise ValueError('no GPU in this plugin')\n")
    write_plugin(copy, "fine", command_plugin_source("fine"))

    assert main(["--root", str(copy), "check"]) == 1
    captured = capsys.readouterr()
    assert "failed   exploding" in captured.out
    assert "ValueError: no GPU in this plugin" in captured.out
    assert "loaded   fine" in captured.out
    assert "1 plugin(s) failed to load" in captured.err


def test_commands_prints_the_tree_that_would_be_synced(project, capsys):
    write_plugin(project, "fine", command_plugin_source("fine"))
    assert main(["--root", str(project), "commands"]) == 0
    payload = json.loads(capsys.readouterr().out)
    names = {c["name"]: c for c in payload}
    assert {"fine", "help"} <= set(names)
    assert names["fine"]["description"] == "says hi"


def test_run_without_token_says_what_is_missing(project, capsys, monkeypatch):
    monkeypatch.delenv("DISCOMFY_DISCORD__TOKEN", raising=False)
    assert main(["--root", str(project), "run"]) == 1
    assert "discord.token is missing" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [[], ["run"], ["check"], ["commands"], ["render"], ["new-pack"], ["new-plugin"]])
def test_every_subcommand_explains_itself(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([*argv, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "usage: discomfy" in out
    assert len(out.splitlines()) > 3
