"""Admission counted in the store: with several processes sharing it, the per-user cap and the
rate limits hold across all of them, because each job is admitted in the same transaction
that counts the jobs already there (discomfy.core.jobs.admission).

Each test runs on an SQLite file and on a real PostgreSQL server (tests/core/conftest.py); two
``JobStore`` objects on one store are two processes."""

from __future__ import annotations

import asyncio

import pytest

from discomfy.core.jobs.admission import Admission
from discomfy.core.jobs.job import Job, JobState
from discomfy.core.jobs.queued import QueueFullError
from discomfy.exceptions import RateLimitError

NOW = 1_700_000_000.0
ALICE, BOB = 1_180_000_000_000_000_001, 1_180_000_000_000_000_002


def job(user_id: int, at: float = NOW, state: JobState = JobState.ACCEPTED) -> Job:
    made = Job(user_id=user_id, plugin="generate", state=state)
    made.created_at = made.updated_at = at
    return made


async def test_a_user_at_the_cap_is_refused_until_a_job_of_theirs_ends(engine):
    admission = Admission(max_active=2, per_user=100, global_limit=100, window=60)
    async with engine.store(busy_timeout=2.0) as store:
        first = await store.add(job(ALICE), admission=admission)
        await store.add(job(ALICE, NOW + 1, JobState.QUEUED), admission=admission)
        with pytest.raises(QueueFullError) as refused:
            await store.add(job(ALICE, NOW + 2), admission=admission)
        assert refused.value.user_message.startswith("You already have 2 jobs waiting or running")
        await store.add(job(BOB, NOW + 2), admission=admission)  # a cap is per user
        assert await store.finish(first.id, "failed", intent=None)
        await store.add(job(ALICE, NOW + 3), admission=admission)
        assert len(await store.jobs_for_user(ALICE)) == 2


async def test_the_rate_window_is_counted_from_stored_jobs_with_the_exact_wait(engine):
    admission = Admission(max_active=10, per_user=2, global_limit=100, window=60)
    async with engine.store(busy_timeout=2.0) as store:
        await store.add(job(ALICE, NOW), admission=admission)
        await store.add(job(ALICE, NOW + 10), admission=admission)
        with pytest.raises(RateLimitError) as refused:
            await store.add(job(ALICE, NOW + 40), admission=admission)
        assert refused.value.user_message == "You can run 2 generations per minute; try again in 20 s."
        assert refused.value.retry_after == pytest.approx(20.0)  # when the first job leaves the window
        await store.add(job(ALICE, NOW + 60.5), admission=admission)  # the first left the window
        assert len(await store.jobs_for_user(ALICE)) == 3


async def test_everyones_window_refuses_with_the_busy_wording(engine):
    admission = Admission(max_active=10, per_user=10, global_limit=3, window=60)
    async with engine.store(busy_timeout=2.0) as store:
        for n, user in enumerate((ALICE, BOB, ALICE)):
            await store.add(job(user, NOW + n), admission=admission)
        with pytest.raises(RateLimitError) as refused:
            await store.add(job(BOB, NOW + 5), admission=admission)
        assert refused.value.user_message == ("The bot is busy: everyone together can run 3 generations per minute; "
                                              "try again in 55 s.")


async def test_two_processes_admitting_at_once_never_pass_the_cap_together(engine):
    """Twelve commands of one user reach two processes at the same moment: exactly three jobs
    (the cap) are stored, and every other command is refused with the cap's words."""
    admission = Admission(max_active=3, per_user=100, global_limit=100, window=60)
    async with engine.store(busy_timeout=5.0) as one, engine.store(busy_timeout=5.0) as other:
        tries = [(one if n % 2 else other).add(job(ALICE, NOW + n / 100), admission=admission) for n in range(12)]
        results = await asyncio.gather(*tries, return_exceptions=True)
        stored = await one.jobs_for_user(ALICE)
    refused = [r for r in results if isinstance(r, QueueFullError)]
    assert len(stored) == 3 and len(refused) == 9, results
