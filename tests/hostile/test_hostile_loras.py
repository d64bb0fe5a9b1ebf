"""Hostile /loras options sent raw: filters of any unicode and length, pages of any size."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile.oracle import RAW_ERROR_SIGNS, text_of

HOSTILE = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
FILTERS = st.one_of(st.text(max_size=100), st.sampled_from(["style", "SDXL/", "\x00", "`", "*" * 100, "🦊" * 25]))


@HOSTILE
@given(filter_=st.none() | FILTERS, page=st.none() | st.integers(-(2 ** 40), 2 ** 40))
async def test_hostile_loras_options_always_get_a_listing_or_a_clear_refusal(hostile_bot, discord_emulator, fake_comfyui,
                                                                             hostile_tally, filter_, page):
    emu = discord_emulator
    values = {k: v for k, v in {"filter": filter_, "page": page}.items() if v is not None}
    hostile_tally["tried"] += 1
    hostile_tally["commands"] += 1
    try:
        interaction = await emu.invoke("loras", values, user=emu.make_user(f"lister{len(emu.users)}"),
                                       strict=False, timeout=4.0)
    except AssertionError:
        hostile_tally["crashes"] += 1
        raise
    message = interaction.original_message
    text = text_of(message).replace(filter_ or "\x00\x00", "")
    assert message.ephemeral, message
    if any(sign in text for sign in RAW_ERROR_SIGNS):
        hostile_tally["crashes"] += 1
        raise AssertionError(f"/loras {values} crashed: {text!r}")
    if message.embeds:
        hostile_tally["accepted"] += 1
    else:
        hostile_tally["refused"] += 1
    assert fake_comfyui.count("POST", "/prompt") == 0
    assert not emu.violations and not emu.unhandled
