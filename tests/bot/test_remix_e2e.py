"""🎛️ Remix end to end: a user turns Remix on in /settings, and the form their results open
lets them change the prompt (and negative prompt) before a reroll or a variation runs."""

from __future__ import annotations

from discomfy.core.jobs.execution import upload_name
from discomfy.testing.bot_harness import running_bot
from tests.bot.support import answer_text, assert_settled, embed_text, job_id_of, wait_idle, wait_result


def last_graph(fake) -> dict:
    return list(fake.worker.history.values())[-1]["prompt"][2]


def texts(graph) -> set[str]:
    return {n["inputs"]["text"] for n in graph.values() if n["class_type"] == "CLIPTextEncode"}


def remix_button(message, action: str = "remix", number: int | None = None) -> str:
    wanted = [c for c in message.custom_ids if c.split(":")[1] == action
              and (number is None or c.split(":")[3:] == [str(number)])]
    assert wanted, f"no {action} button on {message!r}"
    return wanted[0]


def prefilled(opened) -> dict[str, str]:
    """Label -> pre-filled value of every text input of the modal the bot opened."""
    found, stack = {}, list(opened.modal["components"])
    while stack:
        component = stack.pop()
        if component.get("type") == 4:
            found[component["label"]] = component.get("value", "")
        stack += component.get("components", [])
    return found


async def remix_on(emu, user):
    assert "Remix" in await answer_text(emu, await emu.invoke("settings set", {"remix": "on"}, user=user))


async def test_remix_reroll_runs_the_edited_prompts_and_the_result_names_them(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    alice = emu.make_user("alice")
    plain = await wait_result(emu, await emu.invoke("generate", {"prompt": "a red fox", "model": "sdxl"}, user=alice))
    assert not any(":remix" in c for c in plain.custom_ids), "Remix is off until the user turns it on"

    await remix_on(emu, alice)
    result = await wait_result(emu, await emu.invoke(
        "generate", {"prompt": "a red fox", "model": "sdxl", "negative_prompt": "fog", "seed": 5}, user=alice))
    opened = await emu.click(result, remix_button(result), user=alice)
    assert prefilled(opened) == {"Prompt": "a red fox", "Negative prompt": "fog"}
    remixed = await wait_result(emu, await emu.submit_modal(opened, {"Prompt": "a blue fox in snow"}))

    assert texts(last_graph(fake_comfyui)) == {"a blue fox in snow", "fog"}, "the edited prompt reached the graph"
    job = await bot.jobs.store.get(job_id_of(remixed))
    assert job.workflow == "generate-sdxl" and job.seed != 5
    text = embed_text(remixed)
    assert "a blue fox in snow" in text and "From your remix: prompt" in text
    assert "negative_prompt" not in text.split("From your remix:")[1], "only what changed is named"
    await assert_settled(emu, bot)


async def test_remix_vary_changes_the_prompt_of_a_variation_of_the_chosen_image(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    await remix_on(emu, emu.owner)
    batch = await wait_result(emu, await emu.invoke("generate", {"prompt": "a red fox", "batch": 2}))
    assert [c.get("label") for c in batch.iter_components() if ":remix_vary:" in c.get("custom_id", "")] == ["R1", "R2"]
    opened = await emu.click(batch, remix_button(batch, "remix_vary", 2))
    assert prefilled(opened) == {"Prompt": "a red fox"}, "FLUX takes no negative prompt: the form does not ask"
    varied = await wait_result(emu, await emu.submit_modal(opened, {"Prompt": "a red fox at night"}))

    graph = last_graph(fake_comfyui)
    assert [n["inputs"]["image"] for n in graph.values() if n["class_type"] == "LoadImage"] == [
        upload_name(batch.attachments[1].filename)], "image 2 was varied"
    assert texts(graph) == {"a red fox at night"} and graph["9"]["inputs"]["denoise"] == 0.65
    assert "From your remix: prompt" in embed_text(varied)
    await assert_settled(emu, bot)


async def test_a_remix_form_opened_before_a_restart_still_runs_and_remix_can_be_turned_off(
        discord_emulator, fake_comfyui, bot_config):
    emu = discord_emulator
    async with running_bot(emu, fake_comfyui, bot_config) as first:
        await remix_on(emu, emu.owner)
        result = await wait_result(emu, await emu.invoke("generate", {"prompt": "an owl"}))
        opened = await emu.click(result, remix_button(result))
        await wait_idle(first)
    async with running_bot(emu, fake_comfyui, bot_config) as second:
        remixed = await wait_result(emu, await emu.submit_modal(opened, {"Prompt": "an owl on a green branch"}))
        assert (await second.jobs.store.get(job_id_of(remixed))).parameters["prompt"] == "an owl on a green branch"
        assert "Remix: on" in await answer_text(emu, await emu.invoke("settings show"))
        await answer_text(emu, await emu.invoke("settings set", {"remix": "off"}))
        later = await wait_result(emu, await emu.invoke("generate", {"prompt": "an owl"}))
        assert not any(":remix" in c for c in later.custom_ids)
        await assert_settled(emu, second)
