"""Allowed channels and roles are checked for every command, autocomplete and button."""

from __future__ import annotations

from tests.bot.support import answer_text, assert_settled, wait_result


async def test_users_without_an_allowed_role_are_refused_everywhere(discord_emulator, fake_comfyui, start_bot):
    emu = discord_emulator
    alice, bob = emu.make_user("alice"), emu.make_user("bob")
    async with start_bot(**{"discord.allowed_roles": [4242], "discord.owner_ids": [int(alice.id)]}) as bot:
        result = await wait_result(emu, await emu.invoke("generate", {"prompt": "owner's picture"}, user=alice))
        refused = await emu.invoke("generate", {"prompt": "x"}, user=bob)
        assert "roles" in await answer_text(emu, refused)
        assert await emu.autocomplete("generate", {"prompt": "x", "lora": "sty"}, focused="lora", user=bob) == []
        click = await emu.click(result, next(c for c in result.custom_ids if ":reroll:" in c), user=bob)
        assert "roles" in await answer_text(emu, click)
        assert len(fake_comfyui.worker.history) == 1, "bob started nothing"
        await assert_settled(emu, bot)


async def test_commands_outside_the_allowed_channels_are_refused_with_where_to_go(discord_emulator, start_bot):
    emu = discord_emulator
    async with start_bot(**{"discord.allowed_channels": [123456789]}) as bot:
        refused = await emu.invoke("generate", {"prompt": "x"})
        assert "<#123456789>" in await answer_text(emu, refused)
        await assert_settled(emu, bot)
