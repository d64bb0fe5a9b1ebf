"""Where discovery looks when the wheel's own copy of the plugins is installed, and what
``discomfy check`` says when a command the README promises is not served. (The installed wheel
itself is tests/ops/test_wheel.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from discomfy import shipped
from discomfy.bot.promised_commands import PROMISED
from discomfy.cli import main
from discomfy.config import get_config, override
from discomfy.plugins import discover
from tests.conftest import REPO_ROOT


@pytest.fixture
def wheel_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for an installed wheel's ``discomfy/shipped``: one plugin, one pack."""
    copy = tmp_path / "site" / "shipped"
    (copy / "plugins" / "shipped_one").mkdir(parents=True)
    (copy / "plugins" / "shipped_one" / "__init__.py").write_text("")
    (copy / "workflows" / "shipped_pack").mkdir(parents=True)
    (copy / "workflows" / "shipped_pack" / "manifest.toml").write_text("")
    monkeypatch.setattr(shipped, "SHIPPED", copy)
    return copy


def names(root: Path, **settings: object) -> dict[str, str]:
    config = get_config(root)
    for key, value in settings.items():
        override(config, f"plugins.{key}", value)
    sources, duplicates = discover(config)
    assert not duplicates
    return {s.name: s.origin for s in sources if s.kind != "entrypoint"}


def test_with_no_plugins_folder_the_wheel_s_copies_serve(tmp_path: Path, wheel_copy: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    assert names(project) == {"shipped_one": str(wheel_copy / "plugins" / "shipped_one"),
                              "shipped_pack": str(wheel_copy / "workflows" / "shipped_pack")}


def test_an_existing_folder_wins_so_no_plugin_loads_twice(tmp_path: Path, wheel_copy: Path) -> None:
    project = tmp_path / "project"
    (project / "plugins" / "shipped_one").mkdir(parents=True)
    (project / "plugins" / "shipped_one" / "__init__.py").write_text("")
    found = names(project)
    assert found["shipped_one"] == str(project / "plugins" / "shipped_one")
    assert found["shipped_pack"] == str(wheel_copy / "workflows" / "shipped_pack")  # ./workflows is missing


def test_a_folder_the_owner_named_is_never_replaced(tmp_path: Path, wheel_copy: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    assert names(project, dirs=["my-plugins"], workflow_dirs=[str(tmp_path / "nowhere")]) == {}
    # the default name next to the owner's own folder still means the shipped copy
    assert set(names(project, dirs=["plugins", "my-plugins"])) == {"shipped_one", "shipped_pack"}


def test_promised_commands_are_the_readme_s_command_table() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    table = readme.split("\n## Commands\n", 1)[1].split("\n\n", 1)[0]
    commands = set(re.findall(r"^\| `/(\w+)", table, re.M)) - {"discomfy"}  # /discomfy: owner-only admin
    assert commands == set(PROMISED)


def test_check_names_each_missing_command_and_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "settings.toml").write_text(f'[plugins]\ndirs = ["{REPO_ROOT / "plugins"}"]\n'
                                            'disabled = ["animate"]\n')
    assert main(["--root", str(tmp_path), "check"]) == 0
    out = capsys.readouterr().out
    assert "Everything loaded." not in out
    assert "1 command(s) the README promises are missing:\n  /animate: plugin animate is disabled in settings" in out

    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["--root", str(empty), "check"]) == 0
    out = capsys.readouterr().out
    assert "Everything loaded." not in out
    assert f"/generate: plugin generate was not found (searched: {empty / 'plugins'})" in out
    assert "/server: plugin community was not found" in out
