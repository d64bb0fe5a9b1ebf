"""What the bot should do with an input, decided independently of the bot's own code, and
the check of what it actually did.

The oracle reads the plugins' JSON schemas (the published contract) and decodes attachments
with Pillow; it never calls the bot's validators. Verdicts: ``VALID`` (must be accepted),
``INVALID`` with the names of the offending fields (must be refused naming one of them), or
``EITHER`` (a debatable input, e.g. real PNG bytes sent as ``text/plain``: any outcome is fine
as long as it is clean).
"""

from __future__ import annotations

import io
import math
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from PIL import Image

from discomfy.testing.audit import seen
from tests.faults.audit import settle

VALID, INVALID, EITHER = "valid", "invalid", "either"
RAW_ERROR_SIGNS = ("error id", "Traceback", "Exception", "http://", "https://", "127.0.0.1", "Errno")


@dataclass
class Expectation:
    verdict: str
    fields: set[str] = field(default_factory=set)


def as_discordpy_sees(values: dict[str, Any], number_options: set[str]) -> dict[str, Any]:
    """discord.py turns a NUMBER option into ``float(value)`` before the bot sees it (so
    ``true`` becomes 1.0 and "NaN" becomes nan); values float() refuses are left as sent."""
    seen = dict(values)
    for name in number_options & set(values):
        try:
            seen[name] = float(values[name])
        except (TypeError, ValueError, OverflowError):
            pass
    return seen


def expect_options(specs: dict[str, Any], default_model: str, installed_loras: list[str],
                   values: dict[str, Any], number_options: set[str] = frozenset()) -> Expectation:
    """Per-field check of ``values`` against the chosen model's published schema."""
    values = as_discordpy_sees(values, set(number_options))
    model = values.get("model")
    if model is not None and model not in specs:
        return Expectation(INVALID, {"model"})
    spec = specs[model if model is not None else default_model]
    props = spec.parameters
    bad = set()
    for name, value in values.items():
        if name == "model":
            continue
        if name not in props:
            bad.add(name)
            continue
        if isinstance(value, float) and not math.isfinite(value):
            bad.add(name)
            continue
        schema = {k: v for k, v in props[name].items() if not k.startswith("x-")}
        if isinstance(value, bool) and schema.get("type") in ("integer", "number"):
            bad.add(name)  # JSON Schema says true is not a number; so does the bot's contract
            continue
        if list(jsonschema.Draft202012Validator(schema).iter_errors(value)):
            bad.add(name)
    bad |= {name for name in spec.required_parameters if name not in values}
    lora = values.get("lora")
    if isinstance(lora, str) and "lora" in props and lora not in installed_loras:
        bad.add("lora")
    return Expectation(INVALID, bad) if bad else Expectation(VALID)


IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif", "BMP": "image/bmp"}


def expect_image(data: bytes, content_type: str, *, max_bytes: int, max_pixels: int) -> Expectation:
    """VALID: a complete image of an accepted format and size, sent with its own (or no) type."""
    if not data or len(data) > max_bytes:
        return Expectation(INVALID, {"image"})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                fmt = image.format
                if image.width * image.height > max_pixels:
                    return Expectation(INVALID, {"image"})
                image.load()
    except Exception:  # noqa: BLE001 - anything Pillow cannot fully decode is not an image
        return Expectation(INVALID, {"image"})
    if fmt not in IMAGE_TYPES:
        return Expectation(INVALID, {"image"})
    if content_type in ("", "application/octet-stream", IMAGE_TYPES[fmt]):
        return Expectation(VALID)
    return Expectation(EITHER)


def text_of(message: Any) -> str:
    parts = [message.content or ""]
    for embed in message.embeds:
        parts += [embed.get("title") or "", embed.get("description") or ""]
    return "\n".join(parts)


async def judge(emu: Any, fake: Any, bot: Any, interaction: Any, user: Any, expected: Expectation,
                tally: Counter, before: tuple[int, int], given: list[Any] = ()) -> None:
    """Assert the answer to one hostile input is what ``expected`` allows; count it.
    ``given`` are the user's own strings, which a refusal may quote back."""
    message = interaction.original_message
    assert message is not None, f"no message answered {interaction.describe()}: {interaction.response}"
    text = text_of(message)
    own = text
    for value in given:
        if isinstance(value, str) and value:
            own = own.replace(value, "")
    if any(sign in own for sign in RAW_ERROR_SIGNS):
        tally["crashes"] += 1
        raise AssertionError(f"the bot crashed or leaked internals on this input: {text!r}")
    reached = (fake.count("POST", "/prompt") - before[0], fake.count("POST", "/upload") - before[1])
    if message.ephemeral:
        assert message.content.strip(), "a refusal must say what was wrong"
        if reached != (0, 0):
            tally["unvalidated"] += 1
        assert reached == (0, 0), f"a refused input reached ComfyUI: {reached} ({text!r})"
        assert expected.verdict != VALID, f"a valid input was refused: {text!r}"
        if expected.verdict == INVALID:
            lowered = text.lower()
            assert any(name.lower() in lowered for name in expected.fields), \
                f"the refusal names none of the bad fields {sorted(expected.fields)}: {text!r}"
        tally["refused"] += 1
        return
    finished = await settle(bot.jobs.store, [user], emu=emu, timeout=15)  # before judging: the next example starts clean
    if expected.verdict == INVALID:
        tally["unvalidated"] += 1
        raise AssertionError(f"an invalid input ({sorted(expected.fields)}) was accepted: {text!r}")
    assert finished, f"the accepted job did not finish: {text!r}"
    (job,) = await bot.jobs.store.jobs_for_user(int(user.id), active_only=False)
    assert job.state.value == "delivered", (job.state, job.error_message)
    assert seen(emu, job.id).kind == "result", f"the user was not shown the result of job {job.id}"
    assert fake.count("POST", "/prompt") - before[0] == 1, "an accepted job is queued on ComfyUI exactly once"
    tally["accepted"] += 1
