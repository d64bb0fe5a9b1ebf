"""Edit-to-sync time of ``discomfy run --dev`` for the three plugin kinds (issue 16; goal <= 2 s).

One bot (the real one, in this process, ``dev=True``) between the Discord emulator and the fake
ComfyUI, with a code plugin (plugins/generate's files and a module of its own), a data pack
joining /generate and a data pack with a command of its own. Each round edits one option description in a schema and
times, with ``time.perf_counter``, from the write to the moment the emulator has answered the
development guild's ``PUT .../commands`` that carries the new text. The figure includes the
file watcher's wait for the writes to settle (``step`` 50 ms); it prints medians and maxima and
asserts nothing.

    .venv/bin/python bench/hot_reload.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from discord.gateway import DiscordWebSocket
from discord.http import Route

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from discomfy.testing.bot_harness import build_config, running_bot  # noqa: E402
from discomfy.testing.discord_emulator import DiscordEmulator  # noqa: E402
from discomfy.testing.fake_comfyui import FakeComfyUI  # noqa: E402
from tests.conftest import workflow_plugin_source, write_plugin  # noqa: E402


def stage(root: Path) -> dict[str, tuple[Path, str, str]]:
    """kind -> (schema to edit, command, option whose description the edit changes)."""
    (root / "plugins").mkdir()
    (root / "workflows").mkdir()
    shutil.copytree(REPO_ROOT / "plugins" / "generate", root / "plugins" / "generate",
                    ignore=shutil.ignore_patterns("__pycache__"))
    # plugins/generate itself is data only: the module makes this copy the code plugin it times
    write_plugin(root, "generate", workflow_plugin_source("generate"))
    shutil.copytree(REPO_ROOT / "workflows" / "sdxl", root / "workflows" / "sdxl")
    own = root / "workflows" / "anime"
    shutil.copytree(REPO_ROOT / "workflows" / "sdxl", own)
    manifest = (own / "manifest.toml").read_text()
    manifest = manifest.replace('name = "generate-sdxl"', 'name = "anime"').replace('command = "generate"', 'command = "anime"')
    (own / "manifest.toml").write_text(manifest)
    return {
        "code plugin": (root / "plugins" / "generate" / "params.schema.json", "generate", "prompt"),
        "pack joining /generate": (root / "workflows" / "sdxl" / "params.schema.json", "generate", "negative_prompt"),
        "pack with its own command": (own / "params.schema.json", "anime", "negative_prompt"),
    }


def described(emu: DiscordEmulator, command: str, option: str) -> str:
    return next(o["description"] for o in emu.command(command)["options"] if o["name"] == option)


async def edit_to_sync(emu: DiscordEmulator, schema: Path, command: str, option: str, text: str) -> float:
    current = described(emu, command, option)
    body = schema.read_text()
    assert current in body, f"{current!r} not in {schema}"
    started = time.perf_counter()
    schema.write_text(body.replace(f'"description": "{current}"', f'"description": "{text}"'))
    while described(emu, command, option) != text:
        if time.perf_counter() - started > 30:
            raise TimeoutError(f"{schema} edit never reached the development guild")
        await asyncio.sleep(0.002)
    return time.perf_counter() - started


async def main(rounds: int) -> None:
    saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        kinds = stage(root)
        emu, fake = DiscordEmulator(), FakeComfyUI()
        await emu.start()
        await fake.start()
        try:
            config = build_config(root, emulator=emu, comfyui_url=fake.url)
            async with running_bot(emu, fake, config, dev=True) as bot:
                await asyncio.wait_for(bot.plugins.reloader.watching.wait(), timeout=10)
                figures: dict[str, list[float]] = {kind: [] for kind in kinds}
                for n in range(rounds):
                    for kind, (schema, command, option) in kinds.items():
                        figures[kind].append(await edit_to_sync(emu, schema, command, option, f"Edited, round {n + 1}"))
                        await asyncio.sleep(0.5)  # let the watcher settle between edits
        finally:
            await fake.stop()
            await emu.stop()
            Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved
    print(f"edit -> development guild sync carrying the edit ({rounds} edits each, file watcher included)")
    for kind, times in figures.items():
        print(f"  {kind:<27} median {statistics.median(times):.2f} s   max {max(times):.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args().rounds))
