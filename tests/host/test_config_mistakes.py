"""Mistakes a bot owner makes in settings.toml, .secrets.toml and DISCOMFY_* variables, and what
``discomfy`` says about them: the file, line and column of a TOML error (no traceback), every
name nothing reads with the nearest known one, and the source of a bad value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import discomfy.cli
from discomfy.cli import main
from discomfy.config import get_config, validate_config

from tests.conftest import command_plugin_source, write_plugin

DISCOMFY = str(Path(sys.executable).with_name("discomfy"))


def run_discomfy(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``discomfy ARGS`` started in ``cwd`` as an owner would, with only the given DISCOMFY_* variables."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DISCOMFY_")}
    return subprocess.run([DISCOMFY, *args], cwd=cwd, env={**environ, **env}, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def no_discomfy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("DISCOMFY_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Stand-ins for the bot and the playground: the commands that got as far as starting."""
    calls: list[str] = []

    async def run_bot(config, *, dev):  # noqa: ANN001, ANN202
        calls.append("run")
        return 0

    async def play(config, *, host, port, dev):  # noqa: ANN001, ANN202
        calls.append("play")
        return 0

    monkeypatch.setattr(discomfy.cli, "run_bot", run_bot)
    monkeypatch.setattr(discomfy.cli, "play", play)
    return calls


@pytest.mark.parametrize("command, file, text, expected", [
    ("check", "settings.toml", '[discord]\nallowed_roles = []\n\n[comfyui\nurl = "http://gpu:8188"\n',
     ["settings.toml line 4, column 9 is not valid TOML: Expected ']' at the end of a table declaration.",
      "   4 | [comfyui", "Close the section name on the same line: [comfyui]."]),
    ("run", ".secrets.toml", "[discord]\ntoken = abc.def.ghi\n",
     [".secrets.toml line 2, column 9 is not valid TOML: Invalid value.", "   2 | token = abc.def.ghi",
      'Text goes in double quotes: token = "abc.def.ghi"']),
    ("play", "settings.toml", '[limits]\nper_user = 3\nper_user = 4\n',
     ["settings.toml line 3, column 13 is not valid TOML: Cannot overwrite a value.", "A key appears twice"]),
])
def test_a_file_that_is_not_toml_is_named_with_line_column_and_fix_without_a_traceback(
        project: Path, command: str, file: str, text: str, expected: list[str]) -> None:
    (project / file).write_text(text)
    result = run_discomfy(project, command)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    for line in expected:
        assert line in result.stderr, result.stderr
    assert result.stdout == ""  # stopped before starting anything


def test_check_names_every_misspelt_key_section_and_variable_with_the_nearest_known_name(
        project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        no_discomfy_variables: None) -> None:
    (project / "settings.toml").write_text(
        '[limits]\nper_usr = 2\nglobal_limit = 50\n[comfyui]\nmax_runing_per_server = 2\n'
        '[colour]\naccent = "blue"\n[community]\nstrikes = 2\n')
    monkeypatch.setenv("DISCOMFY_COMFYUI__ULR", "http://gpu:8188")
    monkeypatch.setenv("DISCOMFY_LIMITS__WINDOW_SECONDS", "30")
    assert main(["--root", str(project), "check"]) == 1
    result = capsys.readouterr()
    for line in (
        "settings.toml sets limits.per_usr, which nothing reads, so it is ignored; did you mean limits.per_user?",
        "settings.toml sets comfyui.max_runing_per_server, which nothing reads, so it is ignored; "
        "did you mean comfyui.max_running_per_server?",
        "settings.toml has a section [colour] that nothing reads, so it is ignored; rename or remove it; "
        "the sections are comfyui, community, discord,",
        "the environment variable DISCOMFY_COMFYUI__ULR sets comfyui.ulr, which nothing reads, so it is ignored; "
        "did you mean DISCOMFY_COMFYUI__URL?",
    ):
        assert line in result.out, result.out
    assert "global_limit" not in result.out and "strikes" not in result.out  # known keys
    assert "WINDOW_SECONDS" not in result.out
    assert "4 unknown setting(s)" in result.err
    assert "Everything loaded." not in result.out


@pytest.mark.parametrize("command", ["run", "play"])
def test_run_and_play_print_misspelt_names_at_start_and_keep_going(
        project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        no_discomfy_variables: None, started: list[str], command: str) -> None:
    (project / "settings.toml").write_text('[discord]\ntoken = "a.b.c"\n[limits]\nper_usr = 2\n')
    monkeypatch.setenv("DISCOMFY_TOKEN", "x.y.z")
    assert main(["--root", str(project), command]) == 0
    assert started == [command]
    err = capsys.readouterr().err
    assert "Warning: settings.toml sets limits.per_usr, which nothing reads, so it is ignored; " \
           "did you mean limits.per_user?" in err
    assert "Warning: the environment variable DISCOMFY_TOKEN sets token, which nothing reads, so it is ignored; " \
           "did you mean DISCOMFY_DISCORD__TOKEN?" in err


def test_a_misspelt_key_is_listed_with_the_problem_it_explains(
        project: Path, capsys: pytest.CaptureFixture[str], no_discomfy_variables: None) -> None:
    (project / ".secrets.toml").write_text('[discord]\ntokn = "a.b.c"\n')
    assert main(["--root", str(project), "run"]) == 1
    err = capsys.readouterr().err
    assert "discord.token is missing" in err
    assert ".secrets.toml sets discord.tokn, which nothing reads, so it is ignored; did you mean discord.token?" in err


def test_a_plugin_s_own_section_is_accepted_and_a_misspelt_one_is_not(
        project: Path, capsys: pytest.CaptureFixture[str], no_discomfy_variables: None) -> None:
    write_plugin(project, "greeter", command_plugin_source("greeter"))
    (project / "settings.toml").write_text('[greeter]\ngreeting = "hi"\n[greter]\ngreeting = "ho"\n')
    assert main(["--root", str(project), "check"]) == 1
    out = capsys.readouterr().out
    assert "settings.toml has a section [greter] that nothing reads, so it is ignored; did you mean [greeter]?" in out
    assert "[greeter]" not in out.replace("did you mean [greeter]?", "")


def test_variables_that_are_not_settings_are_not_reported(
        project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCOMFY_CHROMIUM", "/usr/bin/chromium")
    monkeypatch.setenv("DISCOMFY_ROOT", str(project))
    monkeypatch.setenv("DISCOMFY_LIMITS__PER_USER", "4")
    assert main(["--root", str(project), "check"]) == 0
    assert "nothing reads" not in capsys.readouterr().out


@pytest.mark.parametrize("where, expected", [
    ("environment", "it comes from the environment variable DISCOMFY_LIMITS__PER_USER, which wins over the "
                    "files: fix or unset it"),
    ("settings.toml", "fix it in settings.toml"),
    (".secrets.toml", "fix it in .secrets.toml"),
])
def test_a_bad_value_names_the_file_or_variable_it_came_from(
        project: Path, monkeypatch: pytest.MonkeyPatch, no_discomfy_variables: None, where: str, expected: str) -> None:
    if where == "environment":
        (project / "settings.toml").write_text("[limits]\nper_user = 5\n")  # overridden: not to blame
        monkeypatch.setenv("DISCOMFY_LIMITS__PER_USER", "0")
    else:
        (project / where).write_text("[limits]\nper_user = 0\n")
    problems = validate_config(get_config(project), purpose="offline")
    assert problems == [f"[limits-per-user] limits.per_user = 0 must be a number greater than 0; {expected}."]


def test_a_bad_url_from_an_environment_variable_says_so(
        project: Path, monkeypatch: pytest.MonkeyPatch, no_discomfy_variables: None) -> None:
    monkeypatch.setenv("DISCOMFY_COMFYUI__URL", "gpu-box:8188")
    (problem,) = validate_config(get_config(project), purpose="offline")
    assert problem.endswith("did you mean http://gpu-box:8188? It comes from the environment variable "
                            "DISCOMFY_COMFYUI__URL, which wins over the files: fix or unset it.")
