"""Result actions: the docs' worked example runs end to end; the host's layout stays within
Discord's 5 x 5 and drops by ``order``; names are checked and owned by one plugin."""

from __future__ import annotations

import logging
import re

import pytest

from discomfy import ResultAction, hookimpl
from discomfy.bot.result_actions import ActionRegistry
from discomfy.bot.views import layout
from discomfy.plugins import make_plugin_manager
from discomfy.testing.bot_harness import build_config, running_bot
from tests.bot.support import assert_settled, job_id_of, wait_result
from tests.conftest import REPO_ROOT, write_plugin

EXAMPLE = re.compile(r"<!-- result-action-example.*?-->\s*```python\n(?P<code>.*?)```", re.S)


async def nothing(context) -> None:
    return None


def action(name: str, **fields) -> ResultAction:
    return ResultAction(name, name.title(), nothing, **fields)


async def test_the_worked_example_of_the_guide_adds_a_working_button(project, discord_emulator, fake_comfyui):
    code = EXAMPLE.search((REPO_ROOT / "docs" / "plugins.md").read_text())["code"]
    write_plugin(project, "square", code)
    config = build_config(project, emulator=discord_emulator, comfyui_url=fake_comfyui.url,
                          plugin_dirs=[REPO_ROOT / "plugins", project / "plugins"],
                          workflow_dirs=[REPO_ROOT / "workflows"])
    emu = discord_emulator
    async with running_bot(emu, fake_comfyui, config) as bot:
        wide = await wait_result(emu, await emu.invoke("generate", {"prompt": "a fox", "aspect_ratio": "16:9", "seed": 5}))
        square_id = next(c for c in wide.custom_ids if c.startswith("discomfy:square:"))
        squared = await wait_result(emu, await emu.click(wide, square_id, user=emu.make_user("bob")))
        job = await bot.jobs.store.get(job_id_of(squared))
        assert (job.parameters["aspect_ratio"], job.seed, job.parameters["prompt"]) == ("1:1", 5, "a fox")
        await assert_settled(emu, bot)


def test_layout_puts_whole_result_buttons_first_then_one_row_per_image_action():
    actions = [action("info", order=90), action("upscale", per_image=True, short_label="U", order=40),
               action("reroll", order=10), action("vary", per_image=True, short_label="V", order=50),
               action("strong", per_image=True, order=51)]
    rows = layout(actions, 3)
    assert [[(a.name, n) for a, n in row] for row in rows] == [
        [("reroll", None), ("info", None)], [("upscale", n) for n in (1, 2, 3)], [("vary", n) for n in (1, 2, 3)]]
    single = layout(actions, 1)
    assert [a.name for row in single for a, _ in row] == ["reroll", "info", "upscale", "vary", "strong"]
    assert layout(actions, 5)[1:] == [], "more than 4 images: no per-image buttons"


def test_what_does_not_fit_in_five_rows_is_dropped_highest_order_first(caplog):
    whole = [action(f"w{i}", order=i) for i in range(12)]  # three rows
    per_image = [action(f"p{i}", per_image=True, short_label="P", order=20 + i) for i in range(4)]
    with caplog.at_level(logging.WARNING):
        rows = layout(whole + per_image, 4, job_id="abc")
    assert len(rows) == 5 and all(len(row) <= 5 for row in rows)
    kept = {a.name for row in rows for a, _ in row}
    assert {"p0", "p1"} <= kept and not kept & {"p2", "p3"}
    assert "'p3'" in caplog.text and "'p2'" in caplog.text and "abc" in caplog.text


@pytest.mark.parametrize("name", ["Upscale", "1up", "cancel", "retry", "a:b"])
def test_bad_or_reserved_names_are_refused(name):
    with pytest.raises(ValueError, match=re.escape(repr(name))):
        action(name)


def test_a_name_belongs_to_the_first_plugin_that_registers_it(caplog):
    class Plugin:
        def __init__(self, *actions):
            self.actions = actions

        @hookimpl
        def discomfy_register_result_actions(self):
            return list(self.actions)

    manager = make_plugin_manager()
    first = action("upscale")
    manager.register(Plugin(first, action("edit", arg="a"), action("edit", arg="b")), name="first:cog")
    manager.register(Plugin(action("upscale"), action("mine")), name="second:cog")
    with caplog.at_level(logging.ERROR):
        found = ActionRegistry(manager).collect()
    assert [(owner, a.name, a.arg) for owner, a in found] == [
        ("first", "upscale", None), ("first", "edit", "a"), ("first", "edit", "b"), ("second", "mine", None)]
    assert "'upscale' is registered by plugin 'first' and by plugin 'second'" in caplog.text
    assert ActionRegistry(manager).find("upscale", None) is first
