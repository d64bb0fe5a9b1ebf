"""``discomfy new-plugin``: the package it writes installs with pip and its own test passes.

As a plugin author would: ``discomfy new-plugin demo``, ``pip install -e 'demo[test]'``,
``pytest demo``, in a temporary folder outside this repository with its own environment.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from discomfy.plugin_scaffold import plugin_files, scaffold_plugin
from tests.kit.outside import child_env, explain, pip_install_editable, run

DISCOMFY = str(Path(sys.executable).with_name("discomfy"))


@pytest.mark.timeout(900)  # a venv, a pip install and a pytest run, each allowed outside.TIMEOUT
@pytest.mark.parametrize("kind, tests", [("code", "2 passed"), ("data", "1 passed")])
def test_a_new_plugin_installs_and_its_test_passes_as_generated(tmp_path: Path, kind: str, tests: str) -> None:
    made = run([DISCOMFY, "new-plugin", "demo", *(["--data"] if kind == "data" else [])], tmp_path)
    assert made.returncode == 0, explain(made)
    assert "pip install -e 'demo[test]'" in made.stdout

    python = child_env(tmp_path)
    installed = pip_install_editable(python, tmp_path / "demo", "test")
    assert installed.returncode == 0, explain(installed)

    result = run([str(python), "-m", "pytest", "-p", "no:cacheprovider", "demo"], tmp_path)
    assert result.returncode == 0, explain(result)
    assert tests in result.stdout, explain(result)
    assert "rootdir: " + str(tmp_path / "demo") in result.stdout  # its own settings, not ours

    check = run([str(python), "-m", "discomfy", "check"], tmp_path)
    assert check.returncode == 0, explain(check)
    assert "loaded   demo" in check.stdout and "entrypoint" in check.stdout


def test_the_package_declares_the_entry_point_and_the_discomfy_requirement() -> None:
    files = plugin_files("my-tool", requirement="discomfy @ git+https://example.org/discomfy.git@v2.0.0")
    pyproject = files["pyproject.toml"]
    assert '[project.entry-points."discomfy.plugins"]\nmy-tool = "discomfy_my_tool"' in pyproject
    assert '"discomfy @ git+https://example.org/discomfy.git@v2.0.0",' in pyproject
    assert 'test = ["discomfy[testing]"]' in pyproject
    assert "asyncio_mode" not in pyproject  # the kit needs no asyncio_mode
    assert set(files) >= {"discomfy_my_tool/__init__.py", "discomfy_my_tool/manifest.toml", "tests/test_my_tool.py"}


@pytest.mark.parametrize("name, fixed", [("Demo", "demo"), ("my plugin", "my-plugin"), ("9lives", "lives")])
def test_a_bad_name_is_refused_with_the_fixed_one(tmp_path: Path, name: str, fixed: str) -> None:
    result = subprocess.run([DISCOMFY, "new-plugin", name], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"try {fixed!r}" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    with pytest.raises(FileExistsError, match="already exists"):
        scaffold_plugin("demo", tmp_path)
