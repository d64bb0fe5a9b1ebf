"""Building DisComfy's wheel as a user would, for the tests that install or containerise it.

The wheel is built from a copy of the source tree, so the build's ``build/`` folder and
``*.egg-info`` never land in the checkout other tests run from. pip builds it in an isolated
environment because the build needs a newer setuptools than the test environment holds.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

# what a clean clone would not hand to the build: VCS data, environments, build and test leftovers
NOT_SOURCE = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis",
              "*.sqlite3", "*.sqlite3-*", ".secrets.toml")


def shipped_plugins() -> list[str]:
    """Names of the plugins and packs the repository ships (what every install must load)."""
    code = [p.name for p in (REPO_ROOT / "plugins").iterdir() if (p / "__init__.py").is_file()]
    packs = [p.name for p in (REPO_ROOT / "workflows").iterdir() if (p / "manifest.toml").is_file()]
    return sorted(code + packs)


def build_wheel(folder: Path) -> Path:
    """Build the wheel from a copy of the repository in ``folder``; returns the wheel's path."""
    source = folder / "source"
    shutil.copytree(REPO_ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder / "dist"),
                            str(source)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (folder / "dist").glob("discomfy-*.whl")
    return wheel
