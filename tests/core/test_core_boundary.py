"""The core knows nothing about Discord: importing these modules must not import discord."""

from __future__ import annotations

import subprocess
import sys

MODULES = [
    "discomfy.core.validators.image",
    "discomfy.core.jobs.queue",
    "discomfy.core.jobs.job",
    "discomfy.core.jobs.store",
    "discomfy.core.jobs.migrations",
    "discomfy.utils.rate_limit",
]


def test_core_building_blocks_do_not_import_discord():
    code = "import sys\n" + "".join(f"import {m}\n" for m in MODULES) + (
        "print(sorted(m for m in sys.modules if m == 'discord' or m.startswith('discord.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
