"""Result forms: the guide's example runs end to end (click, form, a job from what was typed,
a plain refusal); answers are read from rows and labels alike; forms share the buttons' names
and the hook takes forms only."""

from __future__ import annotations

import logging
import re

from discomfy import ResultAction, ResultForm, hookimpl
from discomfy.bot.result_actions import ActionRegistry
from discomfy.bot.result_forms import form_answers
from discomfy.plugins import make_plugin_manager
from discomfy.testing.bot_harness import build_config, running_bot
from tests.bot.support import assert_settled, job_id_of, wait_result
from tests.conftest import REPO_ROOT, write_plugin

EXAMPLE = re.compile(r"<!-- result-form-example.*?-->\s*```python\n(?P<code>.*?)```", re.S)


async def test_the_guides_form_example_runs_what_the_user_typed_and_refuses_plainly(project, discord_emulator,
                                                                                     fake_comfyui):
    write_plugin(project, "retitle", EXAMPLE.search((REPO_ROOT / "docs" / "plugins.md").read_text())["code"])
    config = build_config(project, emulator=discord_emulator, comfyui_url=fake_comfyui.url,
                          plugin_dirs=[REPO_ROOT / "plugins", project / "plugins"],
                          workflow_dirs=[REPO_ROOT / "workflows"])
    emu = discord_emulator
    async with running_bot(emu, fake_comfyui, config) as bot:
        first = await wait_result(emu, await emu.invoke("generate", {"prompt": "a fox", "seed": 7}))
        button = next(c for c in first.custom_ids if c.startswith("discomfy:retitle:"))
        bob = emu.make_user("bob")
        opened = await emu.click(first, button, user=bob)
        assert opened.modal["title"] == "Retitle"
        assert opened.modal["custom_id"] == f"discomfy:retitlemodal:{job_id_of(first)}"
        retitled = await wait_result(emu, await emu.submit_modal(opened, {"New prompt": "a red fox"}))
        job = await bot.jobs.store.get(job_id_of(retitled))
        assert (job.parameters["prompt"], job.seed, job.user_id) == ("a red fox", 7, int(bob.id))

        again = await emu.click(first, button, user=bob)
        refused = await emu.submit_modal(again, {"New prompt": "a cat"})
        assert refused.original_message.content == "No cats here, sorry."
        assert len(await bot.jobs.store.jobs_for_user(int(bob.id), active_only=False, limit=10)) == 1
        await assert_settled(emu, bot)


def test_answers_are_read_from_action_rows_and_labels():
    data = {"custom_id": "discomfy:regionmodal:abc:1", "components": [
        {"type": 18, "component": {"type": 3, "custom_id": "cells", "values": ["0", "4"]}},
        {"type": 1, "components": [{"type": 4, "custom_id": "prompt", "value": "a blue bird"}]},
        {"type": 1, "components": [{"type": 4, "custom_id": "negative_prompt", "value": None}]},
    ]}
    assert form_answers(data) == {"cells": ["0", "4"], "prompt": "a blue bird", "negative_prompt": ""}
    assert form_answers(None) == {}


async def nothing(*args) -> None:
    return None


def test_forms_and_buttons_share_one_name_space_and_the_form_hook_takes_forms_only(caplog):
    class Buttons:
        @hookimpl
        def discomfy_register_result_actions(self):
            return [ResultAction("ask", "Ask", nothing)]

    class Forms:
        @hookimpl
        def discomfy_register_result_forms(self):
            return [ResultForm("ask", "Ask", form=nothing, on_submit=nothing),
                    ResultForm("tell", "Tell", form=nothing, on_submit=nothing),
                    ResultAction("plain", "Plain", nothing)]

    manager = make_plugin_manager()
    manager.register(Buttons(), name="buttons:cog")
    manager.register(Forms(), name="forms:cog")
    with caplog.at_level(logging.ERROR):
        found = ActionRegistry(manager).collect()
    assert [(owner, a.name, type(a).__name__) for owner, a in found] == [
        ("buttons", "ask", "ResultAction"), ("forms", "tell", "ResultForm")]
    assert "'ask' is registered by plugin 'buttons' and by plugin 'forms'" in caplog.text
    assert "from discomfy_register_result_forms, not a ResultForm" in caplog.text


def test_a_form_id_too_long_for_discord_is_refused():
    form = ResultForm("ask", "Ask", form=nothing, on_submit=nothing)
    assert form.form_id("abc", "x") == "discomfy:askmodal:abc:x"
    try:
        form.form_id("abc", "x" * 100)
    except ValueError as exc:
        assert "too long" in str(exc)
    else:
        raise AssertionError("a 120-character custom_id was accepted")
