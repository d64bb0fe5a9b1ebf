"""Every promise of the README's "Jobs survive restarts", "Running it in a community" and
"Run it in a container" sections is named by a test.

Each sentence (or bullet) of the section must contain one of the phrases below, and each
phrase names the tests that back it; the tests must exist. Rewording the README without
pointing at a test, or deleting a test a promise relies on, fails here.
"""

from __future__ import annotations

import importlib
import re

import pytest

from tests.conftest import REPO_ROOT

SECTION = "## Jobs survive restarts"
E2E = "tests/community/test_community_e2e.py::"

PROMISES: dict[str, list[str]] = {
    "written to an SQLite file": [
        "tests/core/test_job_store.py::test_jobs_survive_close_and_reopen_with_schema_version",
        "tests/core/test_job_store.py::test_the_sqlite_file_runs_in_wal_mode",
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
    "on a PostgreSQL server instead": [
        "tests/core/test_job_store.py::test_from_config_with_a_store_url_uses_postgresql",
        "tests/core/test_job_store.py::test_jobs_survive_close_and_reopen_with_schema_version",
        "tests/core/test_job_store.py::test_finishing_is_true_exactly_once_even_when_racing",
        "tests/bot/test_restart_recovery_postgres.py::test_job_running_on_comfyui_is_followed_after_restart_and_delivered_once",
    ],
    "upgrades in place": [
        "tests/core/test_job_store.py::test_a_store_written_before_delivery_intents_upgrades_and_finishes_its_open_jobs",
        "tests/core/test_preferences.py::test_a_version_1_store_upgrades_keeping_its_jobs",
    ],
}


COMMUNITY: dict[str, list[str]] = {
    "The `community` plugin": [E2E + "test_words_strikes_blocks_and_the_audit_channel_survive_a_restart"],
    "`/server` is only for members with Manage Server": [
        E2E + "test_words_strikes_blocks_and_the_audit_channel_survive_a_restart",
        E2E + "test_an_admin_menu_cannot_be_replayed_by_a_member_or_aimed_at_another_server",
    ],
    "limited to channels": [E2E + "test_roles_channels_and_quotas_are_enforced_and_named"],
    "Word lists:": [E2E + "test_words_strikes_blocks_and_the_audit_channel_survive_a_restart"],
    "Matching sees through": [
        "tests/community/test_words.py::test_a_written_around_word_in_a_prompt_is_still_refused",
        "tests/community/test_words.py::test_ordinary_prompts_are_not_refused",
        "tests/community/test_words.py::test_a_longer_word_containing_a_banned_word_is_not_refused",
    ],
    "The operator's own lists": [
        E2E + "test_the_operators_words_apply_everywhere_and_a_forced_negative_prompt_reaches_the_graph"],
    "Strikes:": [E2E + "test_words_strikes_blocks_and_the_audit_channel_survive_a_restart"],
    "A forced negative prompt": [
        E2E + "test_the_operators_words_apply_everywhere_and_a_forced_negative_prompt_reaches_the_graph"],
    "NSFW:": [
        E2E + "test_a_flagged_result_is_withheld_in_a_normal_channel_and_delivered_in_an_age_restricted_one",
        "tests/community/test_nsfw_classifier.py::test_frames_are_sampled_evenly_from_a_three_second_video",
        "tests/community/test_nsfw_classifier.py::test_check_runs_off_the_event_loop",
        "tests/community/test_operator_view.py::test_check_warns_and_names_the_install_command",
        "tests/community/test_operator_view.py::test_status_and_server_show_say_results_are_not_checked_and_results_still_arrive",
    ],
    "Quotas per day or per rolling window": [
        E2E + "test_roles_channels_and_quotas_are_enforced_and_named",
        E2E + "test_twenty_submissions_at_once_with_one_unit_left_make_exactly_one_job",
        "tests/community/test_quotas.py::test_the_most_generous_role_wins",
        "tests/community/test_quotas.py::test_a_rolling_window_gives_each_unit_back_one_period_after_it_was_used",
        "tests/community/test_quotas.py::test_gpu_seconds_are_charged_what_the_job_really_took",
        "tests/community/test_quotas.py::test_a_job_that_gave_nothing_gives_its_unit_back",
    ],
    "An audit channel": [
        E2E + "test_words_strikes_blocks_and_the_audit_channel_survive_a_restart",
        "tests/community/test_audit.py::test_a_flood_in_one_window_becomes_a_handful_of_messages",
        "tests/community/test_audit.py::test_end_to_end_no_429_no_violation_no_ping",
    ],
    "`/help` and `/status` tell each member": [
        E2E + "test_roles_channels_and_quotas_are_enforced_and_named",
        "tests/community/test_operator_view.py::test_status_and_server_show_say_results_are_not_checked_and_results_still_arrive",
    ],
    "survives a restart": [
        E2E + "test_words_strikes_blocks_and_the_audit_channel_survive_a_restart",
        E2E + "test_roles_channels_and_quotas_are_enforced_and_named",
    ],
    "are the defaults for servers whose admins set nothing": [
        E2E + "test_the_operators_words_apply_everywhere_and_a_forced_negative_prompt_reaches_the_graph"],
    "two generic hooks": ["tests/host/test_docs_review.py::test_the_review_example_refuses_rewrites_and_spoilers"],
    "a withheld result ends exactly once": [
        "tests/crashpoints/test_crash_points.py::test_every_crash_point_ends_with_one_result_or_one_clear_failure"],
}

CONTAINER_TEST = "tests/ops/test_container.py::test_the_image_checks_serves_and_delivers_a_job_interrupted_by_a_container_stop_once"
CONTAINER: dict[str, list[str]] = {
    "so a new container finishes and delivers the jobs the old one left": [CONTAINER_TEST],
    "docker compose up -d --build": [CONTAINER_TEST, "tests/ops/test_deploy_doc.py::test_without_the_profile_compose_keeps_sqlite"],
    "The token comes from the mounted `.secrets.toml`": [CONTAINER_TEST],
    "The image's `HEALTHCHECK` asks the bot's `/healthz`": [
        CONTAINER_TEST, "tests/ops/test_metrics_e2e.py::test_readyz_fails_without_a_healthy_comfyui_and_healthz_still_passes"],
    "The image is about 460 MB": [CONTAINER_TEST],
    "Several processes on a PostgreSQL store (compose's `postgres` profile)": [
        "tests/ops/test_deploy_doc.py::test_the_compose_profile_matches_the_env_example"],
}

SECTIONS = {SECTION: PROMISES, "## Running it in a community": COMMUNITY, "## Run it in a container": CONTAINER}
#: a section shorter than this was cut by accident (the container section once was, unnoticed)
LEAST_SENTENCES = {SECTION: 8, "## Running it in a community": 8, "## Run it in a container": 6}


def section_text(section: str = SECTION) -> str:
    text = (REPO_ROOT / "README.md").read_text()
    start = text.index(section) + len(section)
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


@pytest.mark.parametrize("section", list(SECTIONS))
def test_every_sentence_of_the_section_names_a_promise_with_tests(section):
    promises = SECTIONS[section]
    sentences = promises_in(section_text(section))
    assert len(sentences) >= LEAST_SENTENCES[section], sentences
    unbacked = [s for s in sentences if not any(phrase in s for phrase in promises)]
    assert not unbacked, f"README promises no test is named for: {unbacked}"
    unused = [phrase for phrase in promises if phrase not in section_text(section).replace("\n", " ")]
    assert not unused, f"phrases no longer in the README: {unused}"


def test_every_named_test_exists():
    named = {node for promises in SECTIONS.values() for nodes in promises.values() for node in nodes}
    assert named
    for node in sorted(named):
        path, name = node.split("::")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert callable(getattr(module, name, None)), f"{node} is named by a README promise but does not exist"
