"""🖌️ Vary (Region) end to end: the user picks cells of a 3×3 grid and a prompt; only those
cells change (their edges feathered inwards), every pixel outside them is kept."""

from __future__ import annotations

import io

from PIL import Image, ImageChops

from discomfy.core.jobs.execution import upload_name
from tests.bot.support import assert_settled, embed_text, job_id_of, png_bytes, wait_result


def decoded(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def cell(image: Image.Image, n: int, inset: int = 0) -> Image.Image:
    """Cell ``n`` (0-8, reading order) of a 3×3 grid, shrunk by ``inset`` on every side."""
    w, h = image.size
    row, column = divmod(n, 3)
    return image.crop((column * w // 3 + inset, row * h // 3 + inset,
                       (column + 1) * w // 3 - inset, (row + 1) * h // 3 - inset))


def same(a: Image.Image, b: Image.Image) -> bool:
    return ImageChops.difference(a, b).getbbox() is None


def last_graph(fake) -> dict:
    return list(fake.worker.history.values())[-1]["prompt"][2]


async def test_vary_region_changes_only_the_chosen_cells(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    result = await wait_result(emu, await emu.invoke("generate", {"prompt": "a red fox in a green field"}))
    original = decoded(result.attachments[0].data)
    button = next(c for c in result.custom_ids if c.split(":")[1] == "region")
    opened = await emu.click(result, button)
    assert opened.modal["title"] == "Vary (Region)"
    varied = await wait_result(emu, await emu.submit_modal(opened, {"cells": ["0", "4"], "prompt": "a blue bird"}),
                               timeout=30)

    out = decoded(varied.attachments[0].data)
    assert out.size == original.size
    for n in (1, 2, 3, 5, 6, 7, 8):
        assert same(cell(out, n), cell(original, n)), f"cell {n + 1} was not chosen: it must be unchanged"
    for n in (0, 4):
        assert not same(cell(out, n, inset=100), cell(original, n, inset=100)), f"cell {n + 1} was redrawn"
    graph = last_graph(fake_comfyui)
    loaded = [n["inputs"]["image"] for n in graph.values() if n["class_type"] == "LoadImage"]
    assert loaded[0] == upload_name(result.attachments[0].filename)
    mask = decoded(next(data for name, data in fake_comfyui.files.files["input"].items() if name == loaded[1]))
    assert mask.getpixel((512, 512)) == (255, 255, 255) and mask.getpixel((800, 100)) == (0, 0, 0)
    assert mask.getpixel((340, 512))[0] == 0 < mask.getpixel((342, 512))[0] < 255, "the edge fades in inside the cell"
    job = await bot.jobs.store.get(job_id_of(varied))
    assert job.workflow == "inpaint" and job.parameters["prompt"] == "a blue bird" and "a blue bird" in embed_text(varied)
    await assert_settled(emu, bot)


async def test_vary_region_refuses_no_cells_and_inpaint_takes_a_mask_image(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    result = await wait_result(emu, await emu.invoke("generate", {"prompt": "an owl"}))
    opened = await emu.click(result, next(c for c in result.custom_ids if ":region:" in c))
    refused = await emu.submit_modal(opened, {"cells": [str(n) for n in range(9)]})
    assert "one to eight of the nine" in refused.original_message.content

    photo, mask = png_bytes(96, 64, "blue"), Image.new("RGB", (96, 64), "black")
    mask.paste((255, 255, 255), (48, 0, 96, 64))  # the right half changes
    buffer = io.BytesIO()
    mask.save(buffer, "PNG")
    inter = await emu.invoke("inpaint", {"prompt": "a yellow sun"}, attachments={
        "image": ("photo.png", photo, "image/png"), "mask": ("mask.png", buffer.getvalue(), "image/png")})
    out = decoded((await wait_result(emu, inter, timeout=30)).attachments[0].data)
    assert same(out.crop((0, 0, 48, 64)), decoded(photo).crop((0, 0, 48, 64)))
    assert not same(out.crop((48, 0, 96, 64)), decoded(photo).crop((48, 0, 96, 64)))
    await assert_settled(emu, bot)
