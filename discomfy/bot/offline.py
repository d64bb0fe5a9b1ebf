"""What the CLI does without logging in: load every plugin, check it, print what would be synced.

These build a real :class:`ComfyUIBot` and load plugins exactly as ``discomfy run`` does, so
``discomfy check`` passing means the bot will start with the same plugins.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from discomfy.bot.client import ComfyUIBot
from discomfy.bot.promised_commands import missing_commands
from discomfy.config import resolve_path, url_problem
from discomfy.core.comfyui.client import ComfyUIClient
from discomfy.core.comfyui.http import operator_hint, without_server
from discomfy.core.comfyui.workflows.problems import PackLoadError
from discomfy.core.comfyui.workflows.render_cli import parse_cli_values, pick_workflow
from discomfy.core.comfyui.workflows.scaffold import scaffold_pack
from discomfy.core.comfyui.workflows.server_check import server_check
from discomfy.exceptions import ComfyUIError, DisComfyError
from discomfy.plugins import LoadReport


async def load_offline(config: Any) -> ComfyUIBot:
    bot = ComfyUIBot(config)
    await bot.plugins.load()
    return bot


def tree_payload(bot: ComfyUIBot) -> list[dict[str, Any]]:
    """The JSON bodies ``tree.sync()`` would send, global commands first."""
    return [command.to_dict(bot.tree) for command in bot.tree.get_commands()]


async def command_tree_json(config: Any) -> tuple[list[dict[str, Any]], LoadReport]:
    bot = await load_offline(config)
    try:
        return tree_payload(bot), bot.plugins.report
    finally:
        await bot.close()


def option_mismatches(bot: ComfyUIBot) -> list[str]:
    """Slash-command options that do not match their workflows' schemas (a bug, not a user error)."""
    problems = []
    for cog in bot.cogs.values():
        command = getattr(cog, "command", None)
        slash = getattr(cog, "slash_command", None)
        if command is None or slash is None:
            continue
        expected = {o.name for o in command.options} | ({"model"} if len(command.workflows) > 1 else set())
        actual = {p.name for p in slash.parameters}
        if expected != actual:
            problems.append(f"/{slash.name}: options {sorted(actual)} do not match the schemas' {sorted(expected)}")
    return problems


async def server_problems(bot: ComfyUIBot, url: str) -> dict[str, list[str]]:
    """Per plugin, what its workflows need that the server at ``url`` lacks."""
    async with ComfyUIClient(url, request_timeout=float(bot.config.comfyui.request_timeout)) as client:
        object_info = await client.get_object_info()
    registry = bot.plugins.workflows.registry()
    found: dict[str, list[str]] = {}
    for spec in bot.plugins.workflows.all().values():
        found.setdefault(spec.plugin, []).extend(server_check(spec, object_info, registry=registry))
    return found


async def check_setup(config: Any, *, server: str | None = None, unknown: Sequence[str] = ()) -> int:
    """Load everything as ``run`` would and print every problem: plugins that fail, command
    mismatches, ``unknown`` settings (misspelt names nothing reads), what ``server`` lacks."""
    problem = url_problem("--server", server, ("http", "https")) if server is not None else None
    if problem:
        print(problem, file=sys.stderr)
        return 1
    bot = await load_offline(config)
    try:
        print(bot.plugins.report.format())
        failed = len(bot.plugins.report.failed)
        mismatches = option_mismatches(bot)
        for line in mismatches:
            print(f"  {line}")
        if unknown:
            print("\nSettings nothing reads (misspelt?):\n" + "\n".join(f"  {line}" for line in unknown))
        missing: dict[str, list[str]] = {}
        if server:
            try:
                missing = await server_problems(bot, server)
            except ComfyUIError as exc:
                print(f"\nCannot check against {server}: {without_server(exc)}\n{operator_hint(exc)}", file=sys.stderr)
                return 1
            print(f"\nAgainst the ComfyUI server {server}:")
            for plugin, lines in sorted(missing.items()):
                print(f"  {plugin}: everything is installed" if not lines else "\n".join(f"  {line}" for line in lines))
        if failed or mismatches or unknown or any(missing.values()):
            print(f"\n{failed} plugin(s) failed to load, {len(mismatches)} command mismatch(es), "
                  f"{len(unknown)} unknown setting(s), {sum(len(v) for v in missing.values())} thing(s) "
                  "missing on the server; fix the reasons above.", file=sys.stderr)
            return 1
        missing_promised = missing_commands(bot)
        if missing_promised:
            print(f"\n{len(missing_promised)} command(s) the README promises are missing:")
            print("\n".join(f"  {line}" for line in missing_promised))
            print("\nEverything found loaded, but the commands above are not served.")
            return 0
        print("\nEverything loaded.")
        return 0
    finally:
        await bot.close()


async def render_workflow(config: Any, name: str, args: list[str]) -> int:
    """Print the API JSON ``discomfy render`` would queue for workflow ``name``; every problem
    with the arguments is printed at once."""
    bot = await load_offline(config)
    try:
        try:
            failed = {e.name: e for e in bot.plugins.report.failed}
            spec, rest = pick_workflow(bot.plugins.workflows.all(), name, args) if name not in failed else (None, args)
            plugin = name if spec is None else spec.plugin
            if plugin in failed:  # the bot would not serve it, so no graph of it would be queued
                print(f"{plugin} failed to load, so the bot would not serve it: {failed[plugin].reason}", file=sys.stderr)
                return 1
            rendered = bot.plugins.render(spec, parse_cli_values(spec, rest), user_id=0)
        except DisComfyError as exc:
            print(exc.user_message, file=sys.stderr)
            return 1
        print(json.dumps(rendered.graph, indent=2))
        if rendered.images_needed:
            print(f"(image inputs {', '.join(rendered.images_needed)} are uploaded first when the bot runs)", file=sys.stderr)
        return 0
    finally:
        await bot.close()


def new_pack(config: Any, name: str, source: str, command: str | None) -> int:
    destination = resolve_path(config, config.plugins.workflow_dirs[0])
    try:
        folder = scaffold_pack(name, source, destination, command=command)
    except PackLoadError as exc:
        print(f"Cannot create the pack ({len(exc.problems)} problem(s)):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(f"Created {folder}. Check it with `discomfy check`; edit its params.schema.json to tune the options.")
    return 0
