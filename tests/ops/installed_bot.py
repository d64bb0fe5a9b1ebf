"""Run by the python of a venv where the built wheel is installed, from a folder with no plugins.

It imports nothing from this repository's tests (they are not installed there), only the
``discomfy.testing`` harness the wheel's testing extra makes usable: the real bot, with the
plugins discovery finds in that folder (none, so the wheel's own copies), between the Discord
emulator and the fake ComfyUI. It runs /generate, /upscale and /animate and prints one JSON line:
per command, the names of the files its result carried, or the reason it did not deliver.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
from pathlib import Path

from PIL import Image

from discomfy.testing.audit import outcome_of
from discomfy.testing.bot_harness import build_config, running_bot
from discomfy.testing.discord_emulator import DiscordEmulator
from discomfy.testing.fake_comfyui import FakeComfyUI

COMMANDS = [
    ("generate", {"prompt": "a lighthouse at dusk"}, None),
    ("upscale", {"factor": 2}, "image"),
    ("animate", {"prompt": "waves roll in", "seconds": 1}, None),
]


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(buffer, "PNG")
    return buffer.getvalue()


async def run_one(emu: DiscordEmulator, command: str, options: dict, image_option: str | None) -> dict:
    attachments = {image_option: ("photo.png", png(), "image/png")} if image_option else None
    inter = await emu.invoke(command, options, attachments=attachments)
    message_id = inter.original_message.id
    message = await emu.wait_for_message(lambda m: m.id == message_id and outcome_of(m) is not None, timeout=60)
    state, reason = outcome_of(message)
    return {"state": state, "reason": reason, "files": [a.filename for a in message.attachments]}


async def main(root: Path) -> dict:
    emu, fake = DiscordEmulator(), FakeComfyUI()
    await emu.start()
    await fake.start()
    try:
        config = build_config(root, emulator=emu, comfyui_url=fake.url)
        async with running_bot(emu, fake, config):
            return {command: await run_one(emu, command, options, image) for command, options, image in COMMANDS}
    finally:
        await fake.stop()
        await emu.stop()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(Path(sys.argv[1])))))
