"""Zoom Out and Pan end to end: the canvas grows where the user asked, the new area is filled by
FLUX.1 Fill, the original pixels stay exactly as they were, moves chain, and a size cap is
named under the result."""

from __future__ import annotations

import io

from PIL import Image, ImageChops

from tests.bot.support import assert_settled, embed_text, image_size, png_bytes, wait_result

FEATHER = 40  # the workflow's ImagePadForOutpaint feathering: the original blends in over it


def decoded(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def same(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and ImageChops.difference(a, b).getbbox() is None


def last_graph(fake) -> dict:
    return list(fake.worker.history.values())[-1]["prompt"][2]


def node(graph, class_type: str) -> dict:
    return next(n["inputs"] for n in graph.values() if n["class_type"] == class_type)


def click_id(message, name: str) -> str:
    return next(c for c in message.custom_ids if c.split(":")[1] == name)


async def test_zoom_out_2x_of_a_1024_result_is_2048_with_the_original_centred_and_unchanged_then_capped(
        discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    result = await wait_result(emu, await emu.invoke("generate", {"prompt": "a red fox", "aspect_ratio": "1:1"}))
    original = decoded(result.attachments[0].data)
    assert original.size == (1024, 1024)
    zoomed = await wait_result(emu, await emu.click(result, click_id(result, "zoom_2")), timeout=30)

    out = decoded(zoomed.attachments[0].data)
    assert out.size == (2048, 2048)
    inner = (FEATHER, FEATHER, 1024 - FEATHER, 1024 - FEATHER)
    assert same(out.crop((512 + FEATHER, 512 + FEATHER, 1536 - FEATHER, 1536 - FEATHER)), original.crop(inner))
    border = out.crop((0, 0, 2048, 400))
    assert len(border.getcolors(1 << 16) or range(2)) > 1, "the new area was painted, not left flat grey"
    graph = last_graph(fake_comfyui)
    assert {k: node(graph, "ImagePadForOutpaint")[k] for k in ("left", "top", "right", "bottom")} == dict.fromkeys(
        ("left", "top", "right", "bottom"), 512)
    assert node(graph, "UNETLoader")["unet_name"] == "flux1-fill-dev.safetensors"
    assert node(graph, "CLIPTextEncode")["text"] == "a red fox", "the result's prompt guides the new area"
    assert {"InpaintModelConditioning", "DifferentialDiffusion"} <= {n["class_type"] for n in graph.values()}
    assert "From FLUX.1 Fill" not in embed_text(zoomed)

    again = await wait_result(emu, await emu.click(zoomed, click_id(zoomed, "zoom_2")), timeout=30)
    assert image_size(again.attachments[0].data) == (2048, 2048)
    text = embed_text(again)
    assert "From FLUX.1 Fill's size cap (2048 px a side, 4.2 MP): height, width" in text
    assert "Width: 2048" in text and "Height: 2048" in text
    await assert_settled(emu, bot)


async def test_pan_left_widens_by_half_on_the_left_keeping_the_original(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    result = await wait_result(emu, await emu.invoke("generate", {"prompt": "a green forest"}))
    original = decoded(result.attachments[0].data)
    panned = await wait_result(emu, await emu.click(result, click_id(result, "pan_left")), timeout=30)

    out = decoded(panned.attachments[0].data)
    assert out.size == (1536, 1024)
    # only the left side was padded: the original is exact up to its top, right and bottom edges
    assert same(out.crop((512 + FEATHER, 0, 1536, 1024)), original.crop((FEATHER, 0, 1024, 1024)))
    assert not same(out.crop((0, 0, 512, 1024)), Image.new("RGB", (512, 1024), (128, 128, 128)))
    assert {"Zoom Out 1.5×", "Zoom Out 2×", "Pan"} <= {c.get("label") for c in panned.iter_components()}, \
        "a panned result can be zoomed and panned again"
    await assert_settled(emu, bot)


async def test_the_outpaint_command_caps_the_size_to_the_servers_upload_limit_and_says_so(
        discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    emu.attachment_size_limit = 400_000  # a small server: 400 kB uploads
    photo = png_bytes(400, 300, "blue")
    inter = await emu.invoke("outpaint", {"move": "up", "prompt": "a blue sky"},
                             attachments={"image": ("photo.png", photo, "image/png")})
    result = await wait_result(emu, inter, timeout=30)
    assert image_size(result.attachments[0].data) == (400, 452), "up grows the top by half (150, rounded to 152)"
    assert node(last_graph(fake_comfyui), "ImagePadForOutpaint")["top"] == 152
    assert "size cap" not in embed_text(result) and "upload limit" not in embed_text(result)

    big = png_bytes(600, 500, "blue")
    inter = await emu.invoke("outpaint", {"move": "zoom_2"}, attachments={"image": ("big.png", big, "image/png")})
    capped = await wait_result(emu, inter, timeout=30)
    width, height = image_size(capped.attachments[0].data)
    assert width * height <= 400_000 and (width, height) != (1200, 1000)
    assert "From this server's upload limit: height, width" in embed_text(capped)
    await assert_settled(emu, bot)
