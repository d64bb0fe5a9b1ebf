"""The plugin guide's example package, built from docs/plugins.md's own code blocks.

Every block fenced as ```LANG file=PATH is one file of the package. They are written into a
temporary folder outside this repository (so its pyproject.toml is the only one, with none of
our pytest settings), installed into a fresh environment, and the package's own test runs
there in a subprocess. The guide cannot drift from what works.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.kit.outside import child_env, explain, pip_install_editable, run

GUIDE = REPO_ROOT / "docs" / "plugins.md"
BLOCK = re.compile(r"^```[a-z]+ file=(\S+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def example_package() -> dict[str, str]:
    files = dict(BLOCK.findall(GUIDE.read_text()))
    assert {"pyproject.toml", "discomfy_upscale/__init__.py", "tests/test_upscale.py"} <= set(files), sorted(files)
    return files


@pytest.mark.timeout(900)  # a venv, a pip install and a pytest run, each allowed outside.TIMEOUT
def test_the_guides_example_package_installs_and_its_test_passes(tmp_path: Path) -> None:
    package = tmp_path / "discomfy-upscale"
    for relative, text in example_package().items():
        (package / relative).parent.mkdir(parents=True, exist_ok=True)
        (package / relative).write_text(text)
    assert "tool.pytest" not in (package / "pyproject.toml").read_text()  # nothing of ours helps

    python = child_env(tmp_path)
    installed = pip_install_editable(python, package, "test")
    assert installed.returncode == 0, explain(installed)

    result = run([str(python), "-m", "pytest", "-p", "no:cacheprovider"], package)
    assert result.returncode == 0, explain(result)
    assert "1 passed" in result.stdout, explain(result)
    assert f"rootdir: {package}" in result.stdout
