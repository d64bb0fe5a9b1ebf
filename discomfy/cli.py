"""``discomfy``: run the bot, check a setup offline, print the command tree, render workflows.

Every subcommand builds its own config and bot (no globals), prints readable messages, and
exits 1 on any problem so scripts and CI can rely on it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from discomfy.bot.offline import check_setup, command_tree_json, new_pack, render_workflow
from discomfy.bot.runner import run_bot
from discomfy.config import ConfigError, get_config, validate_config
from discomfy.config_unknown import unknown_settings
from discomfy.playground.stage import play
from discomfy.plugin_scaffold import DEFAULT_REQUIREMENT, scaffold_plugin

EPILOG = (
    "Settings come from discomfy/settings.toml (defaults), ./settings.toml, ./.secrets.toml and "
    "DISCOMFY_<SECTION>__<KEY> environment variables, in that order of precedence."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="discomfy",
        description="DisComfy: a Discord bot that puts ComfyUI behind slash commands, extended by plugins.",
        epilog=EPILOG,
    )
    parser.add_argument("--root", help="project folder holding settings.toml, plugins/ and workflows/ (default: .)")
    parser.add_argument("--debug", action="store_true", help="log at DEBUG level, with tracebacks of failures")
    sub = parser.add_subparsers(dest="subcommand", metavar="COMMAND", required=True)

    run = sub.add_parser("run", help="start the bot", description="Log in to Discord and serve slash commands.")
    run.add_argument("--dev", action="store_true", help="watch plugins/ and workflows/ and hot-reload changed plugins")

    play = sub.add_parser(
        "play", help="try the bot in a browser, without Discord",
        description="Start a local Discord emulator, the bot (as `run` starts it) and a page that looks like a "
        "Discord channel. ComfyUI: the configured server(s) if they answer, else a built-in fake drawing placeholders.")
    play.add_argument("--host", default="127.0.0.1", help="address to serve the page on (default: 127.0.0.1; "
                      "anything else lets other machines use the bot)")
    play.add_argument("--port", type=int, default=8765, help="port to serve the page on (default: 8765)")
    play.add_argument("--dev", action="store_true", help="watch plugins/ and workflows/ and hot-reload changed plugins")

    check = sub.add_parser(
        "check",
        help="validate config and every plugin offline, print the load report",
        description="Load the config and every plugin without connecting to Discord, run every "
        "load-time check, print the load report. Exit 1 on any problem.",
    )
    check.add_argument("--server", metavar="URL", help="also compare every plugin's node classes and model files with this ComfyUI server")

    sub.add_parser(
        "commands",
        help="print the slash-command tree JSON that would be synced",
        description="Print, as JSON, the application commands the bot would sync to Discord.",
    )

    render = sub.add_parser(
        "render",
        help="print the API-format workflow a command would queue",
        description="Render a workflow with the given parameters and print the exact ComfyUI API JSON that would be queued.",
    )
    render.add_argument("workflow", help="workflow name (a plugin or pack name, e.g. generate or sdxl)")
    render.add_argument("params", nargs="*", metavar="key=value", help="parameters, e.g. prompt='a cat' steps=30")

    new_pack = sub.add_parser(
        "new-pack",
        help="scaffold a data pack from a ComfyUI API export",
        description="Create workflows/NAME/ (manifest, workflow, parameter schema) from a workflow exported with 'Save (API)'.",
    )
    new_pack.add_argument("name", help="pack name (lowercase, used as the model name)")
    new_pack.add_argument("--from", dest="source", required=True, metavar="FILE", help="workflow exported with Save (API)")
    new_pack.add_argument("--command", default=None, help="slash command the pack joins (default: a new command named after the pack)")

    new_plugin = sub.add_parser(
        "new-plugin",
        help="scaffold a pip-installable plugin package",
        description="Create NAME/, a plugin package with the discomfy.plugins entry point, a workflow "
        "and an end-to-end test that passes as generated: pip install -e NAME, then pytest NAME.",
    )
    new_plugin.add_argument("name", help="plugin name, also its slash command (lowercase)")
    new_plugin.add_argument("--data", action="store_true", help="a data pack (workflow only) instead of a code plugin (a cog)")
    new_plugin.add_argument("--dest", default=".", metavar="DIR", help="folder to create NAME/ in (default: .)")
    new_plugin.add_argument("--discomfy", dest="requirement", default=None, metavar="REQUIREMENT",
                            help="how the package requires DisComfy, e.g. 'discomfy @ git+https://...@v2.0.0' "
                            "(default: any installed DisComfy of this major version)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    purpose = "run" if args.subcommand == "run" else "offline"
    try:
        config = get_config(args.root)  # raises only for a settings file that is not TOML
        unknown = unknown_settings(config)
        problems = validate_config(config, purpose=purpose)
        if problems:  # a misspelt key often explains a missing or default value: list both
            raise ConfigError(problems + unknown)
    except ConfigError as exc:
        print(exc.user_message, file=sys.stderr)
        return 1
    if args.subcommand != "check":  # `check` counts them as problems; the bot runs without them
        for line in unknown:
            print(f"Warning: {line}", file=sys.stderr)
    if getattr(args, "dev", False) and not _can_watch():
        print("--dev reloads plugins when their files change, which needs the watchfiles package, and it is not "
              "installed: pip install watchfiles (or install DisComfy with its dev extra: pip install -e '.[dev]'; "
              "scripts/bot.sh does), then start again.", file=sys.stderr)
        return 1
    level = "DEBUG" if args.debug else str(config.logging.level).upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler = COMMANDS[args.subcommand]
    try:
        return handler(config, args)
    except KeyboardInterrupt:
        return 130


def _can_watch() -> bool:
    """Whether hot reload's file watcher can start: it is imported only once the bot runs, so
    without this check --dev would run without reloading anything, silently."""
    try:
        import watchfiles  # noqa: F401
    except ImportError:
        return False
    return True


def _run(config: Any, args: argparse.Namespace) -> int:
    return asyncio.run(run_bot(config, dev=args.dev))


def _play(config: Any, args: argparse.Namespace) -> int:
    return asyncio.run(play(config, host=args.host, port=args.port, dev=args.dev))


def _check(config: Any, args: argparse.Namespace) -> int:
    return asyncio.run(check_setup(config, server=args.server, unknown=unknown_settings(config)))


def _commands(config: Any, args: argparse.Namespace) -> int:
    payload, report = asyncio.run(command_tree_json(config))
    print(json.dumps(payload, indent=2, sort_keys=True))
    if report.failed:
        print(report.format(), file=sys.stderr)
        return 1
    return 0


def _render(config: Any, args: argparse.Namespace) -> int:
    return asyncio.run(render_workflow(config, args.workflow, args.params))


def _new_pack(config: Any, args: argparse.Namespace) -> int:
    return new_pack(config, args.name, args.source, args.command)


def _new_plugin(config: Any, args: argparse.Namespace) -> int:
    try:
        root = scaffold_plugin(args.name, Path(args.dest), data=args.data,
                               requirement=args.requirement or DEFAULT_REQUIREMENT)
    except (ValueError, FileExistsError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"Created {root}. Next: pip install -e '{root}[test]' && pytest {root}")
    return 0


COMMANDS = {"run": _run, "play": _play, "check": _check, "commands": _commands, "render": _render, "new-pack": _new_pack,
            "new-plugin": _new_plugin}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
