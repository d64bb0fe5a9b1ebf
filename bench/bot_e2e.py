"""How fast the bot turns a burst of /generate into ComfyUI prompts and results into uploads.

N users (default 100) each run /generate once, all at once, against the Discord emulator and
the fake ComfyUI with zero compute, so every millisecond measured is the bot's (plus the
loopback hops). The bot runs in its own process (see ``bench/_stack.py``); the run is repeated
for each ``comfyui.max_running_per_server`` given, because with the default (1) every job waits
for the one before it, and "interaction -> POST /prompt" then measures the fair queue's wait.

Each setting is also run with the users arriving spread over some seconds instead of in the
same instant: a burst of N simultaneous requests queues behind the bot's per-request CPU (the
median request waits for about N/2 others), so the spread run shows the per-job latency and
the burst run shows the queueing.

Goals (issue 6): p50 <= 10 ms and p99 <= 100 ms for both latencies; no polling of ComfyUI.

    .venv/bin/python bench/bot_e2e.py [--users 100] [--running 1 100] [--spread 0 10]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _stack import BotProcess, cpu_seconds, percentile, route_of, stage, stored_jobs, tally, wait_outcome  # noqa: E402

GOAL_P50_MS, GOAL_P99_MS = 10.0, 100.0
HISTORY_OR_QUEUE = re.compile(r"^/(history|queue)(/|$)")


def production_edit_interval() -> float:
    """The shipped progress throttle (the harness shortens it for tests; a bench must not)."""
    from discomfy.config import get_config

    return float(get_config(Path.cwd()).progress.edit_interval)


def settings_for(users: int, running: int) -> dict[str, Any]:
    return {
        "comfyui.max_running_per_server": running,
        "progress.edit_interval": production_edit_interval(),
        "limits.global_limit": max(100, 2 * users),  # every user must get through the global window
        "comfyui.job_deadline": 600.0,
        "logging.level": "WARNING",
    }


async def sample_memory(bot: BotProcess, stamps: Any, samples: list[tuple[int, int]], stop: asyncio.Event) -> None:
    """(RSS kB, jobs in flight) every 10 ms: in flight = interaction sent, result not uploaded yet."""
    while not stop.is_set():
        in_flight = len(stamps.interaction) - len(stamps.uploaded)
        samples.append((bot.memory()["VmRSS"], in_flight))
        try:
            await asyncio.wait_for(stop.wait(), 0.01)
        except asyncio.TimeoutError:
            pass


def ms(seconds: float) -> float:
    return seconds * 1000.0


def verdict(p50: float, p99: float) -> str:
    return "meets goal" if p50 <= GOAL_P50_MS and p99 <= GOAL_P99_MS else "MISSES goal"


async def invoke_at(emu: Any, delay: float, user: Any, prompt: str) -> Any:
    if delay:
        await asyncio.sleep(delay)
    return await emu.invoke("generate", {"prompt": prompt}, user=user, timeout=30)


async def run(users: int, running: int, spread: float) -> None:
    settings = settings_for(users, running)
    async with stage(settings) as (emu, fake, stamps, root):
        bot = BotProcess(emu, fake, root, settings)
        await bot.start()
        try:
            people = [emu.make_user(f"user{i}") for i in range(users)]
            warm = emu.make_user("warmup")  # first job pays one-off costs (connections, caches)
            await wait_outcome(emu, await emu.invoke("generate", {"prompt": "warm up"}, user=warm), 30)
            stamps.interaction.clear()
            stamps.uploaded.clear()
            idle = bot.memory()["VmRSS"]
            discord_before, comfy_before = len(stamps.discord_log), len(stamps.comfy_log)
            samples: list[tuple[int, int]] = []
            stop = asyncio.Event()
            sampler = asyncio.create_task(sample_memory(bot, stamps, samples, stop))
            started = time.perf_counter()
            cpu_before = (cpu_seconds(bot.proc.pid), cpu_seconds())
            interactions = await asyncio.gather(*(
                invoke_at(emu, i * spread / users, u, f"bench job {i}") for i, u in enumerate(people)))
            outcomes = await asyncio.gather(*(wait_outcome(emu, inter, 300) for inter in interactions))
            wall = time.perf_counter() - started
            cpu = (cpu_seconds(bot.proc.pid) - cpu_before[0], cpu_seconds() - cpu_before[1])
            stop.set()
            await sampler
            memory = bot.memory()
            jobs, unfinished = await stored_jobs(bot.store_path, [u.id for u in people])
        finally:
            await bot.stop()
    report(users, running, spread, settings, stamps, interactions, outcomes, jobs, unfinished, samples, idle, memory,
           stamps.discord_log[discord_before:], stamps.comfy_log[comfy_before:], wall, cpu, emu)


def report(users, running, spread, settings, stamps, interactions, outcomes, jobs, unfinished, samples, idle, memory,
           discord_log, comfy_log, wall, cpu, emu) -> None:
    kinds = Counter(kind for kind, _ in (o or ("lost", "") for o in outcomes))
    to_prompt, to_upload, to_ack, ack_to_prompt = [], [], [], []
    for job in jobs:
        token = job.interaction_token
        if token in stamps.interaction and token in stamps.acked:
            to_ack.append(ms(stamps.acked[token] - stamps.interaction[token]))
            if job.prompt_id in stamps.prompt_posted:
                ack_to_prompt.append(ms(stamps.prompt_posted[job.prompt_id] - stamps.acked[token]))
        if token in stamps.interaction and job.prompt_id in stamps.prompt_posted:
            to_prompt.append(ms(stamps.prompt_posted[job.prompt_id] - stamps.interaction[token]))
        if job.prompt_id in stamps.finished and stamps.uploaded.get(token):
            to_upload.append(ms(stamps.uploaded[token][0] - stamps.finished[job.prompt_id]))
    done = max(1, kinds["result"])
    polls = Counter(path for _, method, path in comfy_log if method == "GET" and HISTORY_OR_QUEUE.match(path))
    peak_rss = max(r for r, _ in samples)
    peak_in_flight = max(n for _, n in samples)
    status_429 = sum(1 for *_, status in discord_log if status == 429)
    arrival = "all at once" if not spread else f"arrivals spread evenly over {spread:g} s"
    print(f"\n=== {users} users x /generate ({arrival}), comfyui.max_running_per_server = {running}, "
          f"progress.edit_interval = {settings['progress.edit_interval']} s ===")
    print(f"outcomes: {dict(kinds)}  (wall {wall:.2f} s; refusals: "
          f"{Counter(t for k, t in (o for o in outcomes if o) if k == 'refused') or 'none'})")
    if to_prompt:
        p50, p99 = percentile(to_prompt, 50), percentile(to_prompt, 99)
        print(f"interaction -> POST /prompt:          p50 {p50:8.1f} ms  p99 {p99:8.1f} ms  max {max(to_prompt):8.1f} ms"
              f"  ({len(to_prompt)} jobs) {verdict(p50, p99)}")
    for label, values in (("  of which interaction -> ack answered", to_ack), ("  of which ack answered -> POST /prompt", ack_to_prompt)):
        if values:
            print(f"{label:38s} p50 {percentile(values, 50):8.1f} ms  p99 {percentile(values, 99):8.1f} ms")
    if to_upload:
        p50, p99 = percentile(to_upload, 50), percentile(to_upload, 99)
        print(f"execution_success -> result uploaded: p50 {p50:8.1f} ms  p99 {p99:8.1f} ms  max {max(to_upload):8.1f} ms"
              f"  ({len(to_upload)} jobs) {verdict(p50, p99)}")
    print(f"Discord requests per job: {len(discord_log) / done:.2f}  ({len(discord_log)} in the run; "
          f"429 answers: {status_429}; violations: {len(emu.violations)}; unhandled: {len(emu.unhandled)})")
    print(f"  by route: {tally([f'{m} {r}' for _, m, r, _ in discord_log])}")
    print(f"ComfyUI requests per job: {len(comfy_log) / done:.2f}  ({len(comfy_log)} in the run)")
    print(f"  by route: {tally([f'{m} {route_of(p)}' for _, m, p in comfy_log])}")
    repeated = {path: n for path, n in polls.items() if n > 1 or path.startswith("/queue")}
    print(f"polling: GET /history or /queue {sum(polls.values())} times for {len(jobs)} jobs, at most "
          f"{max(polls.values(), default=0)} per path -> "
          f"{'no polling (one /history read per job at most)' if not repeated else 'POLLING: ' + tally(list(Counter(repeated).elements()), 5)}")
    per_job = (f"{(peak_rss - idle) / peak_in_flight:.0f} kB per in-flight job" if peak_in_flight >= 10
               else "too few in flight for a per-job figure")
    print(f"bot RSS: idle after warm-up {idle / 1024:.1f} MB, peak during the run {peak_rss / 1024:.1f} MB "
          f"(VmHWM {memory['VmHWM'] / 1024:.1f} MB), peak in flight {peak_in_flight} jobs -> "
          f"{per_job}")
    print(f"CPU during the run: bot {cpu[0]:.2f} s, emulator + fake {cpu[1]:.2f} s, over {wall:.2f} s wall "
          f"(bot busy {100 * cpu[0] / wall:.0f}% of one core)")
    print(f"store: {len(jobs)} jobs, states {dict(Counter(j.state.value for j in jobs))}, "
          f"unfinished {len(unfinished)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100, help="concurrent users, one /generate each")
    parser.add_argument("--running", type=int, nargs="+", default=[1, 100],
                        help="comfyui.max_running_per_server values to measure (default: 1 = shipped default, and 100)")
    parser.add_argument("--spread", type=float, nargs="+", default=[0.0, 10.0],
                        help="seconds over which the users arrive (0 = the same instant); default: 0 and 10")
    args = parser.parse_args()
    for spread in args.spread:
        for running in args.running:
            asyncio.run(run(args.users, running, spread))


if __name__ == "__main__":
    main()
