"""model_affinity checks its guess of what each server holds against ComfyUI after every job:
``/system_stats`` says how much VRAM is in use, so a server whose VRAM was emptied (ComfyUI
restarted, or freed its models) stops counting as holding them, and jobs stop waiting for a
model that is no longer there. A failed read keeps the guess (logged at debug); a server that
is down is not asked.

Written for the mutants of ``core/scheduling/affinity.py``'s VRAM confirmation that no test
reached (bench/mutation.py, docs/mutation.md).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import weakref
from types import SimpleNamespace
from typing import Any

import pytest

from discomfy.core.jobs.queued import QueuedJob
from discomfy.core.scheduling.affinity import ModelAffinity

FLUX = frozenset({"flux1-dev.safetensors"})
GIB = 1024**3


class Server:
    """A pool's server as the policy sees it: health, and a client answering /system_stats."""

    def __init__(self, stats: Any, *, healthy: bool = True) -> None:
        self.name, self.healthy, self.stats = "gpu1", healthy, stats
        self.asked = asyncio.Event()
        self.client = SimpleNamespace(system_stats=self.system_stats)

    async def system_stats(self) -> Any:
        self.asked.set()
        if isinstance(self.stats, Exception):
            raise self.stats
        return self.stats


def policy_on(server: Server) -> ModelAffinity:
    policy = ModelAffinity(servers=("gpu1",))
    policy.pool = SimpleNamespace(get=lambda name: server if name == server.name else None)
    policy.holdings.ran("gpu1", FLUX, 0.0)
    return policy


def finished_on_gpu1() -> QueuedJob:
    return QueuedJob("job1", 7, 0.0, server="gpu1", models=FLUX)


def vram(used: int) -> dict[str, Any]:
    return {"devices": [{"type": "cuda", "vram_total": 24 * GIB, "vram_free": 24 * GIB - used}]}


async def test_a_server_whose_vram_was_emptied_no_longer_counts_as_holding_its_models():
    server = Server(vram(100 * 1024**2))
    policy = policy_on(server)
    assert policy.holdings.holds("gpu1", FLUX)
    policy.finished(finished_on_gpu1())
    await server.asked.wait()
    assert not policy.holdings.holds("gpu1", FLUX)


async def test_a_server_still_using_its_vram_keeps_its_models():
    server = Server(vram(20 * GIB))
    policy = policy_on(server)
    policy.finished(finished_on_gpu1())
    await server.asked.wait()
    assert policy.holdings.holds("gpu1", FLUX)


async def test_a_failed_read_keeps_the_guess_and_is_logged(caplog):
    server = Server(OSError("connection refused"))
    policy = policy_on(server)
    with caplog.at_level(logging.DEBUG, logger="discomfy.core.scheduling.affinity"):
        policy.finished(finished_on_gpu1())
        await server.asked.wait()
        await asyncio.sleep(0)  # let the read's task finish
    assert policy.holdings.holds("gpu1", FLUX)
    assert [r.getMessage() for r in caplog.records] == ["reading /system_stats of gpu1 failed: connection refused"]


@pytest.mark.parametrize("confirm", [True, False])
async def test_a_server_that_is_down_or_a_policy_told_not_to_is_not_asked(confirm):
    server = Server(vram(0), healthy=not confirm)
    policy = policy_on(server)
    policy.confirm_vram = confirm
    policy.finished(finished_on_gpu1())
    for _ in range(3):
        await asyncio.sleep(0)  # any read would have started by now
    assert not server.asked.is_set() and policy.holdings.holds("gpu1", FLUX)


async def test_a_read_still_waiting_for_its_answer_is_not_dropped_by_the_garbage_collector():
    """The event loop keeps only a weak reference to a task: a read nobody else holds, still
    waiting for ComfyUI's answer, would be collected and the confirmation lost. The policy
    holds it until it is done."""
    loop = asyncio.get_running_loop()
    server = Server(None)
    answers: list[weakref.ref[asyncio.Future[Any]]] = []

    async def slow_stats() -> Any:
        answer = loop.create_future()  # referenced only by this read while it waits
        answers.append(weakref.ref(answer))
        server.asked.set()
        return await answer

    server.client = SimpleNamespace(system_stats=slow_stats)
    policy = policy_on(server)
    policy.finished(finished_on_gpu1())
    await server.asked.wait()
    gc.collect()
    answer = answers[0]()
    assert answer is not None, "the read waiting for its answer was collected"
    answer.set_result(vram(0))
    for _ in range(3):
        await asyncio.sleep(0)
    assert not policy.holdings.holds("gpu1", FLUX)
