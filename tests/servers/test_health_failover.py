"""A server that stops is marked down, its jobs move elsewhere, and it is used again once back."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from discomfy.core.servers.failover import Failover
from discomfy.core.jobs.queue import FairQueue

from .conftest import build_pool


@pytest.fixture
def queue() -> FairQueue:
    return FairQueue(max_per_user=5)


@contextlib.asynccontextmanager
async def started(fakes, queue, names=("gpu-a", "gpu-b")):
    pool = build_pool(fakes, list(names), job_queue=queue)
    await pool.start()
    try:
        yield pool
    finally:
        await pool.close()


async def test_a_stopped_server_fails_over_and_comes_back(fakes, queue):
    stopped: list[str] = []

    async def stop_run(job_id: str) -> None:  # like the bot: its cancelled task frees the slot
        stopped.append(job_id)
        queue.release(job_id)

    async with started(fakes, queue) as pool:
        reports: asyncio.Queue = asyncio.Queue()
        back = asyncio.Event()
        Failover(queue, pool, retry_running=True, stop_run=stop_run).attach(on_report=reports.put_nowait)
        pool.add_health_listener(on_up=lambda server: back.set())
        queue.submit("running", "alice", servers=["gpu-a", "gpu-b"])
        assert (await queue.next("gpu-a", timeout=1)).job_id == "running"
        queue.submit("anywhere", "bob")
        queue.submit("only-a", "carol", servers=["gpu-a"])
        queue.submit("only-b", "dave", servers=["gpu-b"])
        watcher = asyncio.create_task(pool.watch(0.05))
        try:
            await fakes["gpu-a"].stop()
            report = await asyncio.wait_for(reports.get(), 5)
            assert report.server == "gpu-a"
            assert not pool.get("gpu-a").healthy and pool.get("gpu-a").last_error
            assert [a.job_id for a in report.moved] == ["anywhere"]
            assert [a.job_id for a in report.waiting] == ["only-a"]
            assert [a.job_id for a in report.retried] == ["running"] and stopped == ["running"]
            assert report.failed == ()
            assert "`gpu-a` stopped answering" in report.retried[0].message
            assert queue.server_limit("gpu-a") == 0

            ran_on_b = []
            for _ in range(3):
                job = await queue.next("gpu-b", timeout=1)
                ran_on_b.append(job.job_id)
                queue.release(job.job_id)
            assert sorted(ran_on_b) == ["anywhere", "only-b", "running"]
            assert [j.job_id for j in queue.snapshot().pending] == ["only-a"]

            await fakes["gpu-a"].start()  # same port, like a restarted server
            await asyncio.wait_for(back.wait(), 5)
            assert pool.get("gpu-a").healthy and pool.get("gpu-a").down_since is None
            assert queue.server_limit("gpu-a") == 1
            assert (await queue.next("gpu-a", timeout=1)).job_id == "only-a"
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)


async def test_a_retried_job_goes_first_and_fails_if_its_second_server_dies_too(fakes, queue):
    stopped: list[str] = []

    async def stop_run(job_id: str) -> None:  # a bot that stops the task without releasing
        stopped.append(job_id)

    async with started(fakes, queue) as pool:
        reports = []
        Failover(queue, pool, stop_run=stop_run).attach(on_report=reports.append)
        queue.submit("job", "alice")
        await queue.next("gpu-a", timeout=1)
        queue.submit("other", "bob")

        await fakes["gpu-a"].stop()
        assert await pool.check_all() == {"gpu-a": "down"}
        assert [a.job_id for a in reports[-1].retried] == ["job"]
        head = queue.snapshot().pending[0]
        assert head.job_id == "job" and head.servers == frozenset({"gpu-b"})
        assert (await queue.next("gpu-b", timeout=1)).job_id == "job"

        await fakes["gpu-a"].start()
        assert await pool.check_all() == {"gpu-a": "up"}
        await fakes["gpu-b"].stop()
        assert await pool.check_all() == {"gpu-b": "down"}
        failed = reports[-1].failed
        assert [a.job_id for a in failed] == ["job"]
        assert "already been retried once" in failed[0].message
        assert not queue.is_running("job") and queue.position("job") is None
        assert queue.active_count("alice") == 0
        assert [a.job_id for a in reports[-1].moved] == ["other"]  # gpu-a is back
        assert stopped == ["job", "job"]


@pytest.mark.parametrize("retry, stop_run", [(False, True), (True, False)])
async def test_without_retry_the_running_job_fails_with_a_clear_message(fakes, queue, retry, stop_run):
    async def stop(job_id: str) -> None:
        queue.release(job_id)

    async with started(fakes, queue) as pool:
        failover = Failover(queue, pool, retry_running=retry, stop_run=stop if stop_run else None)
        queue.submit("job", "alice")
        await queue.next("gpu-a", timeout=1)
        await fakes["gpu-a"].stop()
        await pool.check_all()
        report = await failover.server_down(pool.get("gpu-a"))
        assert report.retried == ()
        assert [a.job_id for a in report.failed] == ["job"]
        assert report.failed[0].message == ("The image server `gpu-a` stopped answering while running your job. "
                                            "Please try again.")
        assert queue.active_count("alice") == 0 and len(queue) == 0


async def test_a_server_down_at_start_takes_no_jobs(fakes, queue):
    await fakes["gpu-b"].stop()
    async with started(fakes, queue) as pool:
        assert not pool.get("gpu-b").healthy
        Failover(queue, pool)
        assert queue.server_limit("gpu-b") == 0 and queue.server_limit("gpu-a") == 1


async def test_one_failed_request_is_not_a_server_down(fakes, queue):
    async with started(fakes, queue) as pool:
        fakes["gpu-a"].fail_http(500, times=1)
        assert await pool.check_all() == {}
        assert pool.get("gpu-a").healthy
        fakes["gpu-a"].fail_http(500, times=2)
        assert await pool.check_all() == {"gpu-a": "down"}
        assert "500" in pool.get("gpu-a").last_error
        assert await pool.check_all() == {"gpu-a": "up"}


async def test_a_broken_listener_does_not_stop_the_others(fakes, queue):
    async with started(fakes, queue) as pool:
        heard = []

        def broken(server):
            raise RuntimeError("listener bug")
        pool.add_health_listener(on_down=broken)
        remove = pool.add_health_listener(on_down=lambda s: heard.append(("first", s.name)))
        pool.add_health_listener(on_down=lambda s: heard.append(("second", s.name)))
        remove()
        await fakes["gpu-b"].stop()
        await pool.check_all()
        assert heard == [("second", "gpu-b")]


async def test_every_running_job_of_the_dead_server_is_stopped_and_retried(fakes):
    queue = FairQueue(max_per_user=5, max_running_per_server=2)
    both_stopping = asyncio.Barrier(2)  # proves the runs are stopped together, not in turn

    async def stop_run(job_id: str) -> None:
        await asyncio.wait_for(both_stopping.wait(), 5)
        queue.release(job_id)

    async with started(fakes, queue) as pool:
        failover = Failover(queue, pool, stop_run=stop_run)
        for job_id in ("one", "two"):
            queue.submit(job_id, "alice")
            await queue.next("gpu-a", timeout=1)
        await fakes["gpu-a"].stop()
        await pool.check_all()
        report = await failover.server_down(pool.get("gpu-a"))
        assert sorted(a.job_id for a in report.retried) == ["one", "two"]
        assert {j.job_id: j.servers for j in queue.snapshot().pending} == {
            "one": frozenset({"gpu-b"}), "two": frozenset({"gpu-b"})}


async def test_telling_users_does_not_hold_up_health_checks(fakes, queue):
    release, all_told = asyncio.Event(), asyncio.Event()
    told = []

    async def tell_users(report) -> None:  # slow, like Discord edits for many users
        await asyncio.wait_for(release.wait(), 5)
        told.append(report.server)
        if len(told) == 2:
            all_told.set()

    async with started(fakes, queue) as pool:
        Failover(queue, pool).attach(on_report=tell_users)
        await fakes["gpu-a"].stop()
        await fakes["gpu-b"].stop()
        assert await pool.check_all() == {"gpu-a": "down", "gpu-b": "down"}  # returned while reports wait
        assert told == []
        release.set()
        await asyncio.wait_for(all_told.wait(), 5)
        assert sorted(told) == ["gpu-a", "gpu-b"]


@pytest.mark.parametrize("releases", [False, True], ids=["run-still-counted", "run-already-released"])
async def test_a_retried_job_keeps_the_models_it_loads(fakes, queue, releases):
    """Model-aware scheduling groups jobs by their models: a job failed over to another server
    must still say which models it needs, whichever way the bot stopped its run."""

    async def stop_run(job_id: str) -> None:
        if releases:  # the bot's run ended and gave its slot back before the queue move
            queue.release(job_id)

    async with started(fakes, queue) as pool:
        Failover(queue, pool, stop_run=stop_run).attach()
        queue.submit("job", "alice", models={"flux1-dev.safetensors", "ae.safetensors"})
        await queue.next("gpu-a", timeout=1)

        await fakes["gpu-a"].stop()
        assert await pool.check_all() == {"gpu-a": "down"}
        head = queue.snapshot().pending[0]
        assert head.job_id == "job" and head.servers == frozenset({"gpu-b"})
        assert head.models == frozenset({"flux1-dev.safetensors", "ae.safetensors"})
