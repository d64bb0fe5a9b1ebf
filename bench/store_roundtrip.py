"""Issue 24: what one job costs the job store, on SQLite and on PostgreSQL.

Each job takes the path every job takes through the store: ``add`` (accepted), ``update`` to
queued, ``update`` to running with its prompt id, ``claim_intent`` (the delivery record) and
``finish`` as delivered: five writes, each a guarded transition. Timed with
``time.perf_counter`` in one event loop, two ways: one job at a time (the latency a single job
sees) and 16 jobs in flight (what the store sustains when several users' jobs move at once).

SQLite is a file in a temporary folder (WAL, ``synchronous = NORMAL``, the defaults).
PostgreSQL is the test suite's throwaway server (tests/core/postgres_server.py) on loopback,
**with fsync off**: its figures are the driver, the protocol and the server's work, not a disk
flush; a production server with fsync on adds one WAL flush per commit.

    .venv/bin/python bench/store_roundtrip.py            # 400 jobs per engine and mode, ~1 min
    .venv/bin/python bench/store_roundtrip.py --jobs 2000
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from discomfy.core.jobs.job import Job, JobState  # noqa: E402
from discomfy.core.jobs.store import JobStore  # noqa: E402
from tests.core.postgres_server import PostgresServer  # noqa: E402

WRITES_PER_JOB = 5
IN_FLIGHT = 16


async def one_job(store: JobStore, user: int) -> float:
    start = time.perf_counter()
    job = await store.add(Job(user_id=user, plugin="generate", command="generate", workflow="flux-dev",
                              parameters={"prompt": "a lighthouse at dusk", "steps": 20}, seed=42))
    await store.update(job.id, expect=JobState.ACCEPTED, state=JobState.QUEUED)
    await store.update(job.id, expect=JobState.QUEUED, state=JobState.RUNNING, server="gpu-a", prompt_id="p-" + job.id)
    await store.claim_intent(job.id, f"edit:{job.id}", "result")
    assert await store.finish(job.id, JobState.DELIVERED, intent=f"edit:{job.id}", outputs=[{"filename": "o.png"}])
    return time.perf_counter() - start


async def measure(target: str, jobs: int) -> dict[str, float]:
    async with JobStore(target) as store:
        for _ in range(20):  # warm-up: caches, prepared statements, the pool's connections
            await one_job(store, 1)
        serial = [await one_job(store, 2) for _ in range(jobs)]
        start = time.perf_counter()
        gate = asyncio.Semaphore(IN_FLIGHT)

        async def limited(user: int) -> float:
            async with gate:
                return await one_job(store, user)

        await asyncio.gather(*(limited(3 + i % 50) for i in range(jobs)))
        wall = time.perf_counter() - start
    serial.sort()
    return {"p50": statistics.median(serial) * 1000, "p99": serial[int(len(serial) * 0.99) - 1] * 1000,
            "per_s_serial": jobs / sum(serial), "per_s_parallel": jobs / wall}


def show(name: str, figures: dict[str, float]) -> None:
    print(f"{name:<11} one at a time: {figures['p50']:6.2f} ms p50, {figures['p99']:6.2f} ms p99 per job "
          f"({figures['p50'] / WRITES_PER_JOB:5.2f} ms per write), {figures['per_s_serial']:6.0f} jobs/s;  "
          f"{IN_FLIGHT} in flight: {figures['per_s_parallel']:6.0f} jobs/s")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=400)
    args = parser.parse_args()
    print(f"{args.jobs} jobs per engine and mode; each job = add + 2 x update + claim_intent + finish "
          f"({WRITES_PER_JOB} guarded writes)")
    with tempfile.TemporaryDirectory() as folder:
        show("SQLite", await measure(str(Path(folder) / "bench.sqlite3"), args.jobs))
    server = PostgresServer().start()
    try:
        show("PostgreSQL", await measure(await server.create_database(), args.jobs))
    finally:
        server.stop()


if __name__ == "__main__":
    asyncio.run(main())
