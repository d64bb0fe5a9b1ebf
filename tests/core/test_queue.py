"""FairQueue: users take turns, caps hold, positions are exact and announced, workers never
exceed a server's slots, and nothing waits forever."""

from __future__ import annotations

import asyncio

import pytest

from discomfy.core.jobs.queue import FairQueue, QueueClosedError, QueueFullError
from discomfy.exceptions import RateLimitError


async def drain(queue: FairQueue, count: int, server: str = "default") -> list[str]:
    """Take ``count`` jobs one at a time, releasing each (a one-slot server)."""
    served = []
    for _ in range(count):
        job = await queue.next(server, timeout=1)
        served.append(job.job_id)
        queue.release(job.job_id)
    return served


async def test_users_take_turns_instead_of_first_come_first_served():
    queue = FairQueue(max_per_user=5)
    for i in range(3):
        queue.submit(f"a{i}", "alice")
    queue.submit("b0", "bob")
    queue.submit("b1", "bob")
    queue.submit("c0", "carol")
    assert [j.job_id for j in queue.snapshot().pending] == ["a0", "b0", "c0", "a1", "b1", "a2"]
    assert await drain(queue, 6) == ["a0", "b0", "c0", "a1", "b1", "a2"]


async def test_positions_predict_the_serving_order_as_the_queue_moves():
    queue = FairQueue(max_per_user=5)
    for job_id, user in [("a0", 1), ("a1", 1), ("a2", 1), ("b0", 2), ("c0", 3), ("b1", 2)]:
        queue.submit(job_id, user)
    predicted = sorted(queue._positions, key=queue.position)
    served = []
    while len(queue):
        job = await queue.next(timeout=1)
        assert queue.position(job.job_id) is None and queue.is_running(job.job_id)
        served.append(job.job_id)
        queue.release(job.job_id)
        for job_id in queue._positions:  # every remaining position is still exact
            assert sorted(queue._positions, key=queue.position).index(job_id) + 1 == queue.position(job_id)
    assert served == predicted


def test_submit_returns_the_position_and_late_users_are_not_stuck_behind_a_heavy_user():
    queue = FairQueue(max_per_user=10)
    assert [queue.submit(f"a{i}", "alice") for i in range(5)] == [1, 2, 3, 4, 5]
    assert queue.submit("b0", "bob") == 2


def test_per_user_cap_counts_waiting_and_running_and_says_what_to_do():
    queue = FairQueue(max_per_user=3)
    for i in range(3):
        queue.submit(f"j{i}", 42)
    with pytest.raises(QueueFullError) as caught:
        queue.submit("j3", 42)
    assert caught.value.user_message == (
        "You already have 3 jobs waiting or running; wait for one to finish or cancel it."
    )
    assert isinstance(caught.value, RateLimitError)
    queue.submit("other", 7)  # other users are unaffected
    assert queue.cancel("j0")
    queue.submit("j3", 42)
    assert queue.active_count(42) == 3


async def test_running_jobs_count_against_the_cap_until_released():
    queue = FairQueue(max_per_user=1)
    queue.submit("j0", 1)
    job = await queue.next(timeout=1)
    with pytest.raises(QueueFullError) as caught:
        queue.submit("j1", 1)
    assert caught.value.user_message.startswith("You already have 1 job waiting or running;")
    queue.release(job.job_id)
    assert queue.submit("j1", 1) == 1


async def test_cancel_only_removes_waiting_jobs():
    queue = FairQueue()
    queue.submit("run", 1)
    queue.submit("wait", 1)
    running = await queue.next(timeout=1)
    assert running.job_id == "run"
    assert not queue.cancel("run")
    assert queue.cancel("wait")
    assert not queue.cancel("wait")
    assert not queue.cancel("never-existed")
    assert queue.position("wait") is None and len(queue) == 0


def test_duplicate_job_id_is_a_programming_error():
    queue = FairQueue()
    queue.submit("x", 1)
    with pytest.raises(ValueError, match="already in the queue"):
        queue.submit("x", 2)


async def test_listeners_hear_only_changed_positions():
    queue = FairQueue(max_per_user=5)
    heard: list[dict] = []
    remove = queue.add_listener(heard.append)
    queue.submit("a0", "a")
    queue.submit("a1", "a")
    queue.submit("b0", "b")  # goes before a1: a1 moves from 2 to 3
    assert heard == [{"a0": 1}, {"a1": 2}, {"b0": 2, "a1": 3}]
    heard.clear()
    job = await queue.next(timeout=1)
    assert heard == [{"a0": None, "b0": 1, "a1": 2}]
    heard.clear()
    queue.release(job.job_id)  # releasing a running job moves no waiting one
    assert heard == []
    remove()
    queue.cancel("b0")
    assert heard == []


async def test_async_and_broken_listeners_do_not_break_the_queue():
    queue = FairQueue()
    got = asyncio.Event()

    async def async_listener(changes):
        got.set()

    def broken(changes):
        raise RuntimeError("listener bug")

    queue.add_listener(broken)
    queue.add_listener(async_listener)
    assert queue.submit("j", 1) == 1
    await asyncio.wait_for(got.wait(), 1)


async def test_server_slots_limit_concurrent_jobs_and_release_frees_them():
    queue = FairQueue(max_per_user=10, max_running_per_server=2)
    for i in range(4):
        queue.submit(f"j{i}", i)
    first = await queue.next(timeout=1)
    second = await queue.next(timeout=1)
    waiting = asyncio.create_task(queue.next(timeout=1))
    await asyncio.sleep(0)
    assert not waiting.done()  # both slots busy
    queue.release(first.job_id)
    third = await waiting
    assert [first.job_id, second.job_id, third.job_id] == ["j0", "j1", "j2"]
    assert {j.job_id for j in queue.snapshot().running} == {"j1", "j2"}


async def test_jobs_go_only_to_servers_that_can_run_them():
    queue = FairQueue(max_per_user=5, server_limits={"gpu-a": 1, "gpu-b": 1})
    queue.submit("needs-b", 1, servers=["gpu-b"])
    queue.submit("any", 2)
    on_a = await queue.next("gpu-a", timeout=1)
    on_b = await queue.next("gpu-b", timeout=1)
    assert (on_a.job_id, on_a.server) == ("any", "gpu-a")
    assert (on_b.job_id, on_b.server) == ("needs-b", "gpu-b")


async def test_worker_waits_for_work_and_times_out_instead_of_hanging():
    queue = FairQueue()
    with pytest.raises(TimeoutError):
        await queue.next(timeout=0.01)
    waiting = asyncio.create_task(queue.next(timeout=1))
    await asyncio.sleep(0)
    queue.submit("late", 1)
    assert (await waiting).job_id == "late"


async def test_paused_server_gets_nothing_until_resumed():
    queue = FairQueue()
    queue.set_server_limit("default", 0)
    queue.submit("j", 1)
    waiting = asyncio.create_task(queue.next(timeout=1))
    await asyncio.sleep(0)
    assert not waiting.done()
    queue.set_server_limit("default", 1)
    assert (await waiting).job_id == "j"


async def test_close_stops_waiting_workers_and_new_submissions():
    queue = FairQueue()
    waiting = asyncio.create_task(queue.next(timeout=1))
    await asyncio.sleep(0)
    queue.close()
    with pytest.raises(QueueClosedError):
        await waiting
    with pytest.raises(QueueClosedError) as caught:
        queue.submit("j", 1)
    assert "try again" in caught.value.user_message


async def test_requeue_puts_a_failed_over_job_first():
    queue = FairQueue(max_per_user=5, server_limits={"a": 1, "b": 1})
    queue.submit("x", 1)
    queue.submit("y", 2)
    x = await queue.next("a", timeout=1)
    assert queue.requeue(x.job_id, servers=["b"])
    assert queue.position("x") == 1 and queue.active_count(1) == 1
    again = await queue.next("b", timeout=1)
    assert (again.job_id, again.server) == ("x", "b")
    assert not queue.requeue("unknown")


async def test_adopted_running_jobs_hold_their_slot_and_cap():
    queue = FairQueue(max_per_user=1)
    queue.adopt_running("old", 5, "default")
    with pytest.raises(QueueFullError):
        queue.submit("new", 5)
    queue.submit("other", 6)
    with pytest.raises(TimeoutError):
        await queue.next(timeout=0.01)  # the slot is taken by the adopted job
    queue.release("old")
    assert (await queue.next(timeout=1)).job_id == "other"


async def test_hundred_users_burst_cap_holds_and_everyone_is_served_once():
    queue = FairQueue(max_per_user=3, max_running_per_server=4)
    refused = 0
    for user in range(100):
        for n in range(5):
            try:
                queue.submit(f"u{user}-{n}", user)
            except QueueFullError:
                refused += 1
    assert refused == 200 and len(queue) == 300
    # first 100 served are each user's first job: nobody gets a second before all got one
    served: list[str] = []

    async def worker():
        while True:
            try:
                job = await queue.next(timeout=0.05)
            except TimeoutError:
                return
            served.append(job.job_id)
            await asyncio.sleep(0)
            queue.release(job.job_id)

    await asyncio.gather(*(worker() for _ in range(4)))
    assert sorted(served) == sorted(f"u{u}-{n}" for u in range(100) for n in range(3))
    assert {s.split("-")[0] for s in served[:100]} == {f"u{u}" for u in range(100)}
    assert queue.snapshot().running == () and queue.active_count(0) == 0


def test_snapshot_for_user_lists_running_then_waiting():
    queue = FairQueue(max_per_user=5)
    queue.submit("a", 1)
    queue.submit("b", 2)
    queue.submit("c", 1)
    snap = queue.snapshot()
    assert [j.job_id for j in snap.for_user(1)] == ["a", "c"]
    assert snap.position("c") == 3 and snap.position("zzz") is None


def test_from_config_reads_the_caps(tmp_path):
    from discomfy.config import get_config

    (tmp_path / "settings.toml").write_text("[limits]\nmax_queued_per_user = 2\n[comfyui]\nmax_running_per_server = 3\n")
    queue = FairQueue.from_config(get_config(tmp_path))
    assert queue.max_per_user == 2 and queue.server_limit("anything") == 3


async def test_servers_waiting_for_work_are_served_in_the_order_they_began_to_wait():
    """The same arrivals always dispatch the same way (the scheduling bench replays them):
    when one job arrives for several idle servers, the one that waited longest takes it."""
    winners = set()
    for _ in range(30):  # a hash-ordered set of waiters picks by object address: some runs differ
        queue = FairQueue(max_per_user=5)
        waiting = [asyncio.create_task(queue.next(server, timeout=1)) for server in ("gpu3", "gpu1", "gpu2")]
        await asyncio.sleep(0)  # all three are waiting, gpu3 first
        queue.submit("only", "alice")
        done, pending = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        winners.add(waiting.index(done.pop()))
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    assert winners == {0}
