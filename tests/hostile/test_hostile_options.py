"""Property-based hostile slash-command options, sent raw through the emulator to the real bot.

Strings with every kind of unicode (control characters, bidi overrides, NUL, emoji), lengths
around and far past the limits, numbers out of range or of the wrong type, NaN and infinity,
strings where numbers belong, choices that are not choices, LoRA names that are paths, and
options that exist for one model but not the one chosen. The bot must answer each: accept it
(valid) and deliver, or refuse it ephemerally naming what was wrong; it must never crash and
nothing refused may reach ComfyUI.
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.faults.audit import until
from tests.hostile.oracle import expect_options, judge

NUMBER = 10  # Discord's option type for floats

HOSTILE = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                          HealthCheck.data_too_large])

NAN_LIKE = ["NaN", "nan", "-nan", "inf", "-Infinity", "1e309", "", " ", "12abc", "None", "null", "0x1A", "½", "--5"]
# A NUMBER option reaches discord.py's Namespace, which calls float() on it before any bot code
# runs: strings float() cannot parse crash discord.py itself (Discord never sends them), so
# number options get only the NaN-like strings float() turns into nan/inf.
FLOAT_LIKE = ["NaN", "nan", "-nan", "inf", "-Infinity", "1e309", "-1e309"]
ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=60)
NASTY_TEXT = st.sampled_from(["\x00", "a\x00b", "\u202eevil", "\x1b[31mred", "🦊" * 50, "\ufeff", "\r\n\t", "zalgơ̴̡"])
PATHS = st.sampled_from(["../../etc/passwd", "/abs/path.safetensors", "..\\..\\win.ini", "style_a.safetensors\x00.png",
                         "STYLE_A.SAFETENSORS", "style_a", "sdxl/../style_a.safetensors"])


def numbers(low: float, high: float, integer: bool) -> st.SearchStrategy:
    valid = st.integers(int(low), int(high)) if integer else st.floats(low, high, allow_nan=False)
    return st.one_of(
        valid,
        st.integers(-(2 ** 70), 2 ** 70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(NAN_LIKE if integer else FLOAT_LIKE),
        st.booleans(),
    )


def generate_options() -> st.SearchStrategy[dict]:
    optional = {
        "aspect_ratio": st.one_of(st.sampled_from(["1:1", "16:9", "21:9"]), ANY_TEXT, st.integers()),
        "steps": numbers(10, 50, True),
        "guidance": numbers(1.0, 10.0, False),
        "cfg": numbers(1.0, 15.0, False),
        "seed": st.one_of(st.integers(-1, 2 ** 53 - 1), st.integers(-(2 ** 80), 2 ** 80), st.sampled_from(NAN_LIKE)),
        "batch": numbers(1, 4, True),
        "lora": st.one_of(st.sampled_from(["style_a.safetensors", "sdxl/detail_tweaker.safetensors"]), ANY_TEXT, PATHS),
        "lora_strength": numbers(-2.0, 2.0, False),
        "negative_prompt": st.one_of(ANY_TEXT, NASTY_TEXT, st.integers(1990, 2010).map(lambda n: "n" * n)),
        "model": st.one_of(st.sampled_from(["flux", "sdxl"]), ANY_TEXT),
    }
    prompt = st.one_of(
        ANY_TEXT.filter(lambda s: s != ""),
        NASTY_TEXT,
        st.integers(1995, 2005).map(lambda n: "é" * n),
        st.sampled_from([6001, 100_000]).map(lambda n: "x" * n),
        st.just(""),
        st.integers(),
    )
    return st.fixed_dictionaries({"prompt": prompt}, optional=optional)


async def idle(bot) -> bool:
    return not await bot.jobs.store.unfinished()


def shown(values: dict) -> dict:
    """The example, short enough to read in a failure report."""
    return {k: (v[:40] + f"...({len(v)})" if isinstance(v, str) and len(v) > 40 else v) for k, v in values.items()}


@HOSTILE
@given(values=generate_options())
async def test_hostile_generate_options_are_refused_clearly_or_delivered(hostile_bot, discord_emulator, fake_comfyui,
                                                                         hostile_tally, values):
    emu, fake, bot = discord_emulator, fake_comfyui, hostile_bot
    command = next(c.command for c in bot.cogs.values() if getattr(c, "command_name", None) == "generate")
    numbers_ = {o["name"] for o in emu.command("generate")["options"] if o["type"] == NUMBER}
    expected = expect_options(command.workflows, command.default_model, fake.loras, values, numbers_)
    await until(lambda: idle(bot), what="the previous example's job finished")
    user = emu.make_user(f"hostile{len(emu.users)}")
    before = (fake.count("POST", "/prompt"), fake.count("POST", "/upload"))
    hostile_tally["tried"] += 1
    hostile_tally["commands"] += 1
    try:
        interaction = await emu.invoke("generate", values, user=user, strict=False, timeout=4.0)
    except AssertionError:
        hostile_tally["crashes"] += 1
        raise
    given_strings = [v for v in values.values() if isinstance(v, str)]
    given_strings += [str(v) for v in values.values() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    given_strings += [repr(v) for v in values.values() if isinstance(v, float) and not math.isfinite(v)]
    try:
        await judge(emu, fake, bot, interaction, user, expected, hostile_tally, before, given_strings)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n  input: {shown(values)}\n  expected: {expected}") from None
    assert not emu.violations and not emu.unhandled
