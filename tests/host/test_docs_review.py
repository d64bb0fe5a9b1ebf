"""The review example of docs/plugins.md, run as written against the emulator and the fake
ComfyUI: a refused prompt is answered with the plugin's words and never stored, a rewrite
reaches the graph and is named under the result, a spoilered result is posted blurred, and
the same prompt is allowed in an age-restricted channel."""

from __future__ import annotations

from discomfy.testing.bot_harness import build_config, running_bot

from tests.bot.support import answer_text, assert_settled, embed_text, final_state, job_id_of, wait_result
from tests.conftest import REPO_ROOT, write_plugin
from tests.host.test_docs_hooks import docs_example

SDXL_CHECKPOINT = "sd_xl_base_1.0.safetensors"


def negative_prompt(fake) -> str:
    graph = list(fake.worker.history.values())[-1]["prompt"][2]
    (node,) = [n for n in graph.values() if n.get("_meta", {}).get("title") == "Negative Prompt"]
    return node["inputs"]["text"]


async def test_the_review_example_refuses_rewrites_and_spoilers(project, discord_emulator, fake_comfyui):
    emu, fake = discord_emulator, fake_comfyui
    fake.checkpoints = [*fake.checkpoints, SDXL_CHECKPOINT]
    write_plugin(project, "no_cats", docs_example("# plugins/no_cats/__init__.py"))
    config = build_config(project, emulator=emu, comfyui_url=fake.url,
                          plugin_dirs=[REPO_ROOT / "plugins", project / "plugins"],
                          workflow_dirs=[REPO_ROOT / "workflows"])
    adult = emu.add_channel("adult-art", nsfw=True)
    async with running_bot(emu, fake, config) as bot:
        refused = await emu.invoke("generate", {"prompt": "a cat on a sofa"})
        assert await answer_text(emu, refused) == "Cats are for the age-restricted channels of this server."
        assert await bot.jobs.store.jobs_for_user(int(emu.owner.id), active_only=False) == []

        dog = await wait_result(emu, await emu.invoke("generate", {"prompt": "a dog", "model": "sdxl"}), timeout=15)
        assert negative_prompt(fake) == "cats"
        assert "From the no-cats rule: negative_prompt" in embed_text(dog)
        assert all(a.filename.startswith("SPOILER_") for a in dog.attachments) and dog.attachments

        cat = await wait_result(emu, await emu.invoke("generate", {"prompt": "a cat on a sofa"}, channel_id=adult),
                                timeout=15)
        assert not any(a.filename.startswith("SPOILER_") for a in cat.attachments)
        assert await final_state(bot, job_id_of(cat)) == "delivered"
        await assert_settled(emu, bot)
