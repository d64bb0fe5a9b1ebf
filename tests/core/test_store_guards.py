"""The job store's guards, each as its user meets it: what a row keeps across a restart, what a
write may not store, and the errors an operator or plugin author reads when a call is wrong.

Written to kill the mutants of rows.py, transitions.py and store.py that the store's main tests
let live (bench/mutation.py, docs/mutation.md); each test names what would go wrong without
its guard. Tests taking ``engine`` run on SQLite and on PostgreSQL (tests/core/conftest.py).
"""

from __future__ import annotations

import math
import sqlite3
import threading
from pathlib import Path

import pytest

from discomfy.core.jobs.job import Job, JobState
from discomfy.core.jobs.migrations import LATEST_VERSION
from discomfy.core.jobs.store import JobStore, JobStoreError
from discomfy.core.jobs.transitions import IllegalTransition
from tests.core.conftest import StoreTarget

USER = 1_180_000_000_000_000_123


def job(state: JobState = JobState.ACCEPTED, **fields) -> Job:
    return Job(user_id=USER, plugin="generate", state=state, **fields)


# --- what a row keeps --------------------------------------------------------------------


async def test_a_private_job_is_still_private_and_delivered_after_a_restart(engine):
    """A /generate private:True job must not come back public after a restart: its result would
    be posted in the channel for everyone instead of sent to its owner alone."""
    private = job(JobState.RUNNING, private=True)
    public = job(JobState.RUNNING)
    async with engine.store() as first:
        await first.add(private)
        await first.add(public)
        await first.claim_intent(private.id, "dm:1", "result")
        assert await first.finish(private.id, "delivered", intent="dm:1")
    async with engine.store() as second:
        kept, other = await second.get(private.id), await second.get(public.id)
    assert kept.private is True and kept.delivered is True
    assert other.private is False and other.delivered is False


async def test_a_parameter_that_is_not_standard_json_is_refused_and_nothing_is_stored(engine):
    """NaN is not JSON: a row holding it could not be read by PostgreSQL's JSON functions nor by
    anything else outside Python; the job is refused, naming the field, before it exists."""
    async with engine.store() as store:
        with pytest.raises(TypeError, match="job parameters must be JSON-serialisable"):
            await store.add(job(parameters={"cfg": math.nan}))
        with pytest.raises(TypeError, match="job outputs must be JSON-serialisable"):
            await store.add(job(outputs=[{"scale": math.inf}]))
        assert await store.unfinished() == []


# --- the errors a wrong call gets ---------------------------------------------------------


async def test_a_write_that_names_no_expected_state_is_refused_with_the_reason(engine):
    async with engine.store() as store:
        added = await store.add(job())
        with pytest.raises(ValueError, match="^a store write must name the state"):
            await store.update(added.id, expect=[], state="queued")
        assert (await store.get(added.id)).state is JobState.ACCEPTED


async def test_an_illegal_move_names_every_state_it_cannot_leave(engine):
    async with engine.store() as store:
        added = await store.add(job())
        with pytest.raises(IllegalTransition, match="^a job cannot go from delivered, failed to queued$"):
            await store.update(added.id, expect=["delivered", "failed"], state="queued")


# --- SQLite settings (pragmas) ------------------------------------------------------------


async def test_a_word_pragma_takes_effect(tmp_path):
    """``pragmas={"synchronous": "FULL"}`` is how an operator trades speed for power-loss safety."""
    async with JobStore(tmp_path / "jobs.sqlite3", pragmas={"synchronous": "FULL", "cache_size": 500}) as store:
        assert (await store.execute("PRAGMA synchronous"))[0][0] == 2  # FULL
        assert (await store.execute("PRAGMA cache_size"))[0][0] == 500


@pytest.mark.parametrize(("value", "message"), [
    (True, "pragma values must be int or str, got True"),
    (None, "pragma values must be int or str, got None"),
    (1.5, "pragma values must be int or str, got 1.5"),
    ("FULL; DROP TABLE jobs", "not a plain pragma value: 'FULL; DROP TABLE jobs'"),
    ("FULL_", "not a plain pragma value: 'FULL_'"),
])
async def test_a_pragma_value_that_is_not_a_plain_int_or_word_is_refused_by_name(tmp_path, value, message):
    """A value is pasted into ``PRAGMA name = value``: anything but an int or a word is refused
    before it reaches SQLite (naming the value), and the store stays closed and untouched."""
    path = tmp_path / "jobs.sqlite3"
    async with JobStore(path) as store:
        kept = await store.add(job())
    refused = JobStore(path, pragmas={"synchronous": value})
    with pytest.raises(ValueError) as caught:
        await refused.open()
    assert str(caught.value) == message
    assert not refused.is_open
    async with JobStore(path) as store:
        assert await store.get(kept.id) == kept


async def test_finishing_with_fields_it_may_not_set_names_them(engine):
    async with engine.store() as store:
        added = await store.add(job(JobState.RUNNING))
        with pytest.raises(TypeError, match="^cannot set colour, delivered while finishing a job$"):
            await store.finish(added.id, "failed", intent=None, delivered=True, colour="red")
        assert (await store.get(added.id)).state is JobState.RUNNING


async def test_what_a_delivery_records_with_its_end_is_kept(engine):
    """A delivered job's outputs and seed are what /show and the buttons (Vary, Upscale) use."""
    async with engine.store() as store:
        added = await store.add(job(JobState.RUNNING))
        await store.claim_intent(added.id, "edit:5", "result")
        assert await store.finish(added.id, "delivered", intent="edit:5", result_message_id=5, seed=2**64 - 1,
                                  outputs=[{"filename": "out.png", "subfolder": "", "type": "output"}])
        ended = await store.get(added.id)
    assert ended.outputs == [{"filename": "out.png", "subfolder": "", "type": "output"}]
    assert ended.seed == 2**64 - 1 and ended.result_message_id == 5


# --- what an operator reads when a write is refused ----------------------------------------


async def test_a_refused_finish_is_logged_with_what_was_expected_and_what_the_job_holds(engine, caplog):
    async with engine.store() as store:
        added = await store.add(job(JobState.RUNNING, prompt_id="p7"))
        await store.claim_intent(added.id, "edit:5", "result")
        with caplog.at_level("WARNING", logger="discomfy.core.jobs.store"):
            assert not await store.finish(added.id, "cancelled", intent="post:x")
            assert await store.claim_intent(added.id, "post:y", "failed", expect_intent="post:x") is None
            assert await store.update(added.id, expect=["queued", "accepted"], expect_prompt="p1", seed=1) is None
    assert [r.getMessage() for r in caplog.records] == [
        f"job {added.id}: refused to finish as cancelled: expected accepted/queued/running, expect_intent post:x, "
        "found running (prompt p7, intent edit:5)",
        f"job {added.id}: refused to claim delivery intent post:y (failed): expected accepted/queued/running, "
        "expect_intent post:x, found running (prompt p7, intent edit:5)",
        f"job {added.id}: refused to update ['seed']: expected accepted/queued with prompt p1, "
        "found running (prompt p7, intent edit:5)",
    ]


async def test_a_write_to_a_job_that_does_not_exist_says_so(engine):
    async with engine.store() as store:
        with pytest.raises(KeyError, match="no job 'gone' in the job store"):
            await store.finish("gone", "failed", intent=None)


async def test_a_wrong_update_is_refused_with_the_whole_reason(engine):
    """The reasons a plugin author reads in a traceback: which fields exist, why a job cannot
    be ended or rewritten through ``update``."""
    async with engine.store() as store:
        added = await store.add(job(JobState.RUNNING))
        with pytest.raises(TypeError) as unknown:
            await store.update(added.id, expect="running", colour="red", delivered=True)
        assert str(unknown.value).startswith("cannot update colour, delivered of a job; updatable fields: ")
        listed = str(unknown.value).split("updatable fields: ")[1].split(", ")
        assert listed == sorted(listed) and "error_message" in listed and "delivered" not in listed
        with pytest.raises(IllegalTransition) as ending:
            await store.update(added.id, expect="running", state="failed")
        assert str(ending.value) == "a job ends only through finish(), by the holder of its delivery intent"
        assert await store.finish(added.id, "failed", intent=None)
        with pytest.raises(IllegalTransition) as rewrite:
            await store.update(added.id, expect="failed", error_message="again")
        assert str(rewrite.value) == "a finished job is never written again"


async def test_an_intent_records_the_time_given_by_discords_clock(engine):
    """The nonce window is Discord's: the intent's time is the ``at`` given, not the store's clock."""
    async with engine.store(clock=lambda: 1_000.0) as store:
        added = await store.add(job(JobState.RUNNING))
        claimed = await store.claim_intent(added.id, "post:n", "result", at=2_000.5)
        assert claimed.intent_at == 2_000.5 and claimed.updated_at == 1_000.0
        unclocked = await store.add(job(JobState.RUNNING))
        assert (await store.claim_intent(unclocked.id, "post:m", "result")).intent_at == 1_000.0


async def test_pruning_keeps_exactly_the_days_the_operator_set(engine):
    """``jobs.prune_after_days``: a finished job a few seconds past the limit goes, one a few
    seconds short of it stays; half a day is a limit too; 0 keeps everything."""
    day, now = 86_400, 1_700_000_000.0
    async with engine.store(clock=lambda: now) as store:
        def finished(age: float) -> Job:
            made = job(JobState.DELIVERED)
            made.created_at = made.updated_at = now - age
            return made

        past, short = await store.add(finished(30 * day + 10)), await store.add(finished(30 * day - 10))
        assert await store.prune(0) == 0
        assert await store.prune(30) == 1
        assert await store.get(past.id) is None and await store.get(short.id) is not None
        assert await store.prune(0.5) == 1
        assert await store.get(short.id) is None


async def test_a_user_sees_at_most_fifty_of_their_jobs_newest_first(engine):
    """/jobs lists a user's jobs from ``jobs_for_user``: 50 at most unless asked otherwise."""
    async with engine.store() as store:
        made = []
        for i in range(52):
            old = job(JobState.DELIVERED)
            old.created_at = old.updated_at = 1_000.0 + i
            made.append(await store.add(old))
        listed = await store.jobs_for_user(USER, active_only=False)
    assert [j.id for j in listed] == [j.id for j in reversed(made)][:50]


# --- the SQLite file itself -----------------------------------------------------------------


async def test_the_store_can_live_in_folders_that_do_not_exist_yet(tmp_path):
    """``jobs.store_path = "data/bot/jobs.sqlite3"`` on a fresh install: the folders are made."""
    path = tmp_path / "data" / "bot" / "state" / "jobs.sqlite3"
    async with JobStore(path) as store:
        await store.add(job())
    assert path.is_file()


async def test_busy_timeout_is_how_long_sqlite_waits_for_another_process(tmp_path):
    async with JobStore(tmp_path / "jobs.sqlite3", busy_timeout=0.25) as store:
        assert (await store.execute("PRAGMA busy_timeout"))[0][0] == 250
    async with JobStore(tmp_path / "jobs.sqlite3") as store:  # unless told otherwise: 5 s
        assert (await store.execute("PRAGMA busy_timeout"))[0][0] == 5000


async def test_from_config_passes_the_bots_settings_through(tmp_path):
    from discomfy.config import get_config

    (tmp_path / "settings.toml").write_text("[jobs]\nstore_path = 'jobs.sqlite3'\n")
    async with JobStore.from_config(get_config(tmp_path), busy_timeout=0.5, pragmas={"cache_size": 300}) as store:
        assert (await store.execute("PRAGMA busy_timeout"))[0][0] == 500
        assert (await store.execute("PRAGMA cache_size"))[0][0] == 300


async def test_reading_works_while_another_process_holds_the_write_lock(tmp_path):
    """/status and /jobs read the store while another bot process is writing (WAL mode)."""
    target = StoreTarget("sqlite", str(tmp_path / "jobs.sqlite3"))
    async with target.store(busy_timeout=0.05) as store:
        kept = await store.add(job())
        async with target.lock_writes():
            rows = await store.execute("SELECT id FROM jobs")
            assert [r["id"] for r in rows] == [kept.id]


async def test_closing_leaves_one_file_safe_to_copy_and_a_closed_store_says_so(tmp_path):
    """After close the write-ahead log is folded back into the file (a backup copies one
    file), the store's thread is gone, and a late call names the cause."""
    path = tmp_path / "jobs.sqlite3"
    store = JobStore(path)
    await store.open()
    assert any(t.name.startswith("discomfy-jobstore") for t in threading.enumerate())
    await store.add(job())
    assert Path(f"{path}-wal").exists()
    await store.close()
    assert not store.is_open and not Path(f"{path}-wal").exists()
    with pytest.raises(JobStoreError) as late:
        await store.get("x")
    assert late.value.detail == f"job store {path} used before open() or after close()"


async def test_a_store_a_newer_discomfy_wrote_stays_closed_and_names_the_setting(tmp_path):
    path = tmp_path / "jobs.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 2}")
    store = JobStore(path)
    for _ in range(2):  # a second try is refused the same way, not taken for open
        with pytest.raises(JobStoreError) as refused:
            await store.open()
        assert refused.value.detail == (
            f"{path} has schema version {LATEST_VERSION + 2}; this DisComfy knows up to {LATEST_VERSION}. "
            "Upgrade DisComfy or point jobs.store_path at another file.")
        assert not store.is_open


async def test_a_statement_sqlite_refuses_is_an_error_naming_sqlites_reason(tmp_path):
    async with JobStore(tmp_path / "jobs.sqlite3") as store:
        with pytest.raises(JobStoreError) as wrong:
            await store.execute("SELECT ?", ())
        assert wrong.value.detail.startswith(f"job store {store.path}: ProgrammingError: Incorrect number of bindings")
        with pytest.raises(JobStoreError) as typo:
            await store.execute("SELEC 1")
        assert typo.value.detail.startswith(f"job store {store.path}: SQLITE_ERROR: near \"SELEC\"")


@pytest.mark.parametrize("name", ["synchronous; DROP TABLE jobs", "_", "cache size"])
async def test_a_pragma_name_that_is_not_a_plain_name_is_refused_by_name(tmp_path, name):
    store = JobStore(tmp_path / "jobs.sqlite3", pragmas={name: 1})
    with pytest.raises(ValueError) as caught:
        await store.open()
    assert str(caught.value) == f"not a pragma name: {name!r}"
    assert not store.is_open


def test_pragmas_given_for_a_postgresql_store_are_refused_naming_why():
    with pytest.raises(ValueError) as caught:
        JobStore("postgresql://db.example/jobs", pragmas={"synchronous": "FULL"})
    assert str(caught.value) == "pragmas are SQLite settings; a PostgreSQL store takes none"


async def test_on_a_postgresql_server_busy_timeout_is_the_sessions_lock_timeout(postgres_server):
    async with JobStore(await postgres_server.create_database(), busy_timeout=0.25) as store:
        assert (await store.execute("SHOW lock_timeout"))[0][0] == "250ms"
        assert store.engine == "postgresql"


# --- admission an operator reads, and a store's life in one process --------------------------


async def test_a_refused_admission_names_the_user_in_what_the_operator_reads(engine):
    """The log line of a refusal says whose command it was, so an operator can tell one busy
    user from a crowd; the user reads only the plain words."""
    from discomfy.core.jobs.admission import Admission
    from discomfy.core.jobs.queued import QueueFullError
    from discomfy.exceptions import RateLimitError

    capped = Admission(max_active=1, per_user=100, global_limit=100, window=60)
    limited = Admission(max_active=100, per_user=1, global_limit=100, window=60)
    async with engine.store(busy_timeout=2.0) as store:
        first = await store.add(job(), admission=capped)
        with pytest.raises(QueueFullError) as full:
            await store.add(job(), admission=capped)
        assert full.value.detail == f"user {USER} at the per-user cap (1), counted in the shared job store"
        assert str(USER) not in full.value.user_message
        later = job()
        later.created_at = first.created_at + 1
        with pytest.raises(RateLimitError) as rate:
            await store.add(later, admission=limited)
        assert rate.value.detail.startswith(f"per-user rate limit hit by user {USER}, counted in the shared job store")


async def test_a_store_closed_twice_opens_again_with_its_jobs(tmp_path):
    """A bot that stops (SIGTERM, then the shutdown's own close) and starts again in the same
    process closes its store twice and opens it again: neither step may fail, and the jobs
    are all there."""
    store = JobStore(tmp_path / "jobs.sqlite3")
    await store.open()
    kept = await store.add(job())
    await store.close()
    await store.close()
    await store.open()
    try:
        assert store.is_open
        assert (await store.get(kept.id)).id == kept.id
    finally:
        await store.close()
