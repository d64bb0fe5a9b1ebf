"""The crash-point table: per scenario, how many points and how each ended (printed at the end
of the run, so the figures quoted in the issue's closing note come from an actual run)."""

from __future__ import annotations

from collections import Counter

import pytest

ROWS = pytest.StashKey[list]()
COLUMNS = ("result", "failure+retry", "failure", "not accepted", "lost", "duplicate", "unexplained", "conflicting")


@pytest.fixture(scope="session")
def crash_table(pytestconfig) -> list:
    return pytestconfig.stash.setdefault(ROWS, [])


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    rows = config.stash.get(ROWS, None)
    if not rows:
        return
    write = terminalreporter.write_line
    terminalreporter.section("crash-point figures")
    write(f"{'scenario':<22} {'effects':>7} {'points':>6} " + " ".join(f"{c:>13}" for c in COLUMNS))
    total: Counter = Counter()
    for name, effects, points, outcomes in rows:
        write(f"{name:<22} {effects:>7} {points:>6} " + " ".join(f"{outcomes.get(c, 0):>13}" for c in COLUMNS))
        total.update(outcomes)
    write(f"{'TOTAL':<22} {sum(r[1] for r in rows):>7} {sum(r[2] for r in rows):>6} "
          + " ".join(f"{total.get(c, 0):>13}" for c in COLUMNS))
