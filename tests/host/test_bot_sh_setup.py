"""scripts/bot.sh before it starts anything: when it installs, and what it says about the settings.

Each test runs a copy of the script in a temporary project whose ``.venv`` is a stand-in: its
``python`` logs pip and venv calls instead of installing (and runs this interpreter for the rest),
its ``discomfy`` logs how it was started.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

FAKE_PYTHON = """#!/bin/sh
case "$*" in *"-m pip"*|*ensurepip*) echo "python $*" >> "$BOT_SH_LOG"; exit 0 ;; esac
exec {python} "$@"
"""
FAKE_DISCOMFY = '#!/bin/sh\necho "discomfy $*" >> "$BOT_SH_LOG"\n'


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A project laid out as the repository is, with an already created .venv."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO_ROOT / "scripts" / "bot.sh", tmp_path / "scripts" / "bot.sh")
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "plugins").mkdir()
    bin_ = tmp_path / ".venv" / "bin"
    bin_.mkdir(parents=True)
    for name, text in (("python", FAKE_PYTHON.format(python=sys.executable)), ("discomfy", FAKE_DISCOMFY)):
        (bin_ / name).write_text(text)
        (bin_ / name).chmod(0o755)
    return tmp_path


def bot_sh(checkout: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run the copied bot.sh; return its result and the calls the stand-ins logged."""
    log = checkout / "calls.log"
    log.unlink(missing_ok=True)
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DISCOMFY_", "PYTEST_"))}
    result = subprocess.run(["bash", str(checkout / "scripts" / "bot.sh"), *args], cwd="/", capture_output=True,
                            text=True, timeout=120, env={**environ, "BOT_SH_LOG": str(log)})
    return result, log.read_text().splitlines() if log.exists() else []


def test_bot_sh_installs_on_the_first_start_and_then_only_after_pyproject_changes(checkout: Path) -> None:
    first, calls = bot_sh(checkout)
    assert first.returncode == 0, first.stderr
    assert "Installing DisComfy into .venv" in first.stdout
    assert any("-m pip install --quiet -e .[dev]" in call for call in calls), calls
    assert calls[-1] == "discomfy play"

    again, calls = bot_sh(checkout)
    assert again.returncode == 0, again.stderr
    assert "Installing" not in again.stdout
    assert calls == ["discomfy play"]  # no pip: nothing changed since the last install

    with (checkout / "pyproject.toml").open("a") as pyproject:
        pyproject.write("# a new dependency, say\n")
    changed, calls = bot_sh(checkout)
    assert "Installing DisComfy into .venv" in changed.stdout
    assert any("-m pip install" in call for call in calls), calls


@pytest.fixture
def installed(checkout: Path) -> Path:
    shutil.copy(checkout / "pyproject.toml", checkout / ".venv" / "discomfy-installed-pyproject.toml")
    return checkout


def test_bot_sh_tells_a_broken_settings_file_from_a_missing_token(installed: Path) -> None:
    (installed / ".secrets.toml").write_text('[discord\ntoken = "a.b.c"\n')
    result, calls = bot_sh(installed)
    assert result.returncode == 1
    assert ".secrets.toml line 1, column 9 is not valid TOML: Expected ']' at the end of a table declaration" \
           in result.stderr
    assert "No Discord token" not in result.stdout + result.stderr
    assert calls == []  # neither the bot nor the playground started

    (installed / ".secrets.toml").write_text("[discord]\n")
    result, calls = bot_sh(installed, "--port", "9999")
    assert "No Discord token, so this starts the playground" in result.stdout
    assert calls == ["discomfy play --port 9999"]

    (installed / ".secrets.toml").write_text('[discord]\ntoken = "a.b.c"\n')
    result, calls = bot_sh(installed, "--dev")
    assert "No Discord token" not in result.stdout
    assert calls == ["discomfy run --dev"]
