"""What a user reads about /generate's options says which model limits them, and no message
offers an option a user cannot give (issue 20, point 9)."""

from __future__ import annotations

from tests.bot.support import answer_text, assert_settled

HIDDEN = ("init_image", "denoise")  # set by the Vary buttons, never a slash option


def generate_options(emu) -> dict[str, dict]:
    command = next(c for c in emu.commands if c["name"] == "generate")
    return {o["name"]: o for o in command["options"]}


async def test_option_descriptions_name_the_model_that_limits_them(discord_emulator, bot):
    options = generate_options(discord_emulator)
    assert (options["steps"]["min_value"], options["steps"]["max_value"]) == (10, 60)
    assert "10–60; flux up to 50" in options["steps"]["description"]
    assert options["cfg"]["description"].endswith("sdxl only")
    assert options["guidance"]["description"].endswith("flux only")
    assert all(len(o["description"]) <= 100 for o in options.values())
    assert not set(HIDDEN) & set(options)
    await assert_settled(discord_emulator, bot)


async def test_refusals_name_the_model_and_never_a_hidden_option(discord_emulator, bot):
    emu = discord_emulator
    steps = await answer_text(emu, await emu.invoke("generate", {"prompt": "x", "steps": 55}))
    assert "between 10 and 50 (you gave 55)" in steps and "model flux" in steps, steps
    cfg = await answer_text(emu, await emu.invoke("generate", {"prompt": "x", "cfg": 5.0}))
    assert "`cfg` is not an option of model flux" in cfg, cfg
    assert not any(name in cfg for name in HIDDEN), cfg
    await assert_settled(emu, bot)
