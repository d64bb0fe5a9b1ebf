"""The community plugin end to end: real discord.py against the Discord emulator and the fake
ComfyUI. A server's admin sets its rules with /server; members are refused by a word, have a
word stripped, collect strikes until blocked, are kept out of a role-gated command and over
their quota (told when it resets); a result the classifier flags is withheld in a normal
channel and delivered in an age-restricted one; the audit channel receives each of these; and
every rule, block and count survives a restart."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from discomfy.testing.bot_harness import build_config, running_bot
from discomfy.testing.discord_emulator.roles import CommandNotAvailable

from plugins.community.nsfw import OutputClassifier
from tests.bot.support import (answer_text, assert_settled, embed_text, final_state, job_id_of, wait_idle,
                               wait_outcome, wait_result)
from tests.conftest import REPO_ROOT

MANAGE_GUILD = 1 << 5
SETTINGS = {"community.audit_batch_seconds": 0.05, "community.nsfw_policy": "nsfw_channels"}


class FlagsEverything:
    """A stand-in detector that finds an exposed breast in every image: we cannot ship
    explicit images, and the decision logic is what is under test here."""

    def detect(self, image: Any) -> list[dict[str, Any]]:
        return [{"class": "FEMALE_BREAST_EXPOSED", "score": 0.93, "box": [0, 0, 10, 10]}]


@pytest.fixture
def config(tmp_path, discord_emulator, fake_comfyui):
    return build_config(tmp_path, emulator=discord_emulator, comfyui_url=fake_comfyui.url,
                        plugin_dirs=[REPO_ROOT / "plugins"], workflow_dirs=[REPO_ROOT / "workflows"],
                        settings=SETTINGS)


def community(bot: Any) -> Any:
    return bot.get_cog("community")


async def refusal(emu: Any, user: Any, prompt: str, **where: Any) -> str:
    return await answer_text(emu, await emu.invoke("generate", {"prompt": prompt}, user=user, **where))


async def audit_text(emu: Any, bot: Any, channel: str, *needles: str) -> str:
    """The audit channel's text once every needle is in it (flushing the batch now)."""
    await community(bot).audit.flush()
    text = "\n".join(m.content for m in emu.channel_messages(channel))
    missing = [n for n in needles if n not in text]
    assert not missing, f"audit channel lacks {missing}: {text}"
    return text


async def test_words_strikes_blocks_and_the_audit_channel_survive_a_restart(discord_emulator, fake_comfyui, config):
    emu = discord_emulator
    admins = emu.add_role("Admin", permissions=MANAGE_GUILD)
    admin, alice, bob = emu.make_user("admin", roles=[admins]), emu.make_user("alice"), emu.make_user("bob")
    audit = emu.add_channel("bot-audit")
    async with running_bot(emu, fake_comfyui, config) as bot:
        emu.enforce_command_permissions = True
        with pytest.raises(CommandNotAvailable):  # Discord never offers /server to a plain member
            await emu.invoke("server words", {"kind": "refuse", "word": "fox"}, user=alice)
        emu.enforce_command_permissions = False  # a client that sends it anyway: the bot checks again
        forced = await answer_text(emu, await emu.invoke("server words", {"kind": "refuse", "word": "fox"}, user=alice))
        assert forced == "Only members with the Manage Server permission can change this server's bot rules."
        for command, options in (("server audit", {"channel": audit}),
                                 ("server words", {"kind": "refuse", "word": "nsfw"}),
                                 ("server words", {"kind": "strip", "word": "blurry"}),
                                 ("server strikes", {"count": 2, "window_minutes": 60.0, "block_minutes": 30.0})):
            assert (await answer_text(emu, await emu.invoke(command, options, user=admin))).startswith("Done:")

        assert "fox" not in (await answer_text(emu, await emu.invoke("server show", {}, user=admin)))
        first = await refusal(emu, alice, "a cute N.S.F.W cat")
        assert "\u201cnsfw\u201d is on this server's word list" in first and "1 more" in first
        assert await bot.jobs.store.jobs_for_user(int(alice.id), active_only=False) == []

        stripped = await wait_result(emu, await emu.invoke("generate", {"prompt": "a blurry dog"}, user=alice), timeout=15)
        assert stripped.embeds[0]["description"] == "a dog"
        assert "From this server's word list: prompt" in embed_text(stripped)

        blocked = await refusal(emu, alice, "nsfw again")
        assert "you are blocked on this server until" in blocked
        assert (await refusal(emu, alice, "a harmless fox")).startswith("You are blocked from using this bot")
        await audit_text(emu, bot, audit, "rule \u201cnsfw\u201d matched \u201cN.S.F.W\u201d", "removed blurry from the prompt",
                         f"<@{alice.id}> blocked until", "added `nsfw` to the refuse list")
        await community(bot).gate.moderation.settle()

    async with running_bot(emu, fake_comfyui, config) as bot:  # a restart keeps rules and blocks
        assert (await refusal(emu, alice, "a harmless fox")).startswith("You are blocked from using this bot")
        assert "\u201cnsfw\u201d is on this server's word list" in await refusal(emu, bob, "nsfw")
        bans = await answer_text(emu, await emu.invoke("server bans", {}, user=admin))
        assert f"<@{alice.id}>" in bans and "2 refused requests" in bans
        assert (await answer_text(emu, await emu.invoke("server unban", {"member": alice}, user=admin))).endswith("again.")
        await wait_result(emu, await emu.invoke("generate", {"prompt": "a harmless fox"}, user=alice), timeout=15)
        await audit_text(emu, bot, audit, f"<@{admin.id}> lifted the blocked of <@{alice.id}>")
        await assert_settled(emu, bot)


async def test_roles_channels_and_quotas_are_enforced_and_named(discord_emulator, fake_comfyui, config):
    emu = discord_emulator
    admins, patrons = emu.add_role("Admin", permissions=MANAGE_GUILD), emu.add_role("Patron")
    admin, alice, bob = emu.make_user("admin", roles=[admins]), emu.make_user("alice"), emu.make_user("bob", roles=[patrons])
    art, audit = emu.add_channel("art"), emu.add_channel("bot-audit")
    async with running_bot(emu, fake_comfyui, config) as bot:
        for command, options in (("server audit", {"channel": audit}),
                                 ("server role", {"command": "animate", "role": patrons}),
                                 ("server channel", {"command": "generate", "channel": art}),
                                 ("server quota", {"limit": 1.0}),
                                 ("server quota-for", {"role": patrons, "limit": 2.0})):
            assert (await answer_text(emu, await emu.invoke(command, options, user=admin))).startswith("Done:")

        gated = await answer_text(emu, await emu.invoke("animate", {"prompt": "waves"}, user=alice))
        assert gated == f"/animate is only for members with <@&{patrons}> on this server."
        elsewhere = await refusal(emu, alice, "a fox")
        assert elsewhere == f"/generate can't be used in this channel on this server; use it in <#{art}>."

        fake_comfyui.fail_at("SamplerCustomAdvanced", "CUDA out of memory")  # a job that gives nothing gives its unit back
        failed = await wait_outcome(emu, await emu.invoke("generate", {"prompt": "a fox"}, user=alice,
                                                          channel_id=art), timeout=15)
        assert failed.embeds[0]["title"] == "/generate failed"
        await wait_idle(bot)  # the job's end is recorded (and plugins told) right after its message
        fake_comfyui.clear_faults()
        await wait_result(emu, await emu.invoke("generate", {"prompt": "a fox"}, user=alice, channel_id=art), timeout=15)
        over = await refusal(emu, alice, "another fox", channel_id=art)
        assert "1 job" in over and re.search(r"<t:\d+:R>", over), over  # names the limit and when it resets
        usage = await answer_text(emu, await emu.invoke("usage", {}, user=alice))
        assert "1" in usage and re.search(r"<t:\d+", usage), usage

        for _ in range(2):  # the Patron role's quota is more generous
            await wait_result(emu, await emu.invoke("generate", {"prompt": "a fox"}, user=bob, channel_id=art), timeout=15)
        assert "2 jobs" in await refusal(emu, bob, "a third fox", channel_id=art)

        shown = await answer_text(emu, await emu.invoke("help", {}, user=alice))
        assert f"/generate: only in <#{art}>" in shown and "/animate: only for" in shown
        await audit_text(emu, bot, audit, f"<@{alice.id}> /animate: lacks the role it needs",
                         f"<@{alice.id}> /generate in <#{emu.channel_id}>: not allowed there",
                         f"<@{alice.id}> /generate: over quota", "set the quota of @Patron to 2")
    async with running_bot(emu, fake_comfyui, config) as bot:  # rules and counts come from the job store
        assert "1 job" in await refusal(emu, alice, "a fox again", channel_id=art)
        assert "/generate can't be used in this channel" in await refusal(emu, bob, "a fox")
        assert (await answer_text(emu, await emu.invoke("animate", {"prompt": "waves"}, user=alice))) == gated
        text = await audit_text(emu, bot, audit, f"<@{alice.id}> /animate: lacks the role it needs")
        assert text.count(f"<@{alice.id}> /animate: lacks the role it needs") == 2, text  # once before, once after
        await assert_settled(emu, bot)


async def test_a_flagged_result_is_withheld_in_a_normal_channel_and_delivered_in_an_age_restricted_one(
        discord_emulator, fake_comfyui, config):
    emu = discord_emulator
    admins = emu.add_role("Admin", permissions=MANAGE_GUILD)
    admin, alice = emu.make_user("admin", roles=[admins]), emu.make_user("alice")
    adult, audit = emu.add_channel("adult-art", nsfw=True), emu.add_channel("bot-audit")
    async with running_bot(emu, fake_comfyui, config) as bot:
        community(bot).gate.classifier = OutputClassifier(detector=FlagsEverything())
        await emu.invoke("server audit", {"channel": audit}, user=admin)
        withheld = await wait_outcome(emu, await emu.invoke("generate", {"prompt": "a portrait"}, user=alice), timeout=15)
        assert withheld.embeds[0]["title"] == "/generate withheld" and not withheld.attachments
        assert "not safe for this channel" in withheld.embeds[0]["description"]
        job = job_id_of(withheld)
        assert await final_state(bot, job) == "withheld"
        assert not any(job in m.content or m.attachments for m in emu.channel_messages() if m.id != withheld.id
                       and any(job in (e.get("footer") or {}).get("text", "") for e in m.embeds))
        await audit_text(emu, bot, audit, f"job `{job}`", "withheld")

        delivered = await wait_result(emu, await emu.invoke("generate", {"prompt": "a portrait"}, user=alice,
                                                            channel_id=adult), timeout=15)
        assert await final_state(bot, job_id_of(delivered)) == "delivered"

        await emu.invoke("server nsfw", {"policy": "nsfw_channels", "action": "spoiler"}, user=admin)
        spoiled = await wait_result(emu, await emu.invoke("generate", {"prompt": "a portrait"}, user=alice), timeout=15)
        assert spoiled.attachments and all(a.filename.startswith("SPOILER_") for a in spoiled.attachments)
        await assert_settled(emu, bot)


async def test_twenty_submissions_at_once_with_one_unit_left_make_exactly_one_job(discord_emulator, fake_comfyui,
                                                                                 tmp_path):
    emu = discord_emulator
    admins = emu.add_role("Admin", permissions=MANAGE_GUILD)
    admin, alice = emu.make_user("admin", roles=[admins]), emu.make_user("alice")
    # quotas only: the NSFW classifier once flagged a random-seeded placeholder fox and withheld it
    roomy = {**SETTINGS, "community.nsfw_policy": "everywhere",
             "limits.per_user": 100, "limits.global_limit": 100, "limits.max_queued_per_user": 50}
    config = build_config(tmp_path, emulator=emu, comfyui_url=fake_comfyui.url, plugin_dirs=[REPO_ROOT / "plugins"],
                          workflow_dirs=[REPO_ROOT / "workflows"], settings=roomy)
    async with running_bot(emu, fake_comfyui, config) as bot:
        await emu.invoke("server quota", {"limit": 2.0}, user=admin)
        await wait_result(emu, await emu.invoke("generate", {"prompt": "the first fox"}, user=alice), timeout=15)
        burst = await asyncio.gather(*(emu.invoke("generate", {"prompt": f"fox {n}"}, user=alice) for n in range(20)))
        accepted = [i for i in burst if i.original_message is not None and not i.original_message.ephemeral]
        refused = [await answer_text(emu, i) for i in burst if i not in accepted]
        assert len(accepted) == 1 and len(refused) == 19, refused
        assert all(text.startswith("You have used your 2 jobs") for text in refused), refused
        await wait_result(emu, accepted[0], timeout=15)
        assert len(await bot.jobs.store.jobs_for_user(int(alice.id), active_only=False)) == 2
        await assert_settled(emu, bot)


async def test_an_admin_menu_cannot_be_replayed_by_a_member_or_aimed_at_another_server(discord_emulator, fake_comfyui,
                                                                                     config):
    emu = discord_emulator
    admins = emu.add_role("Admin", permissions=MANAGE_GUILD)
    admin, alice = emu.make_user("admin", roles=[admins]), emu.make_user("alice")
    async with running_bot(emu, fake_comfyui, config) as bot:
        shown = await emu.invoke("server show", {}, user=admin)
        menu = f"community:nsfw:{emu.guild_id}"
        replayed = await emu.click(shown.original_message, menu, user=alice, values=["everywhere"])
        assert await answer_text(emu, replayed) == "Only members with the Manage Server permission can change this server's bot rules."
        other_guild = "1" + emu.guild_id[1:] if emu.guild_id[0] != "1" else "2" + emu.guild_id[1:]
        shown.original_message.component(menu)["custom_id"] = f"community:nsfw:{other_guild}"  # a forged id
        forged = await emu.click(shown.original_message, f"community:nsfw:{other_guild}", user=admin,
                                 values=["everywhere"])
        assert await answer_text(emu, forged) == "This menu belongs to another server's rules."
        assert bot.jobs.guild_preferences.owners("community") == {}  # nothing changed, for either server
        shown.original_message.component(f"community:nsfw:{other_guild}")["custom_id"] = menu
        done = await emu.click(shown.original_message, menu, user=admin, values=["off"])
        assert await answer_text(emu, done) == "Done: set the NSFW policy to off."
        assert bot.jobs.guild_preferences.owners("community") == {int(emu.guild_id): {"nsfw_policy": "off"}}
        await assert_settled(emu, bot)


async def test_the_operators_words_apply_everywhere_and_a_forced_negative_prompt_reaches_the_graph(
        discord_emulator, fake_comfyui, tmp_path):
    emu, fake = discord_emulator, fake_comfyui
    fake.checkpoints = [*fake.checkpoints, "sd_xl_base_1.0.safetensors"]  # /generate model:sdxl takes a negative prompt
    admin = emu.make_user("admin", roles=[emu.add_role("Admin", permissions=MANAGE_GUILD)])
    operator = {**SETTINGS, "community.refuse": ["dragon"], "community.negative_prompt": "watermark"}
    config = build_config(tmp_path, emulator=emu, comfyui_url=fake.url, plugin_dirs=[REPO_ROOT / "plugins"],
                          workflow_dirs=[REPO_ROOT / "workflows"], settings=operator)
    async with running_bot(emu, fake, config) as bot:
        assert "\u201cdragon\u201d is on this server's word list" in await refusal(emu, admin, "a red dragon")
        kept = await answer_text(emu, await emu.invoke("server words", {"kind": "refuse", "word": "dragon", "remove": True},
                                                       user=admin))
        assert "the operator's own words cannot be removed here" in kept

        await wait_result(emu, await emu.invoke("generate", {"prompt": "a castle", "model": "sdxl",
                                                             "negative_prompt": "people"}), timeout=15)
        assert negative_prompt(fake) == "people, watermark"  # the server follows the operator's default
        await emu.invoke("server negative", {"text": "text, logo"}, user=admin)
        result = await wait_result(emu, await emu.invoke("generate", {"prompt": "a castle", "model": "sdxl"}), timeout=15)
        assert negative_prompt(fake).endswith(", text, logo")  # after the model's own default negative prompt
        assert "From this server's rules: negative_prompt" in embed_text(result)
        await assert_settled(emu, bot)


def negative_prompt(fake: Any) -> str:
    graph = list(fake.worker.history.values())[-1]["prompt"][2]
    (node,) = [n for n in graph.values() if n.get("_meta", {}).get("title") == "Negative Prompt"]
    return node["inputs"]["text"]
