"""Property-based hostile attachments for /editflux and /editqwen, through the emulator's CDN.

Random bytes, truncated PNG/JPEG/WEBP, valid images behind a wrong magic number, formats the
bot does not accept, a real 49-megapixel decompression bomb and headers declaring even larger
images, zero bytes, 30 MB, all under misleading names and content types. Each must be refused
ephemerally (naming the image problem) before anything is uploaded to ComfyUI; every real
image of an accepted format must go through and come back edited.
"""

from __future__ import annotations

import functools
import io
import mimetypes
import struct
import zlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.faults.audit import until
from tests.hostile.oracle import EITHER, INVALID, VALID, Expectation, expect_image, judge

HOSTILE = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                          HealthCheck.data_too_large])
MIB = 1024 * 1024


@functools.lru_cache(maxsize=None)
def encoded(fmt: str, size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    mode = "RGB" if fmt not in ("GIF",) else "P"
    Image.new(mode, size, 7).save(buffer, fmt)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_declaring(width: int, height: int, rows: bytes = b"") -> bytes:
    """A PNG whose header claims ``width`` x ``height`` 1-bit grey pixels; ``rows`` is the raw data."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(rows, 9))
            + png_chunk(b"IEND", b""))


@functools.lru_cache(maxsize=None)
def decompression_bomb() -> bytes:
    """A complete, decodable 7000 x 7000 PNG (49 megapixels) of a few kilobytes."""
    side = 7000
    row = b"\x00" + bytes((side + 7) // 8)
    return png_declaring(side, side, row * side)


@functools.lru_cache(maxsize=None)
def thirty_megabytes() -> bytes:
    return encoded("PNG") + bytes(30 * MIB)


FORMATS = st.sampled_from(["PNG", "JPEG", "WEBP", "GIF", "BMP"])
IMAGE_BYTES = st.one_of(
    FORMATS.map(encoded),                                                   # real images
    st.binary(max_size=2048),                                               # noise
    st.tuples(FORMATS.map(encoded), st.floats(0.05, 0.95)).map(lambda t: t[0][: int(len(t[0]) * t[1])]),  # truncated
    st.tuples(FORMATS.map(encoded), st.binary(min_size=4, max_size=8)).map(lambda t: t[1] + t[0][len(t[1]):]),  # wrong magic
    st.sampled_from(["TIFF", "ICO", "PPM"]).map(encoded),                   # images of formats not accepted
    st.just(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
    st.tuples(st.integers(7000, 65535), st.integers(7000, 65535)).map(lambda wh: png_declaring(*wh)),  # huge header
    st.just(b"").map(lambda _: decompression_bomb()),
    st.just(b""),                                                           # zero bytes
    st.just(b"").map(lambda _: thirty_megabytes()),                         # 30 MB
)
CONTENT_TYPES = st.sampled_from(["image/png", "image/jpeg", "image/webp", "application/octet-stream", "text/plain",
                                 "image/svg+xml", "image/tiff", ""])
FILENAMES = st.sampled_from(["cat.png", "photo.jpg", "..etc.passwd", "évil_ünïcode.webp", "a" * 150 + ".png",
                             "noext", "x.exe", "IMAGE.PNG", "tick`name.png", "con.png"])
ATTACHMENT = st.tuples(FILENAMES, IMAGE_BYTES, CONTENT_TYPES)


def effective_type(filename: str, content_type: str) -> str:
    """The type the emulator (like Discord) stores: guessed from the name when none is given."""
    if content_type and content_type != "application/octet-stream":
        return content_type
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def combined(verdicts: list[Expectation], names: list[str]) -> Expectation:
    """All valid: VALID; any invalid: INVALID, and the refusal must name "image" or the file."""
    if any(v.verdict == INVALID for v in verdicts):
        return Expectation(INVALID, {"image", *(n[:20].replace("`", "'") for n in names)})
    if all(v.verdict == VALID for v in verdicts):
        return Expectation(VALID)
    return Expectation(EITHER)


async def idle(bot) -> bool:
    return not await bot.jobs.store.unfinished()


@HOSTILE
@given(command=st.sampled_from(["editflux", "editqwen"]), first=ATTACHMENT, second=st.none() | ATTACHMENT)
async def test_hostile_attachments_are_refused_before_comfyui_or_edited(hostile_bot, discord_emulator, fake_comfyui,
                                                                        hostile_tally, command, first, second):
    emu, fake, bot = discord_emulator, fake_comfyui, hostile_bot
    attachments = {"image": first}
    if command == "editqwen" and second is not None:
        attachments["image2"] = second
    limits = bot.config.limits
    expected = combined([expect_image(data, effective_type(name, ctype), max_bytes=int(limits.max_image_mb * MIB),
                                      max_pixels=int(limits.max_image_pixels))
                         for name, data, ctype in attachments.values()], [n for n, _, _ in attachments.values()])
    await until(lambda: idle(bot), what="the previous example's job finished")
    user = emu.make_user(f"hostile{len(emu.users)}")
    before = (fake.count("POST", "/prompt"), fake.count("POST", "/upload"))
    hostile_tally["tried"] += 1
    hostile_tally["attachments"] += len(attachments)
    try:
        interaction = await emu.invoke(command, {"prompt": "make it blue"}, user=user, attachments=attachments,
                                       strict=False, timeout=4.0)
    except AssertionError:
        hostile_tally["crashes"] += 1
        raise
    shown = {k: (name[:20], len(data), data[:8], ctype) for k, (name, data, ctype) in attachments.items()}
    try:
        await judge(emu, fake, bot, interaction, user, expected, hostile_tally, before, [n for n, _, _ in attachments.values()])
        if not interaction.original_message.ephemeral:
            assert fake.count("POST", "/upload") - before[1] == len(attachments), "each image uploaded once"
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n  /{command} attachments: {shown}\n  expected: {expected}") from None
    assert not emu.violations and not emu.unhandled
