"""Issues 15 and 26: what each scheduling policy costs, on workloads that cannot flatter it.

The bot's own fair queue, scheduling policy, server pool (routing, health checks) and dispatch
loop run on a simulated clock against three simulated 32 GB GPUs (``_sched_run``,
``_sched_world``). Model sizes, load times and run times are published figures, named in
``_sched_figures``. Workloads: a few-models mix and a many-models mix, each at an offered load
of 50 %, 80 %, 100 % and 130 % of the GPUs' time.

    .venv/bin/python bench/scheduling.py                 # held-out seeds 101-103, ~8 min on 2 busy cores
    .venv/bin/python bench/scheduling.py --seeds tuning  # the seeds the constants were tuned on
    .venv/bin/python bench/scheduling.py --seed 7 --mix few --load 1.3

Printed per workload, ``least_busy`` (strict round-robin) and ``model_affinity`` side by side:
model loads, throughput, wait (arrival to start, see ``Outcome.wait``) p50/p95/max per job kind, Jain's index over users' mean slowdown,
and the jobs that waited past their bound. **The bound is measured against the truth**: each
job's promise is max(2 x its wait in the actual ``least_busy`` run of the same arrivals, 60 s),
not the policy's own estimate. Then the most jobs per hour any policy could finish there
(:func:`ceiling`), issue 26's goals, each met or MISSED, a markdown table of every workload (the
one in bench/README.md), and a picture of the wait distributions
(``bench/results/scheduling_waits.png``, needs the ``bench`` extra).

Each workload also runs a third column, the **noise floor**: ``least_busy`` again with every
job's run 1 % shorter (GPUs 1 % faster), judged by the same per-job bound and per-kind p95 as
``model_affinity``. Round-robin's wait for one job depends on the whole history before it, so a
strictly better server already puts some jobs past "2 x their wait" and some kind's p95 up;
a policy's misses of that size are within what any change of the history does.
Nothing is asserted: the figures are for the reader and the README.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import statistics
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _sched_figures import HELD_OUT_SEEDS, KINDS, LOADS, MIXES, SERVER_MEMORY_GB, SERVERS, TUNING_SEEDS  # noqa: E402
from _sched_run import Run, replay  # noqa: E402
from _sched_world import plan  # noqa: E402

from discomfy.core.scheduling import LeastBusy, ModelAffinity  # noqa: E402

POLICIES = {"least_busy": LeastBusy, "model_affinity": ModelAffinity}
#: The noise floor's column: least_busy on GPUs this much faster (every run x 0.99).
FASTER, FASTER_BY = "least_busy 1% faster", 0.99
BOUND_FACTOR, BOUND_FLOOR = 2.0, 60.0  # the promise: max(2 x round-robin wait, 60 s)
OVERLOADED = 1.3  # offered load from which issue 15's goals (3x loads, 1.3x throughput) stand
PICTURE = Path(__file__).resolve().parent / "results" / "scheduling_waits.png"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0


def jain(values: list[float]) -> float:
    return sum(values) ** 2 / (len(values) * sum(v * v for v in values)) if values else 1.0


def waits(run: Run, kind: str) -> list[float]:
    return [o.wait for o in run.outcomes.values() if o.kind == kind]


def fairness(run: Run) -> float:
    """Jain's index over users' mean slowdown (arrival to end / the kind's run time)."""
    slowdown: dict[int, list[float]] = defaultdict(list)
    for o in run.outcomes.values():
        slowdown[o.user].append((o.ended - o.arrival) / KINDS[o.kind].seconds)
    return jain([statistics.mean(v) for v in slowdown.values()])


def throughput(run: Run) -> float:
    """Jobs per simulated hour, first arrival to last end."""
    return len(run.outcomes) / (run.makespan / 3600)


def late(base: Run, run: Run) -> list[tuple[int, float, float]]:
    """Jobs of ``run`` that waited longer than max(2 x their wait in ``base``, 60 s):
    (job, wait, bound)."""
    out = []
    for index, o in run.outcomes.items():
        bound = max(BOUND_FACTOR * base.outcomes[index].wait, BOUND_FLOOR)
        if o.wait > bound + 1e-6:
            out.append((index, o.wait, bound))
    return out


def ceiling(jobs) -> float:
    """The most jobs per hour any policy could finish: every job run without a single load, the
    GPUs never idle, and nothing ending before its arrival plus its run. Against ``least_busy``
    this bounds the throughput ratio issue 15 asked 1.3x of."""
    end = max(sum(j.seconds for j in jobs) / SERVERS, max(j.arrival + j.seconds for j in jobs))
    return len(jobs) / (end / 3600)


def goals(base: Run, best: Run, load: float, best_possible: float | None = None) -> list[tuple[str, bool]]:
    """Issue 26's goals for ``best`` (model_affinity) against ``base`` (least_busy);
    ``best_possible``: the :func:`ceiling` of the workload's throughput."""
    kinds = sorted({o.kind for o in base.outcomes.values()})
    worse = [f"{k} {pct(waits(best, k), .95):.0f} > {pct(waits(base, k), .95):.0f}"
             for k in kinds if pct(waits(best, k), .95) > pct(waits(base, k), .95)]
    past = late(base, best)
    ratio, speed = base.loads / max(1, best.loads), throughput(best) / throughput(base)
    out = [
        (f"loads {best.loads} <= {base.loads}", best.loads <= base.loads),
        (f"throughput {speed:.3f}x >= 1", speed >= 1.0),
        ("p95 wait no worse for any kind" + (f" (worse: {', '.join(worse)})" if worse else ""), not worse),
        (f"jobs past max(2 x RR wait, 60 s): {len(past)}"
         + (f" (e.g. {past[0][1]:.0f} s > {past[0][2]:.0f} s)" if past else ""), not past),
        (f"Jain {fairness(best):.3f} >= 0.9 (RR {fairness(base):.3f})", fairness(best) >= 0.9),
    ]
    if load >= OVERLOADED:
        limit = f" (no policy can pass {best_possible / throughput(base):.2f}x)" if best_possible else ""
        out += [(f"overloaded: loads {ratio:.2f}x fewer >= 3x", ratio >= 3.0),
                (f"overloaded: throughput {speed:.3f}x >= 1.3x{limit}", speed >= 1.3)]
    return out


def worst_p95(base: Run, run: Run) -> float:
    """The largest, over the kinds of job, of ``run``'s p95 wait / ``base``'s."""
    kinds = {o.kind for o in base.outcomes.values()}
    return max(pct(waits(run, k), .95) / max(1.0, pct(waits(base, k), .95)) for k in kinds)


def noise_floor(base: Run, faster: Run) -> str:
    """What the per-job bound and per-kind p95 say of least_busy on 1 % faster GPUs."""
    return (f"{len(late(base, faster))} late, p95 {worst_p95(base, faster):.2f},"
            f" throughput {throughput(faster) / throughput(base):.3f}x")


def summary_row(mix: str, load: float, seed: int, runs: dict[str, Run], verdict: list[tuple[str, bool]]) -> str:
    """One markdown row, ``least_busy`` -> ``model_affinity``, and the noise floor, for the READMEs."""
    base, best = runs["least_busy"], runs["model_affinity"]
    missed = [text.split(" ")[0] if not text.startswith("overloaded") else " ".join(text.split(" ")[:2])
              for text, met in verdict if not met]
    return (f"| {mix} | {load:.0%} | {seed} | {base.loads} → {best.loads} | {throughput(base):.0f} → {throughput(best):.0f}"
            f" | {worst_p95(base, best):.2f} | {fairness(base):.3f} → {fairness(best):.3f} | {len(late(base, best))}"
            f" | {len(missed)}{' (' + ', '.join(missed) + ')' if missed else ''} | {noise_floor(base, runs[FASTER])} |")


def table(runs: dict[str, Run]) -> list[str]:
    rows: dict[str, list[str]] = defaultdict(list)
    base = runs["least_busy"]
    kinds = sorted({o.kind for o in base.outcomes.values()}, key=list(KINDS).index)
    for run in runs.values():
        rows["model loads (GPU-s loading)"].append(f"{run.loads} ({run.load_seconds:.0f})")
        rows["throughput (jobs / sim. hour)"].append(f"{throughput(run):.0f}")
        for kind in kinds:
            w = waits(run, kind)
            rows[f"wait {kind} p50/p95/max (s)"].append(f"{pct(w, .5):.0f} / {pct(w, .95):.0f} / {max(w):.0f}")
        rows["Jain index (users' mean slowdown)"].append(f"{fairness(run):.3f}")
        past = late(base, run)
        rows["past max(2 x RR wait, 60 s)"].append(f"{len(past)}")
        ratio = max((o.wait / max(2 * base.outcomes[i].wait, 60) for i, o in run.outcomes.items()), default=0)
        rows["largest wait / bound"].append(f"{ratio:.2f}")
    width = max(map(len, rows))
    lines = [" | ".join([" " * width] + [f"{name:>20}" for name in runs])]
    lines += [" | ".join([f"{key:<{width}}"] + [f"{cell:>20}" for cell in cells]) for key, cells in rows.items()]
    return lines


def _one(task: tuple[str, float, int, str]) -> tuple[tuple[str, float, int, str], Run]:
    mix, load, seed, policy = task
    logging.basicConfig(level=logging.ERROR)
    jobs = plan(mix, load, seed)
    if policy == FASTER:
        return task, replay(policy, LeastBusy, [dataclasses.replace(j, seconds=j.seconds * FASTER_BY) for j in jobs])
    return task, replay(policy, POLICIES[policy], jobs)


def run_all(mixes, loads, seeds, workers: int) -> dict[tuple[str, float, int], dict[str, Run]]:
    tasks = [(m, ld, s, p) for m in mixes for ld in loads for s in seeds for p in (*POLICIES, FASTER)]
    results: dict[tuple[str, float, int], dict[str, Run]] = defaultdict(dict)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for (mix, load, seed, policy), run in pool.map(_one, tasks):
            results[(mix, load, seed)][policy] = run
    return {k: {p: v[p] for p in (*POLICIES, FASTER)} for k, v in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", choices=("held-out", "tuning"), default="held-out")
    parser.add_argument("--seed", type=int, nargs="+", help="these seeds instead")
    parser.add_argument("--mix", choices=list(MIXES), nargs="+", default=list(MIXES))
    parser.add_argument("--load", type=float, nargs="+", default=list(LOADS))
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--no-picture", action="store_true")
    args = parser.parse_args()
    seeds = args.seed or (HELD_OUT_SEEDS if args.seeds == "held-out" else TUNING_SEEDS)
    started = time.perf_counter()
    results = run_all(args.mix, args.load, seeds, args.workers)
    print(f"{SERVERS} servers x {SERVER_MEMORY_GB:.0f} GB, seeds {', '.join(map(str, seeds))}"
          f" ({'held out of tuning' if set(seeds) <= set(HELD_OUT_SEEDS) else 'not held out'})\n")
    missed, rows = [], []
    for (mix, load, seed), runs in results.items():
        jobs = len(runs["least_busy"].outcomes)
        print(f"== mix {mix}, offered load {load:.0%}, seed {seed}: {jobs} jobs")
        print("\n".join(table(runs)))
        best_possible = ceiling(plan(mix, load, seed))
        print(f"  no policy can finish more than {best_possible:.0f} jobs / hour here (no loads, GPUs never idle)")
        verdict = goals(runs["least_busy"], runs["model_affinity"], load, best_possible)
        for text, met in verdict:
            print(f"  [{'met' if met else 'MISSED'}] {text}")
            if not met:
                missed.append(f"{mix} {load:.0%} seed {seed}: {text}")
        print(f"  noise floor, least_busy on 1 % faster GPUs: {noise_floor(runs['least_busy'], runs[FASTER])}")
        rows.append(summary_row(mix, load, seed, runs, verdict))
        print()
    print("| mix | load | seed | loads | throughput (jobs/h) | worst p95 wait ratio | Jain | late jobs | goals missed"
          " | noise floor: least_busy 1 % faster |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows) + "\n")
    print(f"goals MISSED: {len(missed)}" + "".join(f"\n  {m}" for m in missed) if missed else "every goal met on every workload and seed")
    print(f"({time.perf_counter() - started:.0f} s)")
    if not args.no_picture:
        from _sched_picture import draw

        draw(results, PICTURE)
        print(f"picture: {PICTURE.relative_to(Path.cwd()) if PICTURE.is_relative_to(Path.cwd()) else PICTURE}")


if __name__ == "__main__":
    main()
