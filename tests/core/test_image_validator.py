"""ImageValidator: every kind of bad attachment is refused with a message naming the problem
and what is accepted; good images pass with their real format and size."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from discomfy.core.validators.image import ImageValidator, ValidationResult

ACCEPTED = "Attach a PNG, JPEG, WEBP, GIF or BMP up to 25 MB."

# Pillow warns when it opens the header of a bomb; the tests assert the refusal itself.
pytestmark = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")


@dataclass
class FakeAttachment:
    """What the validator needs of a discord.Attachment."""

    filename: str
    content_type: str | None
    size: int


def encode(fmt: str, size=(32, 24), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (200, 30, 90)).save(buffer, format=fmt)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims the given size but whose pixel data is a few bytes: the shape
    of a decompression bomb, without needing gigabytes to build one."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.fixture
def validator() -> ImageValidator:
    return ImageValidator()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF", "BMP"])
def test_each_accepted_format_passes_with_its_real_format_and_size(validator, fmt):
    data = encode(fmt)
    result = validator.validate_bytes(data, f"pic.{fmt.lower()}", f"image/{fmt.lower()}")
    assert result == ValidationResult(True, None, fmt, 32, 24, len(data))


def test_attachment_with_bytes_is_decoded(validator):
    data = encode("PNG")
    result = validator.validate(FakeAttachment("cat.png", "image/png", len(data)), data)
    assert result.is_valid and result.format == "PNG" and result.width == 32


def test_text_file_is_refused_by_content_type_with_the_accepted_list(validator):
    result = validator.validate(FakeAttachment("notes.txt", "text/plain", 120))
    assert not result.is_valid
    assert result.error_message == f"`notes.txt` is not an image (text/plain). {ACCEPTED}"


def test_metadata_only_check_passes_plausible_image_without_decoding(validator):
    result = validator.validate(FakeAttachment("cat.png", "image/png", 5000))
    assert result.is_valid and result.format == "PNG" and result.width is None


def test_oversize_attachment_is_refused_from_metadata(validator):
    result = validator.validate(FakeAttachment("big.png", "image/png", 30 * 1024 * 1024))
    assert not result.is_valid
    assert result.error_message == f"`big.png` is 30.0 MB, over the 25 MB limit. {ACCEPTED}"


def test_thirty_megabytes_of_bytes_is_refused_before_decoding(validator):
    result = validator.validate_bytes(b"\x89PNG" + bytes(30 * 1024 * 1024), "huge.png", "image/png")
    assert not result.is_valid and "over the 25 MB limit" in result.error_message
    assert result.size_bytes == 30 * 1024 * 1024 + 4


def test_zero_bytes_are_refused(validator):
    result = validator.validate_bytes(b"", "empty.png", "image/png")
    assert result.error_message == f"`empty.png` is empty (0 bytes). {ACCEPTED}"
    assert not validator.validate(FakeAttachment("empty.png", "image/png", 0)).is_valid


def test_image_format_not_allowed_is_named(validator):
    data = encode("TIFF")
    result = validator.validate_bytes(data, "scan.tiff", "image/tiff")
    assert result.error_message == f"`scan.tiff` is a TIFF image (image/tiff), which is not accepted. {ACCEPTED}"
    # a TIFF renamed to .png and declared as PNG is caught by its real format
    result = validator.validate_bytes(data, "scan.png", "image/png")
    assert result.error_message == f"`scan.png` is a TIFF image, which is not accepted. {ACCEPTED}"
    assert result.format == "TIFF"


def test_wrong_magic_is_refused_as_not_an_image(validator):
    data = bytearray(encode("PNG"))
    data[:8] = b"NOTAPNG!"
    result = validator.validate_bytes(bytes(data), "fake.png", "image/png")
    assert not result.is_valid
    assert "`fake.png` is not a readable image" in result.error_message
    assert result.error_message.endswith(ACCEPTED)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF", "BMP"])
def test_truncated_image_is_refused_as_damaged(validator, fmt):
    data = encode(fmt, size=(64, 64), mode="RGB")
    cut = data[: len(data) * 2 // 3]
    result = validator.validate_bytes(cut, f"cut.{fmt.lower()}")
    assert not result.is_valid, fmt
    assert "damaged" in result.error_message or "not a readable image" in result.error_message


def test_png_with_bad_checksum_is_refused(validator):
    data = bytearray(encode("PNG"))
    data[30] ^= 0xFF  # inside IHDR: its CRC no longer matches
    result = validator.validate_bytes(bytes(data), "crc.png")
    assert not result.is_valid


def test_decompression_bomb_is_refused_on_header_dimensions(validator):
    result = validator.validate_bytes(png_header_only(10_000, 10_000), "bomb.png", "image/png")
    assert not result.is_valid
    assert result.error_message == (
        "`bomb.png` is 10000×10000 pixels (100.0 megapixels), over the limit of 40 megapixels. "
        f"Scale it down. {ACCEPTED}"
    )
    assert (result.width, result.height) == (10_000, 10_000)


def test_bomb_beyond_pillows_own_limit_is_a_clear_refusal(validator):
    result = validator.validate_bytes(png_header_only(60_000, 60_000), "bomb.png", "image/png")
    assert not result.is_valid
    assert "too many pixels" in result.error_message or "megapixels" in result.error_message


def test_pillow_bomb_warning_band_is_refused_even_with_a_higher_own_limit():
    lenient = ImageValidator(max_pixels=10**12)
    result = lenient.validate_bytes(png_header_only(10_000, 10_000), "bomb.png", "image/png")
    assert not result.is_valid
    assert "10000×10000 pixels (100.0 megapixels), over the limit of 89.4785 megapixels" in result.error_message


def test_missing_content_type_falls_back_to_the_bytes(validator):
    data = encode("JPEG")
    assert validator.validate(FakeAttachment("photo", None, len(data)), data).format == "JPEG"
    refused = validator.validate(FakeAttachment("report.pdf", None, 10))
    assert refused.error_message == f"`report.pdf` is not an image (application/pdf). {ACCEPTED}"


def test_octet_stream_lets_the_bytes_decide(validator):
    data = encode("WEBP")
    attachment = FakeAttachment("upload", "application/octet-stream", len(data))
    assert validator.validate(attachment).is_valid
    assert validator.validate(attachment, data).format == "WEBP"
    assert not validator.validate(attachment, b"MZ\x90\x00 not an image").is_valid


def test_unusual_filenames_cannot_break_the_message(validator):
    result = validator.validate_bytes(b"hello", "a`b`" + "x" * 200 + ".txt", "text/plain")
    assert "`" not in result.error_message.split(" is not")[0].strip("`")
    assert len(result.error_message) < 250
    assert validator.validate_bytes(b"hello", None).error_message.startswith("The attachment ")
    assert validator.validate_bytes(b"hi", "two\nlines\x00.txt").error_message.startswith("`twolines.txt` ")


def test_custom_limits_change_the_accepted_text():
    small = ImageValidator(max_size_mb=1.5, allowed_formats=("png",))
    result = small.validate_bytes(encode("JPEG"), "p.jpg", "image/jpeg")
    assert result.error_message == "`p.jpg` is a JPEG image (image/jpeg), which is not accepted. Attach a PNG up to 1.5 MB."


def test_from_config_reads_the_limits_section(tmp_path):
    from discomfy.config import get_config

    (tmp_path / "settings.toml").write_text("[limits]\nmax_image_mb = 2\n")
    built = ImageValidator.from_config(get_config(tmp_path))
    assert built.max_bytes == 2 * 1024 * 1024
    assert built.allowed_formats == ("PNG", "JPEG", "WEBP", "GIF", "BMP")
    assert built.max_pixels == 40_000_000


# --- hostile input: nothing raises, every refusal is a clear message --------------------------

GOOD = [encode(f) for f in ("PNG", "JPEG", "WEBP", "GIF", "BMP")]


def hostile_bytes():
    random = st.binary(max_size=4096)
    truncated = st.tuples(st.sampled_from(GOOD), st.floats(0, 1)).map(lambda t: t[0][: int(len(t[0]) * t[1])])
    wrong_magic = st.tuples(st.sampled_from(GOOD), st.binary(min_size=1, max_size=12)).map(
        lambda t: t[1] + t[0][len(t[1]):]
    )
    flipped = st.tuples(st.sampled_from(GOOD), st.integers(0, 10_000), st.integers(1, 255)).map(
        lambda t: t[0][: t[1] % len(t[0])] + bytes([t[0][t[1] % len(t[0])] ^ t[2]]) + t[0][t[1] % len(t[0]) + 1:]
    )
    huge = st.tuples(st.integers(1, 2**31 - 1), st.integers(1, 2**31 - 1)).map(lambda wh: png_header_only(*wh))
    return st.one_of(random, truncated, wrong_magic, flipped, huge, st.just(b""))


def check_clear(result: ValidationResult, *, decoded: bool = True) -> None:
    assert isinstance(result, ValidationResult)
    if not result.is_valid:
        message = result.error_message
        assert message and message.endswith(ACCEPTED)
        assert message.startswith(("`", "The attachment "))
        after_name = message.split("`", 2)[2] if message.startswith("`") else message
        assert not any(word in after_name for word in ("Traceback", "Error", "Exception"))
    else:
        assert result.error_message is None
        if not decoded:
            return
        assert result.format in ("PNG", "JPEG", "WEBP", "GIF", "BMP")
        assert result.width * result.height <= 40_000_000


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=hostile_bytes(),
    filename=st.one_of(st.none(), st.text(max_size=40)),
    content_type=st.one_of(st.none(), st.text(max_size=30), st.sampled_from(["image/png", "image/jpeg", "text/plain", "image/tiff"])),
)
def test_hostile_bytes_never_raise_and_always_explain(data, filename, content_type):
    check_clear(ImageValidator().validate_bytes(data, filename, content_type))


@settings(max_examples=100, deadline=None)
@given(
    filename=st.one_of(st.none(), st.text(max_size=40)),
    content_type=st.one_of(st.none(), st.integers(), st.text(max_size=30)),
    size=st.one_of(st.none(), st.integers(-5, 40 * 1024 * 1024), st.text(max_size=3)),
)
def test_hostile_metadata_never_raises(filename, content_type, size):
    check_clear(ImageValidator().validate(FakeAttachment(filename, content_type, size)), decoded=False)


def test_thirty_megabytes_property_case():
    check_clear(ImageValidator().validate_bytes(bytes(30 * 1024 * 1024), "x.png"))


def animated_gif(frames: int, size=(16, 16)) -> bytes:
    images = [Image.new("RGB", size, (i % 256, 40, 90)) for i in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=40)
    return buffer.getvalue()


def test_small_animation_passes():
    result = ImageValidator().validate_bytes(animated_gif(5), "a.gif", "image/gif")
    assert result.is_valid and result.format == "GIF"


def test_animation_is_costed_over_all_its_frames():
    validator = ImageValidator(max_pixels=16 * 16 * 10)
    assert validator.validate_bytes(animated_gif(10), "ok.gif").is_valid
    result = validator.validate_bytes(animated_gif(11), "long.gif")
    assert result.error_message == (
        "`long.gif` is an animation of at least 11 frames of 16×16 pixels, over the limit of 0.00256 "
        f"megapixels in all. Send a still image or a shorter, smaller animation. {ACCEPTED}"
    )


def test_animation_frame_cap():
    result = ImageValidator(max_frames=3).validate_bytes(animated_gif(4), "many.gif")
    assert result.error_message.startswith("`many.gif` has more than 3 animation frames.")


async def test_validate_async_gives_the_same_answers_from_threads():
    validator = ImageValidator()
    inputs = [(FakeAttachment("g.png", "image/png", len(GOOD[0])), GOOD[0]),
              (FakeAttachment("b.png", "image/png", 200), png_header_only(10_000, 10_000)),
              (FakeAttachment("t.txt", "text/plain", 5), b"hello")]
    results = await asyncio.gather(*(validator.validate_async(a, d) for a, d in inputs * 5))
    assert results == [validator.validate(a, d) for a, d in inputs * 5]
    assert [r.is_valid for r in results[:3]] == [True, False, False]
