"""The bot stopped and started with jobs in every state, with the job store on PostgreSQL:
every test of test_bot_restart.py, run again with ``jobs.store_url`` pointing at a fresh schema
of the test session's throwaway server (tests/core/postgres_server.py), so the bot, its
recovery and the audit's look at the store all go through the PostgreSQL engine."""

from __future__ import annotations

import pytest

from discomfy.config import override
from discomfy.core.jobs.store import JobStore
from discomfy.testing.bot_harness import build_config
from tests.conftest import REPO_ROOT
from tests.core.postgres_server import postgres_server  # noqa: F401 - the session's server
from tests.faults.test_bot_restart import (  # noqa: F401 - collected here again, with this bot_config
    test_bot_restarted_while_comfyui_is_down_follows_the_job_once_it_is_back,
    test_bot_stopped_again_during_recovery_still_delivers_once,
    test_restart_with_jobs_in_every_state_ends_each_exactly_once,
)


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
