"""Restart recovery with the job store on PostgreSQL: every test of test_restart_recovery.py,
run again with ``jobs.store_url`` pointing at a fresh schema of the test session's throwaway
server (tests/core/postgres_server.py), so the bot, its recovery and the tests' own look at the
store all go through the PostgreSQL engine."""

from __future__ import annotations

import pytest

from discomfy.config import override
from discomfy.core.jobs.store import JobStore
from discomfy.testing.bot_harness import build_config
from tests.bot.test_restart_recovery import (  # noqa: F401 - collected here again, with this bot_config
    test_a_job_waiting_in_our_queue_is_requeued_after_restart_with_the_models_it_loads,
    test_job_lost_by_a_restarted_comfyui_is_reported_with_a_retry_button_that_works,
    test_job_running_on_comfyui_is_followed_after_restart_and_delivered_once,
    test_job_that_finished_while_the_bot_was_down_is_delivered_from_history,
)
from tests.conftest import REPO_ROOT
from tests.core.postgres_server import postgres_server  # noqa: F401 - the session's server


@pytest.fixture
async def bot_config(tmp_path, discord_emulator, fake_comfyui, postgres_server):  # noqa: F811
    config = build_config(tmp_path, emulator=discord_emulator, comfyui_url=fake_comfyui.url,
                          plugin_dirs=[REPO_ROOT / "plugins"], workflow_dirs=[REPO_ROOT / "workflows"])
    override(config, "jobs.store_url", await postgres_server.create_database())
    return config


@pytest.fixture(autouse=True)
async def jobs_went_to_postgresql(bot_config, tmp_path):
    """After each test: its jobs are in PostgreSQL, and no SQLite file was made."""
    yield
    assert not list(tmp_path.rglob("*.sqlite3"))
    async with JobStore.from_config(bot_config) as store:
        assert store.engine == "postgresql" and await store.execute("SELECT id FROM jobs")
