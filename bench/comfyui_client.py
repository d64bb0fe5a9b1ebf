"""Benchmark: N concurrent zero-compute jobs against the fake ComfyUI.

Runs the fake in its own process and each client in its own process (so peak RSS is the
client's alone), then prints, for DisComfy's socket-driven client and for a naive client
that polls ``/history`` every second: jobs/s, HTTP requests per job, added latency (from the
server sending the completion marker to the client holding the output bytes) p50/p99, and
peak RSS. Each client runs ROUNDS times and the median of each figure is printed (the
machine is shared, so single runs are noisy). Usage: ``python bench/comfyui_client.py [N]
[ROUNDS]`` (defaults 100 and 3).
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import resource
import statistics
import sys
import time

import aiohttp

JOBS = int(sys.argv[1]) if len(sys.argv) > 1 else 100
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 3


def workflow(i: int) -> dict:
    return {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": i}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": f"bench/{i}"}},
    }


def serve_fake(conn) -> None:
    from discomfy.testing.fake_comfyui import FakeComfyUI

    async def main() -> None:
        fake = FakeComfyUI()
        conn.send(await fake.start())
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # wait for "report"
        conn.send((dict(fake.completed_at), list(fake.requests)))
        await fake.stop()

    asyncio.run(main())


async def discomfy_client(url: str, n: int) -> dict[str, float]:
    from discomfy.core.comfyui.client import ComfyUIClient
    from discomfy.core.comfyui.events import Succeeded

    done: dict[str, float] = {}
    async with ComfyUIClient(url, request_timeout=30) as client:
        await asyncio.wait_for(client.socket.connected.wait(), 10)

        async def job(i: int) -> None:
            prompt_id = await client.queue_prompt(workflow(i))
            async for event in client.follow(prompt_id, deadline=120):
                if isinstance(event, Succeeded):
                    for f in event.images:
                        await client.download_output(f.filename, f.subfolder, f.type)
                    done[prompt_id] = time.monotonic()
                elif event.terminal:
                    raise RuntimeError(f"job failed: {event}")

        await asyncio.gather(*(job(i) for i in range(n)))
    return done


async def naive_client(url: str, n: int) -> dict[str, float]:
    """What a first attempt looks like: POST, then GET /history every second, then /view."""
    done: dict[str, float] = {}
    async with aiohttp.ClientSession() as session:

        async def job(i: int) -> None:
            async with session.post(f"{url}/prompt", json={"prompt": workflow(i)}) as r:
                prompt_id = (await r.json())["prompt_id"]
            while True:
                await asyncio.sleep(1.0)
                async with session.get(f"{url}/history/{prompt_id}") as r:
                    entry = (await r.json()).get(prompt_id)
                if entry:
                    break
            for node in entry["outputs"].values():
                for image in node["images"]:
                    async with session.get(f"{url}/view", params=image) as r:
                        await r.read()
            done[prompt_id] = time.monotonic()

        await asyncio.gather(*(job(i) for i in range(n)))
    return done


def run_client(mode: str, url: str, n: int, conn) -> None:
    started = time.monotonic()
    done = asyncio.run((discomfy_client if mode == "discomfy" else naive_client)(url, n))
    elapsed = time.monotonic() - started
    conn.send((done, elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def measure(mode: str, n: int) -> dict:
    ctx = mp.get_context("spawn")
    fake_end, fake_child = ctx.Pipe()
    fake = ctx.Process(target=serve_fake, args=(fake_child,))
    fake.start()
    url = fake_end.recv()
    client_end, client_child = ctx.Pipe()
    client = ctx.Process(target=run_client, args=(mode, url, n, client_child))
    client.start()
    done, elapsed, rss_kb = client_end.recv()
    client.join()
    fake_end.send("report")
    completed_at, requests = fake_end.recv()
    fake.join()
    latencies = sorted((done[p] - completed_at[p]) * 1000 for p in done)
    http = [r for r in requests if r[1] != "/ws"]
    return {
        "jobs/s": n / elapsed,
        "requests/job": len(http) / n,
        "p50 ms": statistics.median(latencies),
        "p99 ms": latencies[min(len(latencies) - 1, int(round(0.99 * (len(latencies) - 1))))],
        "peak RSS MB": rss_kb / 1024,
    }


def main() -> None:
    print(f"{JOBS} concurrent zero-compute jobs (EmptyImage -> SaveImage, 1 output each)")
    print(f"{'client':<22}{'jobs/s':>9}{'req/job':>9}{'p50 ms':>9}{'p99 ms':>9}{'RSS MB':>9}")
    for mode, label in (("discomfy", "DisComfy (WebSocket)"), ("naive", "naive (poll 1 s)")):
        rounds = [measure(mode, JOBS) for _ in range(ROUNDS)]
        r = {key: statistics.median(x[key] for x in rounds) for key in rounds[0]}
        print(f"{label:<22}{r['jobs/s']:>9.1f}{r['requests/job']:>9.2f}{r['p50 ms']:>9.2f}"
              f"{r['p99 ms']:>9.2f}{r['peak RSS MB']:>9.1f}   (p50 per round: "
              + ", ".join(f"{x['p50 ms']:.1f}" for x in rounds) + ")")
    print("goals: requests/job <= 2 + outputs (= 3), p50 <= 10 ms, p99 <= 50 ms")


if __name__ == "__main__":
    main()
