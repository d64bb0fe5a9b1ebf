"""JobStore: jobs survive restarts, delivery is claimed once, and a locked or full database
becomes a clear error that leaves every stored row intact.

Every test that takes ``store`` or ``engine`` runs twice: on an SQLite file and on a real
PostgreSQL server (tests/core/conftest.py). The ones at the end, under "SQLite itself", are
about the file (WAL mode, a size cap, the path setting) and run on SQLite only."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

import discomfy.core.jobs.store as job_store_module
from discomfy.core.preferences import PreferenceStore
from discomfy.core.jobs.store import JobStore, JobStoreError
from discomfy.core.jobs.migrations import LATEST_VERSION, Migration
from discomfy.core.jobs.job import Job, JobState, new_job_id
from discomfy.core.jobs.transitions import TRANSITIONS, IllegalTransition

SNOWFLAKE = 1_180_000_000_000_000_123


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(engine, clock):
    async with engine.store(clock=clock, busy_timeout=0.05) as opened:
        yield opened


def make_job(user_id=SNOWFLAKE, state=JobState.ACCEPTED, created_at=None, **fields) -> Job:
    job = Job(user_id=user_id, plugin="generate", state=state, **fields)
    if created_at is not None:
        job.created_at = job.updated_at = created_at
    return job


def full_job() -> Job:
    return Job(
        user_id=SNOWFLAKE,
        plugin="generate",
        command="generate",
        workflow="flux-dev",
        guild_id=SNOWFLAKE + 1,
        channel_id=SNOWFLAKE + 2,
        interaction_token="tok" * 30,
        interaction_created_at=1_700_000_000.5,
        progress_message_id=SNOWFLAKE + 3,
        parameters={"prompt": "a cat ✨", "steps": 30, "loras": [{"name": "x", "strength": 0.5}]},
        seed=2**64 - 1,  # ComfyUI's largest seed does not fit an SQLite INTEGER
        server="gpu-a",
        prompt_id="3f0c-prompt",
        outputs=[{"filename": "out.png", "subfolder": "", "type": "output"}],
        input_urls={"image": "https://cdn.discordapp.com/attachments/1/2/cat.png?ex=1"},
    )


def test_job_ids_are_short_and_unique():
    ids = {new_job_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(len(i) == 12 for i in ids)


async def test_every_field_round_trips_exactly(store):
    job = full_job()
    await store.add(job)
    assert await store.get(job.id) == job
    assert await store.get("missing") is None


async def test_jobs_survive_close_and_reopen_with_schema_version(engine):
    job = full_job()
    async with engine.store() as first:
        await first.add(job)
        assert await first.schema_version() == LATEST_VERSION
    async with engine.store() as second:
        assert await second.get(job.id) == job
        assert second.engine == engine.name


async def test_update_changes_fields_and_stamps_the_time(store, clock):
    job = await store.add(make_job())
    clock.now += 5
    updated = await store.update(job.id, expect="accepted", state="queued", prompt_id="p1", outputs=[{"f": 1}], seed=7)
    assert updated.state is JobState.QUEUED and updated.prompt_id == "p1"
    assert updated.outputs == [{"f": 1}] and updated.seed == 7
    assert updated.updated_at == clock.now
    assert await store.get(job.id) == updated


async def test_update_refuses_unknown_fields_and_ids(store):
    job = await store.add(make_job())
    with pytest.raises(TypeError, match="cannot update colour, id"):
        await store.update(job.id, expect="accepted", colour="red", id="x")
    with pytest.raises(ValueError):
        await store.update(job.id, expect="accepted", state="exploded")
    with pytest.raises(KeyError):
        await store.update("nope", expect="accepted", state="queued")
    with pytest.raises(TypeError, match="JSON-serialisable"):
        await store.update(job.id, expect="accepted", parameters={"x": object()})
    assert await store.get(job.id) == job


async def test_unfinished_lists_what_restart_recovery_must_resume(store):
    jobs = [
        make_job(state=s, created_at=1000.0 + i)
        for i, s in enumerate([JobState.RUNNING, JobState.DELIVERED, JobState.ACCEPTED, JobState.FAILED, JobState.QUEUED, JobState.CANCELLED])
    ]
    for job in reversed(jobs):
        await store.add(job)
    assert [j.id for j in await store.unfinished()] == [jobs[0].id, jobs[2].id, jobs[4].id]


async def test_jobs_for_user_newest_first_active_or_all(store):
    mine = [await store.add(make_job(user_id=1, state=s, created_at=100.0 + i))
            for i, s in enumerate([JobState.DELIVERED, JobState.QUEUED, JobState.RUNNING])]
    await store.add(make_job(user_id=2, state=JobState.QUEUED))
    assert [j.id for j in await store.jobs_for_user(1)] == [mine[2].id, mine[1].id]
    assert [j.id for j in await store.jobs_for_user(1, active_only=False)] == [m.id for m in reversed(mine)]
    assert len(await store.jobs_for_user(1, active_only=False, limit=1)) == 1


async def test_finishing_is_true_exactly_once_even_when_racing(store, engine):
    job = await store.add(make_job(state=JobState.RUNNING))
    assert await store.claim_intent(job.id, "edit:1", "result")
    results = await asyncio.gather(*(store.finish(job.id, "delivered", intent="edit:1") for _ in range(20)))
    assert results.count(True) == 1
    stored = await store.get(job.id)
    assert stored.delivered and stored.state is JobState.DELIVERED
    # a second store on the same file or database (another bot process) cannot end it again
    async with engine.store() as other:
        assert not await other.finish(job.id, "failed", intent="edit:1")
    with pytest.raises(KeyError):
        await store.finish("unknown", "delivered", intent=None)


async def test_cancelled_or_failed_jobs_are_never_delivered_and_update_cannot_fake_it(store):
    cancelled = await store.add(make_job(state=JobState.CANCELLED))
    failed = await store.add(make_job(state=JobState.FAILED))
    assert not await store.finish(cancelled.id, "delivered", intent=None)
    assert not await store.finish(failed.id, "delivered", intent=None)
    assert (await store.get(cancelled.id)).state is JobState.CANCELLED
    running = await store.add(make_job(state=JobState.RUNNING))
    with pytest.raises(ValueError, match="finish"):
        await store.update(running.id, expect="running", state=JobState.DELIVERED)
    with pytest.raises(TypeError, match="cannot update delivered"):
        await store.update(running.id, expect="running", delivered=True)
    assert await store.finish(running.id, "delivered", intent=None)


async def test_every_write_is_checked_against_the_one_transition_table(store):
    """Only the moves of TRANSITIONS are accepted; a final job is never written again."""
    assert TRANSITIONS[JobState.DELIVERED] == TRANSITIONS[JobState.FAILED] == TRANSITIONS[JobState.CANCELLED] == set()
    job = await store.add(make_job())
    with pytest.raises(IllegalTransition, match="from accepted to running"):
        await store.update(job.id, expect="accepted", state="running")
    assert (await store.update(job.id, expect="accepted", state="queued")).state is JobState.QUEUED
    assert (await store.update(job.id, expect="queued", state="running", prompt_id="p1")).prompt_id == "p1"
    with pytest.raises(IllegalTransition, match="finished job"):
        await store.update(job.id, expect="delivered", error_message="x")
    with pytest.raises(IllegalTransition, match="not a final state"):
        await store.finish(job.id, "queued", intent=None)
    with pytest.raises(IllegalTransition, match="from running to accepted"):
        await store.update(job.id, expect="running", state="accepted")


async def test_a_write_expecting_another_state_or_prompt_is_refused_and_logged(store, caplog):
    job = await store.add(make_job(state=JobState.RUNNING, prompt_id="old", server="a"))
    # the new run on another server wrote first...
    assert await store.update(job.id, expect="running", expect_prompt="old", state="queued", server=None, prompt_id=None)
    assert await store.update(job.id, expect="queued", state="running", server="b", prompt_id="new")
    # ...so the late failover reset of the old run must not wipe the new prompt id
    with caplog.at_level("WARNING"):
        refused = await store.update(job.id, expect="running", expect_prompt="old", state="queued", prompt_id=None)
    assert refused is None
    assert (await store.get(job.id)).prompt_id == "new"
    assert "expected running with prompt old, found running (prompt new" in caplog.text


async def test_failed_is_never_written_over_a_delivered_job(store, caplog):
    job = await store.add(make_job(state=JobState.RUNNING))
    claimed = await store.claim_intent(job.id, "edit:9", "result")
    assert claimed.delivery_intent == "edit:9" and claimed.intent_at is not None
    # a second path (failover, cancel) cannot take over the delivery...
    assert await store.claim_intent(job.id, "post:x", "failed+retry") is None
    assert await store.finish(job.id, "delivered", intent="edit:9", result_message_id=9)
    # ...nor fail the job once it is delivered, with or without the intent
    with caplog.at_level("WARNING"):
        assert not await store.finish(job.id, "failed", intent="edit:9", error_message="late")
        assert await store.claim_intent(job.id, "post:y", "failed", expect_intent="edit:9") is None
    stored = await store.get(job.id)
    assert stored.state is JobState.DELIVERED and stored.error_message is None and stored.result_message_id == 9
    assert "found delivered" in caplog.text


async def test_keeping_an_intent_keeps_its_time_so_the_nonce_window_counts_from_the_first_send(store, clock):
    job = await store.add(make_job(state=JobState.RUNNING))
    first = await store.claim_intent(job.id, "post:n1", "result")
    clock.now += 100
    same = await store.claim_intent(job.id, "post:n1", "failed+retry", expect_intent="post:n1")
    assert same.intent_at == first.intent_at and same.delivery_outcome == "failed+retry"
    moved = await store.claim_intent(job.id, "post:n2", "failed+retry", expect_intent="post:n1")
    assert moved.intent_at == clock.now


async def test_prune_removes_only_old_finished_jobs(store, clock):
    day = 86400
    old_done = await store.add(make_job(state=JobState.DELIVERED, created_at=clock.now - 40 * day))
    old_running = await store.add(make_job(state=JobState.RUNNING, created_at=clock.now - 40 * day))
    new_done = await store.add(make_job(state=JobState.FAILED, created_at=clock.now - 1 * day))
    assert await store.prune(0) == 0
    assert await store.prune(30) == 1
    assert await store.get(old_done.id) is None
    assert await store.get(old_running.id) is not None and await store.get(new_done.id) is not None


async def test_use_before_open_is_a_clear_error(engine):
    closed = engine.store()
    with pytest.raises(JobStoreError) as caught:
        await closed.get("x")
    assert "before open()" in caught.value.detail


async def test_locked_database_is_a_clear_error_and_rows_stay_intact(store, engine):
    kept = await store.add(full_job())
    async with engine.lock_writes():
        with pytest.raises(JobStoreError) as caught:
            await store.add(make_job())
        assert caught.value.user_message == "The bot could not save your job; please try again later."
        assert "lock" in caught.value.detail and engine.busy_code in caught.value.detail
        with pytest.raises(JobStoreError):
            await store.finish(kept.id, "failed", intent=None)
        assert await store.get(kept.id) == kept  # readers still read
    assert await store.get(kept.id) == kept
    assert await store.finish(kept.id, "failed", intent=None)
    assert len(await store.jobs_for_user(SNOWFLAKE, active_only=False)) == 1


async def test_waiting_for_a_lock_never_blocks_the_event_loop(engine):
    async with engine.store(busy_timeout=5.0) as slow:
        async with engine.lock_writes():
            adding = asyncio.create_task(slow.add(make_job()))
            await asyncio.sleep(0.05)  # the loop keeps running while the write waits for the lock
            assert not adding.done()
        job = await asyncio.wait_for(adding, 5)
        assert await slow.get(job.id) == job


async def test_duplicate_id_is_refused_without_touching_the_first(store):
    job = await store.add(full_job())
    clash = make_job()
    clash.id = job.id
    with pytest.raises(JobStoreError, match="UNIQUE"):
        await store.add(clash)
    assert await store.get(job.id) == job


async def test_forward_migration_applies_on_open_and_keeps_rows(engine, monkeypatch):
    job = full_job()
    async with engine.store() as v1:
        await v1.add(job)
    extra = Migration(LATEST_VERSION + 1, "note column", ("ALTER TABLE jobs ADD COLUMN note TEXT",))
    monkeypatch.setattr(job_store_module, "MIGRATIONS", job_store_module.MIGRATIONS + (extra,))
    monkeypatch.setattr(job_store_module, "LATEST_VERSION", extra.version)
    async with engine.store() as v2:
        assert await v2.schema_version() == extra.version
        assert await v2.get(job.id) == job
    assert "note" in await engine.columns("jobs")


async def test_a_store_written_before_delivery_intents_upgrades_and_finishes_its_open_jobs(engine, monkeypatch):
    """A store at schema 2 (preferences, private jobs; no delivery intents, no input URLs, no
    per-server values) upgrades in place: its open job reads back with no intent, and ends
    through finish(); per-server values can be kept from then on."""
    monkeypatch.setattr(job_store_module, "MIGRATIONS", job_store_module.MIGRATIONS[:2])
    monkeypatch.setattr(job_store_module, "LATEST_VERSION", 2)
    async with engine.store() as old:
        await old.execute("INSERT INTO jobs (id, user_id, plugin, state, prompt_id, private, created_at, updated_at) "
                          "VALUES ('run1', 5, 'generate', 'running', 'p-1', 1, 1, 1)", write=True)
    monkeypatch.undo()
    async with engine.store() as store:
        assert await store.schema_version() == LATEST_VERSION == 6
        job = await store.get("run1")
        assert (job.state, job.prompt_id, job.private) == (JobState.RUNNING, "p-1", True)
        assert (job.delivery_intent, job.input_urls) == (None, {})
        assert await store.claim_intent("run1", "post:discomfy-run1", "result")
        assert await store.finish("run1", "delivered", intent="post:discomfy-run1")
        assert (await store.get("run1")).delivered
        servers = PreferenceStore(store, table="guild_preferences")
        await servers.set(77, "community", "refuse", ["nsfw"])
        await servers.load()
        assert servers.get(77, "community") == {"refuse": ["nsfw"]} and servers.get(78, "community") == {}


async def test_failed_migration_leaves_the_previous_version(engine, monkeypatch):
    async with engine.store():
        pass
    broken = Migration(LATEST_VERSION + 1, "broken", ("ALTER TABLE jobs ADD COLUMN a TEXT", "NOT SQL"))
    monkeypatch.setattr(job_store_module, "MIGRATIONS", job_store_module.MIGRATIONS + (broken,))
    monkeypatch.setattr(job_store_module, "LATEST_VERSION", broken.version)
    with pytest.raises(JobStoreError, match="syntax error"):
        await engine.store().open()
    assert await engine.version() == LATEST_VERSION
    assert "a" not in await engine.columns("jobs")


async def test_database_from_a_newer_version_is_refused(engine):
    if engine.sqlite:
        Path(engine.where).parent.mkdir(parents=True)
    await engine.set_version(LATEST_VERSION + 5)
    with pytest.raises(JobStoreError) as caught:
        await engine.store().open()
    assert "newer DisComfy" in caught.value.user_message
    assert str(LATEST_VERSION + 5) in caught.value.detail


async def test_sql_callers_write_through_execute_runs_on_either_engine(store):
    """Sibling tables and plugins (the quota ledger, the health probe) write SQLite's dialect:
    ``?`` placeholders, ``IS ?``, ``WHERE 0``; PostgreSQL gets it translated."""
    job = await store.add(make_job(state=JobState.DELIVERED, created_at=1000.5, guild_id=SNOWFLAKE))
    assert await store.execute("UPDATE jobs SET id = id WHERE 0", write=True) == []
    rows = await store.execute(
        "SELECT id, guild_id, created_at FROM jobs WHERE created_at >= ? AND state NOT IN (?, ?) AND prompt_id IS ? "
        "AND 'it''s ?' = 'it''s ?'", (1000.0, "failed", "cancelled", None))
    assert [(r["id"], r["guild_id"], r["created_at"]) for r in rows] == [(job.id, SNOWFLAKE, 1000.5)]


def test_the_postgresql_dialect_keeps_literals_and_comments():
    from discomfy.core.jobs.dialect import postgres_ddl, to_postgres

    assert to_postgres("UPDATE t SET a = ?, b = 'x?' WHERE c IS ? AND d IS NOT ? -- e = ?") == (
        "UPDATE t SET a = $1, b = 'x?' WHERE c IS NOT DISTINCT FROM $2 AND d IS DISTINCT FROM $3 -- e = ?")
    assert to_postgres("DELETE FROM t WHERE 1 = ?") == "DELETE FROM t WHERE 1 = $1"
    assert postgres_ddl("ALTER TABLE jobs ADD COLUMN n INTEGER DEFAULT 'REAL' -- INTEGER") == (
        "ALTER TABLE jobs ADD COLUMN n BIGINT DEFAULT 'REAL' -- INTEGER")


async def test_from_config_with_a_store_url_uses_postgresql(tmp_path, postgres_server):
    from discomfy.config import get_config

    url = await postgres_server.create_database()
    (tmp_path / "settings.toml").write_text(f"[jobs]\nstore_url = '{url}'\n")
    store = JobStore.from_config(get_config(tmp_path), busy_timeout=1.0)
    assert store.engine == "postgresql" and store.path == url
    async with store:
        job = await store.add(make_job())
    async with JobStore(url) as again:
        assert await again.get(job.id) == job
    assert not list(tmp_path.glob("*.sqlite3"))


def test_a_password_in_the_store_url_never_reaches_messages():
    store = JobStore("postgresql://bot:s3cret@db.example:5432/jobs")
    assert store.path == "postgresql://bot:***@db.example:5432/jobs" and store.engine == "postgresql"
    with pytest.raises(ValueError, match="SQLite"):
        JobStore("postgresql://db/jobs", pragmas={"max_page_count": 10})


# --- SQLite itself: the file's journal mode, its size cap and its path setting (SQLite only) ---


async def test_the_sqlite_file_runs_in_wal_mode(tmp_path):
    path = tmp_path / "s.sqlite3"
    async with JobStore(path) as store:
        await store.add(full_job())
        assert store.engine == "sqlite"
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_disk_full_is_a_clear_error_and_corrupts_nothing(tmp_path):
    path = tmp_path / "full.sqlite3"
    kept = full_job()
    async with JobStore(path) as first:
        await first.add(kept)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    big = {"prompt": "x" * 200_000}
    async with JobStore(path, pragmas={"max_page_count": pages}) as full:
        with pytest.raises(JobStoreError) as caught:
            await full.add(make_job(parameters=big))
        assert caught.value.user_message.startswith("The bot could not save your job")
        assert "full" in caught.value.detail
        with pytest.raises(JobStoreError):
            await full.update(kept.id, expect="accepted", parameters=big)
        assert await full.get(kept.id) == kept
        assert await full.finish(kept.id, "failed", intent=None)  # small writes still fit in existing pages
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    async with JobStore(path) as roomy:
        assert (await roomy.add(make_job(parameters=big))).parameters == big
        assert (await roomy.get(kept.id)).state is JobState.FAILED


async def test_from_config_uses_jobs_store_path(tmp_path):
    from discomfy.config import get_config

    (tmp_path / "settings.toml").write_text("[jobs]\nstore_path = 'data/j.sqlite3'\n")
    store = JobStore.from_config(get_config(tmp_path))
    assert store.path == str(tmp_path / "data" / "j.sqlite3")
    async with store:
        await store.add(make_job())
    assert (tmp_path / "data" / "j.sqlite3").exists()
