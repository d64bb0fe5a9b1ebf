"""Every promise of the README's "Jobs survive restarts" section is named by a test.

Each sentence (or bullet) of the section must contain one of the phrases below, and each
phrase names the tests that back it; the tests must exist. Rewording the README without
pointing at a test, or deleting a test a promise relies on, fails here.
"""

from __future__ import annotations

import importlib
import re

from tests.conftest import REPO_ROOT

SECTION = "## Jobs survive restarts"

PROMISES: dict[str, list[str]] = {
    "written to an SQLite file": [
        "tests/core/test_job_store.py::test_jobs_survive_close_and_reopen_with_wal_and_schema_version",
        "tests/crashpoints/test_crash_points.py::test_every_job_is_stored_before_its_user_is_told_it_is_queued",
    ],
    "re-attaches to every job that was queued or running": [
        "tests/faults/test_bot_restart.py::test_restart_with_jobs_in_every_state_ends_each_exactly_once",
    ],
    "still on the ComfyUI server": [
        "tests/bot/test_restart_recovery.py::test_job_running_on_comfyui_is_followed_after_restart_and_delivered_once",
    ],
    "finished while the bot was down": [
        "tests/bot/test_restart_recovery.py::test_job_that_finished_while_the_bot_was_down_is_delivered_from_history",
    ],
    "still waiting in the bot's own queue": [
        "tests/faults/test_bot_restart.py::test_restart_with_jobs_in_every_state_ends_each_exactly_once",
        "tests/crashpoints/test_crash_points.py::test_every_crash_point_ends_with_one_result_or_one_clear_failure",
    ],
    "gone (ComfyUI restarted and lost its queue)": [
        "tests/bot/test_restart_recovery.py::test_job_lost_by_a_restarted_comfyui_is_reported_with_a_retry_button_that_works",
    ],
    "stopped before the user saw it queued": [
        "tests/crashpoints/test_crash_points.py::test_every_crash_point_ends_with_one_result_or_one_clear_failure",
    ],
    "may be stopped at any moment": [
        "tests/crashpoints/test_crash_points.py::test_every_crash_point_ends_with_one_result_or_one_clear_failure",
        "tests/faults/test_bot_restart.py::test_bot_stopped_again_during_recovery_still_delivers_once",
    ],
    "never delivered twice": [
        "tests/crashpoints/test_crash_points.py::test_every_crash_point_ends_with_one_result_or_one_clear_failure",
        "tests/core/test_job_store.py::test_finishing_is_true_exactly_once_even_when_racing",
        "tests/emulator/test_nonces.py::test_same_nonce_within_the_window_returns_the_first_message",
    ],
    "Result buttons keep working after a restart": [
        "tests/bot/test_buttons_e2e.py::test_buttons_work_after_the_bot_restarts",
    ],
    "are pruned": [
        "tests/core/test_job_store.py::test_prune_removes_only_old_finished_jobs",
    ],
    "outlive Discord's 15-minute interaction token": [
        "tests/bot/test_long_job_e2e.py::test_a_16_minute_job_is_delivered_through_the_channel_with_a_mention",
        "tests/bot/test_settings_e2e.py::test_results_only_to_me_stay_private_even_past_the_token",
    ],
    "Personal defaults (`/settings`) live in the same file": [
        "tests/core/test_preferences.py::test_values_survive_a_reopen_per_user_and_namespace",
        "tests/bot/test_settings_e2e.py::test_defaults_reach_the_graph_explicit_options_win_and_they_survive_a_restart",
    ],
    "upgrades in place": [
        "tests/core/test_job_store.py::test_a_store_written_before_delivery_intents_upgrades_and_finishes_its_open_jobs",
        "tests/core/test_preferences.py::test_a_version_1_store_upgrades_keeping_its_jobs",
    ],
}


def section_text() -> str:
    text = (REPO_ROOT / "README.md").read_text()
    start = text.index(SECTION) + len(SECTION)
    end = text.index("\n## ", start)
    return text[start:end]


def promises_in(text: str) -> list[str]:
    """Bullets, and the sentences of paragraphs (a sentence ends with '.' or ':' at a line end
    or before a space and a capital)."""
    flat = re.sub(r"\n(?!- )(?!\n)", " ", text.strip())
    pieces = []
    for block in flat.split("\n"):
        block = block.strip()
        if not block:
            continue
        if block.startswith("- "):
            pieces.append(block)
        else:
            pieces += [s for s in re.split(r"(?<=[.:])\s+(?=[A-Z])", block) if s.strip()]
    return pieces


def test_every_sentence_of_the_section_names_a_promise_with_tests():
    sentences = promises_in(section_text())
    assert len(sentences) >= 8, sentences
    unbacked = [s for s in sentences if not any(phrase in s for phrase in PROMISES)]
    assert not unbacked, f"README promises no test is named for: {unbacked}"
    unused = [phrase for phrase in PROMISES if phrase not in section_text().replace("\n", " ")]
    assert not unused, f"phrases no longer in the README: {unused}"


def test_every_named_test_exists():
    named = {node for nodes in PROMISES.values() for node in nodes}
    assert named
    for node in sorted(named):
        path, name = node.split("::")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert callable(getattr(module, name, None)), f"{node} is named by a README promise but does not exist"
