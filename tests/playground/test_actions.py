"""What the composer's text becomes, checked against a bot with user, boolean and subcommand options."""

from __future__ import annotations

import logging

import pytest

from discomfy.playground.actions import ActionRefused, PageActions
from tests.emulator.probe_cog import ProbeBot


@pytest.fixture
async def probe(discord_emulator):
    logging.getLogger("discord").setLevel(logging.ERROR)
    async with discord_emulator.run_bot(ProbeBot()):
        yield PageActions(discord_emulator)


async def test_members_are_named_as_people_type_them(discord_emulator, probe):
    alice = discord_emulator.make_user("alice")
    for typed in ("alice", "@alice", f"<@{alice.id}>", alice.id):
        assert probe.typed_options("whois", {"member": typed}) == {"member": alice.id}
    with pytest.raises(ActionRefused, match=r"member needs a member of this server \(@owner, @alice\); got 'zed'"):
        probe.typed_options("whois", {"member": "zed"})
    assert await probe.invoke(alice.id, discord_emulator.channel_id, "whois", {"member": "@alice"}, {}) == {"ok": True}
    answer = await discord_emulator.wait_for_message(lambda m: m.content.startswith("alice ("))
    assert answer.ephemeral


async def test_subcommands_and_booleans(discord_emulator, probe):
    assert probe.typed_options("model info", {"name": "flux", "verbose": "yes"}) == {"name": "flux", "verbose": True}
    with pytest.raises(ActionRefused, match="verbose needs true or false"):
        probe.typed_options("model info", {"verbose": "maybe"})
    with pytest.raises(ActionRefused, match="/model has no subcommand 'nope'"):
        probe.typed_options("model nope", {})


async def test_a_refusal_the_discord_client_would_make_is_passed_on_with_its_reason(discord_emulator, probe):
    with pytest.raises(ActionRefused, match="requires option 'name'"):
        await probe.invoke(discord_emulator.owner.id, discord_emulator.channel_id, "model info", {}, {})
    with pytest.raises(ActionRefused, match="Unknown user"):
        await probe.invoke("1", discord_emulator.channel_id, "model info", {"name": "x"}, {})
    with pytest.raises(ActionRefused, match="already submitted or closed"):
        await probe.submit_modal(discord_emulator.owner.id, "123", {})
