"""Attachment reads stop at the image limit whatever size Discord declared."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from aiohttp import web

from discomfy.bot.attachments import read_capped
from discomfy.core.validators.image import ImageValidator
from discomfy.exceptions import ValidationError
from tests.bot.support import png_bytes


@pytest.fixture
async def cdn():
    """A CDN whose /endless body never ends, and whose /small body is a real PNG."""
    served = {"endless": 0}

    async def endless(request):
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        await response.prepare(request)
        chunk = b"\x89PNG" + b"\0" * (64 * 1024 - 4)
        try:
            while True:
                await response.write(chunk)
                served["endless"] += len(chunk)
        except (ConnectionResetError, asyncio.CancelledError):
            return response

    async def small(request):
        return web.Response(body=png_bytes(), content_type="image/png")

    app = web.Application()
    app.router.add_get("/endless", endless)
    app.router.add_get("/small", small)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", served
    await runner.cleanup()


async def test_a_body_larger_than_declared_is_cut_at_the_limit(cdn):
    base, served = cdn
    validator = ImageValidator(max_size_mb=1)
    liar = SimpleNamespace(url=f"{base}/endless", filename="tiny.png", size=2048, content_type="image/png")
    with pytest.raises(ValidationError) as refused:
        await asyncio.wait_for(read_capped(liar, validator, field="image"), 10)  # an endless body: only a cap ends it
    assert "tiny.png" in refused.value.user_message and "1 MB limit" in refused.value.user_message
    assert refused.value.field == "image"


async def test_an_honest_attachment_is_read_whole(cdn):
    base, _ = cdn
    honest = SimpleNamespace(url=f"{base}/small", filename="ok.png", size=len(png_bytes()), content_type="image/png")
    assert await read_capped(honest, ImageValidator(max_size_mb=1)) == png_bytes()


async def test_a_missing_file_is_a_clear_refusal(cdn):
    base, _ = cdn
    gone = SimpleNamespace(url=f"{base}/nope", filename="gone.png", size=10, content_type="image/png")
    with pytest.raises(ValidationError, match="attach it again"):
        await read_capped(gone, ImageValidator(max_size_mb=1))


async def test_an_edit_whose_image_is_bigger_than_declared_is_refused_naming_the_limit(discord_emulator, start_bot, monkeypatch):
    """End to end: the interaction declares 2 KB, the CDN serves 2 MB; the limit is 1 MB."""
    from discomfy.testing.discord_emulator.messages import StoredAttachment

    declared = StoredAttachment.to_payload

    def lying(self):
        payload = declared(self)
        if self.filename == "big.png":
            payload["size"] = 2048
        return payload

    monkeypatch.setattr(StoredAttachment, "to_payload", lying)
    big = png_bytes() + b"\0" * (2 * 1024 * 1024)
    emu = discord_emulator
    async with start_bot(**{"limits.max_image_mb": 1}):
        inter = await emu.invoke("editflux", {"prompt": "a hat"}, attachments={"image": ("big.png", big, "image/png")})
        text = inter.original_message.content if inter.original_message else str(inter.response)
    assert inter.original_message.ephemeral and "big.png" in text and "1 MB limit" in text, text
    assert not [r for r in emu.requests if r.path.endswith("/prompt")]
