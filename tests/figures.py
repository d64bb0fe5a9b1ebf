"""The figures printed at the end of a run: fault injection (tests/faults), crash points
(tests/crashpoints) and hostile inputs (tests/hostile), quoted in the issues' closing notes.

They are kept in ``config.stash`` and printed by the top conftest, which pytest loads in every
process. Under pytest-xdist each worker counts its own tests; a worker hands its figures to the
controller when it finishes (``workeroutput``) and the controller adds them up before printing,
so the tables count the whole run however many workers there were.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

FAULT_ROWS = pytest.StashKey[list]()  # (test, jobs, faults, delivered, failed, lost, duplicates)
CRASH_ROWS = pytest.StashKey[list]()  # (scenario, effects, points, {outcome: count}), one per shard
HOSTILE_TALLY = pytest.StashKey[Counter]()  # tried, commands, attachments, refused, ...

CRASH_COLUMNS = ("result", "failure+retry", "failure", "not accepted", "lost", "duplicate", "unexplained",
                 "conflicting")


def fault_rows(config: pytest.Config) -> list:
    return config.stash.setdefault(FAULT_ROWS, [])


def crash_rows(config: pytest.Config) -> list:
    return config.stash.setdefault(CRASH_ROWS, [])


def hostile_tally(config: pytest.Config) -> Counter:
    return config.stash.setdefault(HOSTILE_TALLY, Counter())


def worker_output(config: pytest.Config) -> dict[str, Any]:
    """This worker's figures as plain lists and dicts (what execnet can send)."""
    return {"faults": [list(row) for row in config.stash.get(FAULT_ROWS, [])],
            "crash": [[name, effects, points, dict(outcomes)]
                      for name, effects, points, outcomes in config.stash.get(CRASH_ROWS, [])],
            "hostile": dict(config.stash.get(HOSTILE_TALLY, Counter()))}


def merge(config: pytest.Config, output: dict[str, Any]) -> None:
    """Add a worker's figures (from :func:`worker_output`) to this process's."""
    fault_rows(config).extend(tuple(row) for row in output.get("faults", []))
    crash_rows(config).extend(tuple(row) for row in output.get("crash", []))
    hostile_tally(config).update(output.get("hostile", {}))


def scenario_rows(rows: list) -> list[tuple[str, int, int, Counter]]:
    """One row per scenario: a scenario's crash points are played by several tests (shards),
    each reporting the same effects and its own points and outcomes."""
    merged: dict[str, tuple[int, int, Counter]] = {}
    for name, effects, points, outcomes in rows:
        _, played, counted = merged.get(name, (effects, 0, Counter()))
        merged[name] = (effects, played + points, counted + Counter(outcomes))
    return [(name, effects, points, outcomes) for name, (effects, points, outcomes) in merged.items()]


def write_summaries(terminalreporter: Any, config: pytest.Config) -> None:
    write = terminalreporter.write_line
    tally = config.stash.get(HOSTILE_TALLY, None)
    if tally:
        terminalreporter.section("hostile-input figures")
        write(f"inputs tried {tally['tried']} (commands {tally['commands']}, attachments {tally['attachments']}), "
              f"refused with a clear message {tally['refused']}, accepted and delivered {tally['accepted']}, "
              f"crashes {tally['crashes']}, reached ComfyUI unvalidated {tally['unvalidated']}")
    rows = config.stash.get(FAULT_ROWS, None)
    if rows:
        terminalreporter.section("fault-injection figures")
        write(f"{'scenario':<58} {'jobs':>5} {'faults':>6} {'deliv':>5} {'failed':>6} {'lost':>4} {'dups':>4}")
        for row in rows:
            write(f"{row[0][:58]:<58} {row[1]:>5} {row[2]:>6} {row[3]:>5} {row[4]:>6} {row[5]:>4} {row[6]:>4}")
        jobs, faults, delivered, failed, lost, dups = (sum(row[i] for row in rows) for i in range(1, 7))
        write(f"TOTAL: jobs run {jobs}, faults injected {faults}, delivered {delivered}, "
              f"failed with a clear message {failed}, lost {lost}, duplicates {dups}")
    rows = config.stash.get(CRASH_ROWS, None)
    if rows:
        terminalreporter.section("crash-point figures")
        write(f"{'scenario':<30} {'effects':>7} {'points':>6} " + " ".join(f"{c:>13}" for c in CRASH_COLUMNS))
        total: Counter = Counter()
        merged = scenario_rows(rows)
        for name, effects, points, outcomes in merged:
            write(f"{name:<30} {effects:>7} {points:>6} "
                  + " ".join(f"{outcomes.get(c, 0):>13}" for c in CRASH_COLUMNS))
            total.update(outcomes)
        numbered = sum(r[1] for r in merged if not r[0].endswith("×2"))  # a ×2 row repeats its scenario's
        write(f"{'TOTAL':<30} {numbered:>7} {sum(r[2] for r in rows):>6} "
              + " ".join(f"{total.get(c, 0):>13}" for c in CRASH_COLUMNS))
