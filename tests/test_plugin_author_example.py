"""/generate end to end, written as a plugin author writes a test (see docs/plugins.md, "Testing a plugin end to end")."""


async def test_generate_end_to_end(discomfy_bot, discord_emulator):
    alice = discord_emulator.make_user("alice")
    interaction = await discord_emulator.invoke("generate", {"prompt": "a cat", "seed": 7}, user=alice)
    assert interaction.response["type"] == 4  # answered within 3 s with the progress message

    result = await discord_emulator.wait_for_message(
        lambda m: m.id == interaction.original_message.id and m.attachments, timeout=10)
    assert result.attachments[0].data.startswith(b"\x89PNG")
    assert "7" in str(result.embeds[0]["fields"])  # the seed is shown so it can be reused

    assert not discord_emulator.violations and not discord_emulator.unhandled
