"""Which folders plugin discovery reads: the configured ones, or the copies the wheel ships.

The repository's plugins and packs live in its top-level ``plugins/`` and ``workflows/``, next
to the package rather than in it. A wheel carries a copy of both under ``discomfy/shipped/``
(setup.py copies them at build time; an editable install has none, its checkout has the
originals), so that a plain ``pip install`` run from any folder serves /generate, /upscale,
/animate and the rest. The copy stands in for a default folder name (``plugins``,
``workflows``) only when no such folder exists under the project root: a folder that exists
always wins, so one plugin is never loaded from both places, and a folder the owner named
explicitly is never silently replaced.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from discomfy.config import resolve_path

SHIPPED = Path(__file__).parent / "shipped"
# settings key under [plugins] -> the default folder name the shipped copy stands in for
DEFAULT_FOLDERS = {"dirs": "plugins", "workflow_dirs": "workflows"}


def folders(config: Any, key: str) -> list[Path]:
    """The resolved, de-duplicated folders of ``plugins.<key>`` (``dirs`` or ``workflow_dirs``)."""
    default = DEFAULT_FOLDERS[key]
    found = []
    for value in config.plugins[key]:
        path = resolve_path(config, value).resolve()
        if not path.exists() and Path(value) == Path(default) and (SHIPPED / default).is_dir():
            path = SHIPPED / default
        found.append(path)
    # a folder named twice (say, relative and absolute) is one folder, not two owners
    return list(dict.fromkeys(found))
