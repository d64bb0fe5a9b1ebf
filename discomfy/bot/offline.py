"""What the CLI does without logging in: load every plugin, check it, print what would be synced.

These build a real :class:`ComfyUIBot` and load plugins exactly as ``discomfy run`` does, so
``discomfy check`` passing means the bot will start with the same plugins.
"""

from __future__ import annotations

import sys
from typing import Any

from discomfy.bot.client import ComfyUIBot
from discomfy.plugins import LoadReport


async def load_offline(config: Any) -> ComfyUIBot:
    bot = ComfyUIBot(config)
    await bot.load_plugins()
    return bot


def tree_payload(bot: ComfyUIBot) -> list[dict[str, Any]]:
    """The JSON bodies ``tree.sync()`` would send, global commands first."""
    return [command.to_dict(bot.tree) for command in bot.tree.get_commands()]


async def command_tree_json(config: Any) -> tuple[list[dict[str, Any]], LoadReport]:
    bot = await load_offline(config)
    try:
        return tree_payload(bot), bot.load_report
    finally:
        await bot.close()


async def check_setup(config: Any, *, server: str | None = None) -> int:
    bot = await load_offline(config)
    try:
        print(bot.load_report.format())
        problems = bot.load_report.failed
        if problems:
            print(f"\n{len(problems)} plugin(s) failed to load; fix the reasons above.", file=sys.stderr)
            return 1
        print("\nEverything loaded.")
        return 0
    finally:
        await bot.close()
