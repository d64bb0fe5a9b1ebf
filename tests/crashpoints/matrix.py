"""The crash-point matrix of one scenario, played and judged the same way on either job store.

``play`` numbers the scenario's effects in a run without a crash, then kills the bot before
each effect n (the singles) and, for each n, kills the recovering bot before each of its own
effects m (the doubles, where a third bot finishes). A scenario's points are dealt to
``SHARDS`` tests (n modulo ``SHARDS``), each playing its own baseline, so no test runs for
many minutes and parallel workers share the matrix evenly. ``check`` holds what every point
must show; ``rows`` is the crash table's two lines for a shard (tests/figures.py adds up a
scenario's shards).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from tests.crashpoints.scenarios import ask_for_private_results, run_point
from tests.crashpoints.stage import PointResult, Scenario

SHARDS = 3
#: what the user sees for each outcome a delivery intent records
SHOWN = {"result": "result", "failed+retry": "failure+retry", "failed": "failure", "cancelled": "failure",
         "withheld": "failure"}


@dataclass
class Matrix:
    scenario: Scenario
    baseline: PointResult
    singles: list[PointResult]
    doubles: list[PointResult]

    def rows(self, label: str) -> list[tuple[str, int, int, dict[str, int]]]:
        """(scenario, the first bot's effects numbered, points played, {outcome: points}) for
        the singles, and the same for the doubles ("×2", a point for each effect of each
        recovering bot)."""
        effects = len(self.baseline.numbered(1))
        return [(label, effects, len(self.singles), dict(Counter(r.verdict.outcome for r in self.singles))),
                (f"{label} ×2", effects, len(self.doubles), dict(Counter(r.verdict.outcome for r in self.doubles)))]


async def play(scenario: Scenario, root: Path, shard: int, store: Callable[[], Awaitable[str]] | None = None) -> Matrix:
    """The points n of ``scenario`` with n % SHARDS == ``shard``, and the doubles after them;
    ``store`` gives each run a fresh ``jobs.store_url``."""

    async def point(name: str, *stops: int) -> PointResult:
        return await run_point(scenario, root / name, *stops, store_url=await store() if store else None)

    baseline = await point("baseline")
    singles = [await point(f"p{n}", n) for n in range(1, len(baseline.numbered(1)) + 1) if n % SHARDS == shard]
    doubles = [await point(f"p{run.stops[0]}.{m}", run.stops[0], m)
               for run in singles for m in range(1, len(run.numbered(2)) + 1)]
    return Matrix(scenario, baseline, singles, doubles)


def describe(run: PointResult) -> str:
    bot = len(run.stops) or 1
    killed = run.killed_at.get(bot)
    where = f"{killed.kind} {killed.label}" if killed else "not reached"
    return f"  stops {run.stops} (bot {bot} before {where}): {run.verdict.outcome} {run.verdict.detail[:90]}"


def recorded_ending(run: PointResult) -> tuple[str, str] | None:
    """What the user must see when a killed bot recorded how the job ends (the last such
    record): the outcome, and for a failure its reason; None when none did."""
    endings = [e.ending for bot in sorted(run.killed_at) for e in run.numbered(bot) if e.ending]
    if not endings:
        return None
    outcome, note = endings[-1]
    return SHOWN[outcome], "" if outcome == "result" else note or ""


def check(matrix: Matrix) -> None:
    scenario, baseline, singles, doubles = matrix.scenario, matrix.baseline, matrix.singles, matrix.doubles
    assert baseline.verdict.outcome == scenario.expect, baseline.verdict
    assert len(baseline.numbered(1)) >= 8, baseline.lived(1)
    kinds = {e.kind for e in baseline.numbered(1)}
    assert kinds == {"store", "discord", "comfyui"}, kinds
    runs = singles + doubles
    report = "\n".join(describe(r) for r in runs)
    assert singles, "no crash point was played"
    assert doubles or all(r.verdict.outcome == "not accepted" for r in singles), f"no second crash was played:\n{report}"
    assert all(r.killed_at.get(len(r.stops)) for r in runs), f"some points were not reached:\n{report}"
    moved = [r for r in singles if r.lived(1) != baseline.lived(1)[:r.stops[0]]]
    first_lives = {r.stops[0]: r for r in singles}
    moved += [r for r in doubles if r.lived(1) != first_lives[r.stops[0]].lived(1)
              or r.lived(2) != first_lives[r.stops[0]].lived(2)[:r.stops[1]]]
    assert not moved, "points killed elsewhere than the numbered effect:\n" + "\n".join(map(describe, moved))
    assert all(r.verdict.ok and r.settled for r in runs), f"crash points that went wrong:\n{report}"
    assert not [r for r in runs if r.unanswered_edits], f"a reply that was never sent was edited:\n{report}"
    changed = [r for r in runs if recorded_ending(r) not in (None, (r.verdict.outcome, r.verdict.detail))]
    assert not changed, "an ending recorded before the kill was not the one delivered:\n" + "\n".join(
        f"{describe(r)}\n    recorded: {recorded_ending(r)}" for r in changed)
    if scenario.name == "withheld":  # a withheld result is never shown, whatever point the bot stopped at
        assert not [r for r in runs if r.verdict.outcome == "result"], report
    if scenario.prepare is ask_for_private_results:  # its owner asked: nothing in the channel, ever
        assert not [r for r in runs + [baseline] if r.public], report
    # only a kill before the job is stored leaves nothing to answer (and one reading its attachment)
    not_accepted = sum(1 for r in singles if r.verdict.outcome == "not accepted")  # of this shard
    assert not_accepted <= 1 + (scenario.plugins == ("editflux",)), report


__all__ = ["SHARDS", "Matrix", "check", "describe", "play", "recorded_ending"]
