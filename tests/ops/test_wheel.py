"""The wheel carries what the repository ships: installed into a fresh venv and run from a folder
that has nothing of the checkout, it loads every shipped plugin and pack, ``discomfy check``
lists them, and /generate, /upscale and /animate deliver against the fake ComfyUI.

Exhaustive (deselected by a plain ``pytest``): installing the wheel with its dependencies into a
new venv takes about a minute.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.kit.outside import explain, run
from tests.ops.wheel import build_wheel, shipped_plugins

pytestmark = [pytest.mark.exhaustive, pytest.mark.timeout(900)]

SCRIPT = Path(__file__).with_name("installed_bot.py")


def test_the_installed_wheel_serves_every_shipped_plugin_outside_the_checkout(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    venv = tmp_path / "venv"
    assert run([sys.executable, "-m", "venv", str(venv)], tmp_path).returncode == 0
    python, discomfy = venv / "bin" / "python", venv / "bin" / "discomfy"
    installed = run([str(python), "-m", "pip", "install", "-q", f"{wheel}[testing]"], tmp_path, timeout=600)
    assert installed.returncode == 0, explain(installed)

    elsewhere = tmp_path / "elsewhere"  # no plugins/, no workflows/, no settings: a new owner's folder
    elsewhere.mkdir()
    check = run([str(discomfy), "check"], elsewhere)
    assert check.returncode == 0, explain(check)
    site_copy = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages" / \
        "discomfy" / "shipped"
    for name in shipped_plugins():
        assert f"loaded   {name:<16} (" in check.stdout, explain(check)
    assert str(site_copy) in check.stdout and str(REPO_ROOT) not in check.stdout, explain(check)
    assert check.stdout.rstrip().endswith("Everything loaded."), explain(check)

    ran = run([str(python), str(SCRIPT), str(elsewhere)], elsewhere, timeout=300)
    assert ran.returncode == 0, explain(ran)
    outcomes = json.loads(ran.stdout.strip().splitlines()[-1])
    assert {c: o["state"] for c, o in outcomes.items()} == dict.fromkeys(["generate", "upscale", "animate"], "result"), \
        outcomes
    assert outcomes["animate"]["files"][0].endswith(".mp4"), outcomes
