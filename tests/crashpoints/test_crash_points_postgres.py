"""The crash-point matrix with the job store on PostgreSQL (issue 24: every crash-point test on
both engines): each run's bots share a fresh schema of the session's throwaway server
(tests/core/postgres_server.py) through ``jobs.store_url``, so the guarded transitions, the
delivery intents and recovery's reading of unfinished jobs all go through the PostgreSQL
engine. Singles and doubles, judged as on SQLite (matrix.py); see test_crash_points.py. The
bot that schedules takes jobs in when they are announced, not by its real-time poll
(``stage.SHARED_STORE``), so each run numbers the same effects.

With a shared store a restarted process leaves a half-done job (accepted, never announced) to
the process that accepted it for ``recovery.ORPHANED_AFTER`` (60 s of the machine's clock: that
process may still be alive). Here one bot lives at a time and the one before is dead, so the
grace is 0: the next bot adopts the job at once, through the same recovery a process uses after
the grace (the grace itself is tested in tests/bot/test_recovery_resumes.py)."""

from __future__ import annotations

import pytest

from discomfy.bot import recovery
from tests.core.postgres_server import postgres_server  # noqa: F401 - the session's server
from tests.crashpoints.matrix import SHARDS, check, play
from tests.crashpoints.scenarios import SCENARIOS


@pytest.mark.parametrize("shard", range(SHARDS), ids=lambda k: f"{k + 1}of{SHARDS}")
@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_every_crash_point_on_postgresql_ends_with_one_result_or_one_clear_failure(
        name, shard, tmp_path, crash_table, postgres_server, monkeypatch):  # noqa: F811
    monkeypatch.setattr(recovery, "ORPHANED_AFTER", 0.0)
    matrix = await play(SCENARIOS[name], tmp_path, shard, store=postgres_server.create_database)
    crash_table.extend(matrix.rows(f"{name} [pg]"))
    check(matrix)
    assert not list(tmp_path.rglob("*.sqlite3")), "a run wrote its jobs to SQLite"
