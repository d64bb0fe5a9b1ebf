"""/jobs and /show end to end: a user pages through their earlier results in this server and
posts one again with working buttons — from Discord's copy, or from ComfyUI's history once the
message is gone, also after a restart — while private jobs stay private."""

from __future__ import annotations

from discomfy.testing.bot_harness import running_bot
from tests.bot.support import answer_text, assert_settled, embed_text, image_size, job_id_of, wait_idle, wait_result


def button_of(message, prefix: str) -> str:
    found = [c for c in message.custom_ids if c.startswith(prefix)]
    assert found, f"no {prefix} button on {message!r}"
    return found[0]


async def generate(emu, user, prompt: str, **options):
    return await wait_result(emu, await emu.invoke("generate", {"prompt": prompt, **options}, user=user))


async def listing(emu, user, **options):
    inter = await emu.invoke("jobs", options, user=user)
    await answer_text(emu, inter)
    return inter.original_message


async def test_jobs_pages_through_my_results_and_show_posts_one_again_with_buttons(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    alice, bob = emu.make_user("alice"), emu.make_user("bob")
    mine = [await generate(emu, alice, f"a {colour} fox") for colour in ("red", "blue", "green", "pink", "gold", "teal")]
    await generate(emu, bob, "bob's owl")

    first = await listing(emu, alice)
    assert [e["title"] for e in first.embeds] == [f"{n}. a {c} fox" for n, c in
                                                  enumerate(("teal", "gold", "pink", "green", "blue"), start=1)]
    assert all(e["fields"][0]["value"] == "/generate · flux" and e["fields"][1]["value"].startswith("<t:")
               for e in first.embeds)
    assert all(e["thumbnail"]["url"] for e in first.embeds), "each job shows its picture"
    assert "page 1 of 2" in first.embeds[-1]["footer"]["text"] and "bob's owl" not in embed_text(first)

    await emu.click(first, "gallery:page:2", user=alice)
    second = await emu.wait_for_message(lambda m: m.id == first.id and len(m.embeds) == 1)
    assert second.embeds[0]["title"] == "6. a red fox"

    shown = await wait_result(emu, await emu.click(second, button_of(second, "gallery:show:"), user=alice))
    assert not shown.ephemeral and job_id_of(shown) == job_id_of(mine[0])
    assert shown.attachments[0].data == mine[0].attachments[0].data and "a red fox" in embed_text(shown)
    upscaled = await wait_result(emu, await emu.click(shown, button_of(shown, "discomfy:upscale:"), user=bob))
    assert image_size(upscaled.attachments[0].data) == tuple(2 * s for s in image_size(mine[0].attachments[0].data))
    await assert_settled(emu, bot)


async def test_show_after_a_restart_reads_comfyui_history_once_the_message_is_gone(discord_emulator, fake_comfyui,
                                                                                  bot_config):
    emu = discord_emulator
    async with running_bot(emu, fake_comfyui, bot_config) as first:
        result = await generate(emu, emu.owner, "a lighthouse at dusk")
        job = job_id_of(result)
        original = result.attachments[0].data
        await wait_idle(first)
    async with running_bot(emu, fake_comfyui, bot_config) as second:
        await answer_text(emu, await emu.click(result, button_of(result, "discomfy:delete:")))
        assert result.deleted
        shown = await wait_result(emu, await emu.invoke("show", {"job": job}))
        assert shown.attachments[0].data == original, "the same picture, from ComfyUI's history"
        varied = await wait_result(emu, await emu.click(shown, button_of(shown, "discomfy:vary:")))
        assert (await second.jobs.store.get(job_id_of(varied))).parameters["prompt"] == "a lighthouse at dusk"

        fake_comfyui.files.files["output"].clear()  # ComfyUI cleaned its output folder too
        await answer_text(emu, await emu.click(shown, button_of(shown, "discomfy:delete:")))
        gone = await emu.invoke("show", {"job": f"Job {job}"})
        await emu.wait_for_message(lambda m: m.id == gone.original_message.id and not m.loading)
        assert "no longer keeps its files" in embed_text(gone.original_message)
        # Discord's 404 for the deleted result message is how the bot learnt it is gone
        assert {str(v).split(": ", 1)[1] for v in emu.violations} == {"404 (code 10008) Unknown Message"}
        emu.violations.clear()
        await assert_settled(emu, second)


async def test_private_jobs_stay_private_and_unknown_ids_are_refused(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    alice, bob = emu.make_user("alice"), emu.make_user("bob")
    public = await generate(emu, alice, "a public cat")
    await answer_text(emu, await emu.invoke("settings set", {"results": "me"}, user=alice))
    secret = await generate(emu, alice, "a secret cat")
    assert secret.ephemeral

    refused = await answer_text(emu, await emu.invoke("show", {"job": job_id_of(secret)}, user=bob))
    assert "There is no job" in refused and "secret" not in refused
    assert "There is no job `nope`" in await answer_text(emu, await emu.invoke("show", {"job": "nope"}, user=bob))
    for_bob = await wait_result(emu, await emu.invoke("show", {"job": job_id_of(public)}, user=bob))
    assert not for_bob.ephemeral and "a public cat" in embed_text(for_bob)

    for_alice = await wait_result(emu, await emu.invoke("show", {"job": job_id_of(secret)}, user=alice))
    assert for_alice.ephemeral and "a secret cat" in embed_text(for_alice)
    assert "only you see it" in embed_text(await listing(emu, alice))
    assert "No results of yours" in embed_text(await listing(emu, bob))
    await assert_settled(emu, bot)
