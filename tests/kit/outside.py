"""Packages built and tested outside this repository, as a plugin author's would be.

Each gets its own folder (a temporary one, never under the repo, so none of our pytest settings
apply) and its own virtual environment. The environment reuses this one's installed packages
(DisComfy itself and its dependencies) instead of downloading them again, so it is quick; what
the author's package installs goes into the child environment only, and this environment, whose
bot loads every ``discomfy.plugins`` entry point it can see, is left untouched.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import textwrap
from pathlib import Path

TIMEOUT = 300


def child_env(folder: Path) -> Path:
    """A venv in ``folder/venv`` that sees this environment's packages; returns its python."""
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=TIMEOUT)
    python = venv / "bin" / "python"
    child_site = subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()[0])"],
                                check=True, capture_output=True, text=True).stdout.strip()
    # An `import` line in a .pth runs at start-up; addsitedir also runs the parent's .pth files,
    # which is where the editable install of DisComfy hooks itself in.
    parents = "; ".join(f"site.addsitedir({p!r})" for p in site.getsitepackages())
    Path(child_site, "_discomfy_parent_env.pth").write_text(f"import site; {parents}\n")
    return python


def run(cmd: list[str], cwd: Path, timeout: float = TIMEOUT, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` in ``cwd`` with a clean pytest environment; output is kept for messages."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHONPATH"))}
    environ.update(env)
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=environ)


def pip_install_editable(python: Path, package: Path, extras: str = "") -> subprocess.CompletedProcess[str]:
    """``pip install -e package[extras]`` into the child environment (this environment's pip
    drives it; no build isolation, so nothing is downloaded: setuptools and wheel come from here)."""
    target = f"{package}[{extras}]" if extras else str(package)
    return run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-build-isolation",
                "--no-input", "--disable-pip-version-check", "-q", "-e", target], cwd=package.parent)


def explain(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-4000:]}"


def write_files(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
