"""The slash commands the README promises, and why one is not served.

``discomfy check`` used to end with "Everything loaded." whenever nothing failed, even when no
plugin had been found at all (a wheel installed without its plugins served nothing and passed).
It now names each promised command that is missing and the reason: its plugin is disabled in
the settings, failed to load, or was not found in the folders discovery read.
"""

from __future__ import annotations

from typing import Any

from discomfy.shipped import folders

# command -> the plugin that provides it, as listed in the README's "Commands" table
PROMISED = {
    "generate": "generate", "editflux": "editflux", "editqwen": "editqwen", "upscale": "upscale",
    "animate": "animate", "loras": "loras", "settings": "settings", "status": "status", "help": "help",
    "server": "community", "usage": "community", "outpaint": "outpaint", "inpaint": "region",
    "jobs": "gallery", "show": "gallery",
}


def missing_commands(bot: Any) -> list[str]:
    """One line per promised command the bot's tree lacks, saying why."""
    served = {command.name for command in bot.tree.get_commands()}
    states = {entry.name: entry.state for entry in bot.plugins.report.entries}
    lines = []
    for command, plugin in PROMISED.items():
        if command in served:
            continue
        state = states.get(plugin)
        if state is None:
            searched = ", ".join(str(f) for f in folders(bot.config, "dirs")) or "(plugins.dirs is empty)"
            reason = f"plugin {plugin} was not found (searched: {searched})"
        elif state == "disabled":
            reason = f"plugin {plugin} is disabled in settings (plugins.enabled / plugins.disabled)"
        elif state == "loaded":
            reason = f"plugin {plugin} loaded but registered no /{command}"
        else:
            reason = f"plugin {plugin} is {state} (see above)"
        lines.append(f"/{command}: {reason}")
    return lines
