"""Copies the repository's plugins and packs into the wheel, as ``discomfy/shipped/``.

Everything else is declared in pyproject.toml. ``plugins/`` and ``workflows/`` stay at the top of
the repository (they are what an owner edits, and `discomfy run --dev` watches them), so no
package-data rule can reach them; without this copy a non-editable install serves none of the
commands the README promises. :mod:`discomfy.shipped` finds the copy at run time. An editable
install skips it: its checkout has the originals.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("plugins", "workflows")


class BuildPyWithShipped(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for folder in SHIPPED:
            target = Path(self.build_lib, "discomfy", "shipped", folder)
            shutil.rmtree(target, ignore_errors=True)  # a plugin deleted since the last build goes
            shutil.copytree(folder, target, ignore=shutil.ignore_patterns("__pycache__", "*.py[cod]"))


setup(cmdclass={"build_py": BuildPyWithShipped})
