"""Compiled modules are cached between runs, outside the checkout, even where the environment
says not to write bytecode.

Every pytest-xdist worker imports the whole package and every test module, and pytest rewrites
the asserts of each; without a bytecode cache (``PYTHONDONTWRITEBYTECODE=1``, as on these
machines) each worker compiled them all again on every run: 16 CPU-seconds of collection per
process instead of 5, before the first test. Where that variable is set, the suite keeps its
own cache under the temporary folder (``PYTHONPYCACHEPREFIX``), so nothing is written beside the
sources; workers and the bots and CLIs tests start as subprocesses inherit it.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def use_a_private_bytecode_cache() -> Path | None:
    """Turn the cache on under the temporary folder when the environment turned bytecode off;
    the folder used, or None when the environment's own setting is kept."""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE") or os.environ.get("PYTHONPYCACHEPREFIX"):
        return None
    folder = Path(tempfile.gettempdir()) / f"discomfy-tests-pycache-{os.getuid()}"
    del os.environ["PYTHONDONTWRITEBYTECODE"]
    os.environ["PYTHONPYCACHEPREFIX"] = str(folder)
    sys.dont_write_bytecode = False
    sys.pycache_prefix = str(folder)
    return folder
