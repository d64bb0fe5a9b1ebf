"""Packs on the fake ComfyUI, as a plugin author tests them: real sizes, and no silent pass-through."""

from __future__ import annotations

import json
from pathlib import Path

import pytest_asyncio

from discomfy.testing.bot_harness import build_config, running_bot
from tests.bot.support import embed_text, image_size, wait_outcome, wait_result
from tests.conftest import unregistered_image_node


def write_pack(root: Path, name: str, middle: dict) -> None:
    pack = root / "workflows" / name
    pack.mkdir(parents=True)
    graph = {"1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 48, "batch_size": 1, "color": 0}},
             "2": middle,
             "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": name}}}
    schema = {"type": "object", "additionalProperties": False, "properties": {
        "height": {"type": "integer", "minimum": 16, "maximum": 512, "default": 48, "description": "Height"}}}
    (pack / "workflow.json").write_text(json.dumps(graph))
    (pack / "params.schema.json").write_text(json.dumps(schema))
    (pack / "manifest.toml").write_text(
        f'name = "{name}"\ncommand = "{name}"\ndescription = "a test pack"\nmodel = "{name}"\n'
        'template = "workflow.json"\nschema = "params.schema.json"\nstrategies = ["bindings"]\n\n[bindings]\nheight = "1.height"\n')


@pytest_asyncio.fixture
async def pack_bot(tmp_path, discord_emulator, fake_comfyui):
    write_pack(tmp_path, "triple", {"class_type": "ImageScaleBy",
                                    "inputs": {"image": ["1", 0], "upscale_method": "bilinear", "scale_by": 3.0}})
    write_pack(tmp_path, "mystery", {"class_type": unregistered_image_node(), "inputs": {"image": ["1", 0]}})
    config = build_config(tmp_path, emulator=discord_emulator, comfyui_url=fake_comfyui.url)
    async with running_bot(discord_emulator, fake_comfyui, config) as bot:
        yield bot


async def test_a_pack_scaling_by_3_gets_a_3x_image(pack_bot, discord_emulator) -> None:
    interaction = await discord_emulator.invoke("triple", {"height": 100})
    result = await wait_result(discord_emulator, interaction)
    assert image_size(result.attachments[0].data) == (192, 300)
    assert not discord_emulator.violations and not discord_emulator.unhandled


async def test_a_pack_with_a_node_the_fake_cannot_run_fails_naming_it(pack_bot, discord_emulator) -> None:
    node = unregistered_image_node()
    interaction = await discord_emulator.invoke("mystery", {})
    outcome = await wait_outcome(discord_emulator, interaction)
    text = embed_text(outcome)
    assert not outcome.attachments
    assert f"node 2 ({node})" in text and "no semantics" in text
    assert not discord_emulator.violations and not discord_emulator.unhandled
