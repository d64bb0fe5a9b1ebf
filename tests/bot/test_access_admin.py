"""Who may use the bot where, and the owner-only /discomfy commands."""

from __future__ import annotations

import asyncio


async def test_a_channel_outside_allowed_channels_is_refused_with_the_allowed_one_named(discord_emulator, start_bot):
    emu = discord_emulator
    async with start_bot(**{"discord.allowed_channels": [int(emu.channel_id) + 1]}):
        inter = await emu.invoke("generate", {"prompt": "a cat"})
        assert inter.response["type"] == 4 and inter.response["data"]["flags"] & 64  # ephemeral
        assert f"<#{int(emu.channel_id) + 1}>" in inter.response["data"]["content"]
    assert not [r for r in emu.requests if r.path.endswith("/prompt")]
    assert not emu.violations and not emu.unhandled


async def test_a_user_without_an_allowed_role_is_refused(discord_emulator, start_bot):
    emu = discord_emulator
    async with start_bot(**{"discord.allowed_roles": [123456789]}):
        inter = await emu.invoke("generate", {"prompt": "a cat"}, user=emu.make_user("norole"))
        assert "roles allowed" in inter.response["data"]["content"]
    assert not emu.violations and not emu.unhandled


async def test_another_guild_is_refused(discord_emulator, start_bot):
    emu = discord_emulator
    async with start_bot(**{"discord.allowed_guilds": [1]}):
        inter = await emu.invoke("help")
        assert "not enabled in this server" in inter.response["data"]["content"]


async def test_admin_commands_are_owner_only(discord_emulator, start_bot):
    emu = discord_emulator
    owner = emu.make_user("owner")
    async with start_bot(**{"discord.owner_ids": [int(owner.id)]}):
        refused = await emu.invoke("discomfy plugins", user=emu.make_user("mallory"))
        assert "Only the bot's owners" in refused.response["data"]["content"]

        report = await emu.invoke("discomfy plugins", user=owner)
        text = report.response["data"]["content"]
        assert "loaded   generate" in text and "loaded   sdxl" in text

        synced = await emu.invoke("discomfy sync", {"scope": "guild"}, user=owner)
        await synced.wait_response()
        message = await emu.wait_for_message(lambda m: m.id == synced.original_message.id and not m.loading)
        assert "up to date" in message.content  # nothing changed since start: no API call spent

        reloaded = await emu.invoke("discomfy reload", user=owner)
        message = await emu.wait_for_message(lambda m: m.id == reloaded.original_message.id and not m.loading, timeout=10)
        assert "Reloaded:" in message.content and "generate" in message.content
        after = await emu.invoke("generate", {"prompt": "still works", "seed": 3})
        assert after.response["type"] == 4
    assert not emu.violations and not emu.unhandled


async def test_admin_group_is_hidden_from_non_administrators_and_a_refusal_is_answered_once(discord_emulator, start_bot):
    emu = discord_emulator
    owner = emu.make_user("owner")
    async with start_bot(**{"discord.owner_ids": [int(owner.id)]}):
        # Discord hides a command whose default_member_permissions the member lacks ("8": administrator)
        assert str(emu.command("discomfy")["default_member_permissions"]) == "8"
        assert emu.command("generate").get("default_member_permissions") in (None, "")
        mallory = emu.make_user("mallory")  # invoked anyway (a server admin granted it, or a stale client)
        refused = await emu.invoke("discomfy reload", user=mallory)
        await asyncio.sleep(0.3)  # room for a second, wrong reply to arrive
        answers = [r for r in emu.requests if r.path.startswith((f"/interactions/{refused.id}/", f"/webhooks/{emu.application_id}/{refused.token}"))]
        assert len(answers) == 1, answers
        assert "Only the bot's owners" in refused.response["data"]["content"] and not refused.followups
    assert not emu.violations and not emu.unhandled
