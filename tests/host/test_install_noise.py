"""What installing DisComfy leaves behind in other people's runs: no warnings they cannot act on.

Installing the testing extra registers DisComfy's pytest plugin (a ``pytest11`` entry point) in
every pytest run of that environment, loaded before any project's ``filterwarnings`` apply; and
the build reads ``project.license`` on every install.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import REPO_ROOT


def test_an_unrelated_project_s_pytest_run_shows_no_warning_from_discomfy(tmp_path: Path) -> None:
    (tmp_path / "test_empty.py").write_text("def test_nothing():\n    pass\n")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHONPATH"))}
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider"], cwd=tmp_path,
                            env=environ, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "discomfy" in result.stdout  # the plugin was loaded ("plugins: ... discomfy-2.0.0")
    assert "warning" not in result.stdout.lower(), result.stdout


def test_the_license_is_an_spdx_string_that_the_required_setuptools_understands() -> None:
    """A ``license = { text = ... }`` table makes setuptools 77 and later print a deprecation
    warning three times per install; the string form needs setuptools 77 or later to build."""
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "MIT"
    bounds = [r for r in pyproject["build-system"]["requires"] if r.startswith("setuptools")]
    assert len(bounds) == 1 and (lowest := re.fullmatch(r"setuptools>=(\d+)(\.\d+)*", bounds[0])), bounds
    assert int(lowest.group(1)) >= 77, bounds
