"""Exactly once at every crash point.

For each scenario the job's external effects are numbered in a run without a crash; then, for
every n, the scenario runs again with the bot killed right before effect n (see harness.py),
which must be the baseline's effect n (kind and label) after the same n-1 effects: the points
are the same on every run, on any machine speed. A new bot then starts on the same store,
emulator and fake ComfyUI, and the user's interaction is judged from what the emulator shows
(``discomfy.testing.audit``): exactly one result, or one
clear failure (with Retry where running it again can work); never two results, never a
"Queued" message left forever. A kill before the job was stored is Discord's own failure
("The application did not respond"): nothing was accepted, so nothing can be owed.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.crashpoints.scenarios import SCENARIOS, ask_for_private_results, run_point


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_every_crash_point_ends_with_one_result_or_one_clear_failure(name, tmp_path, crash_table):
    scenario = SCENARIOS[name]
    baseline = await run_point(scenario, tmp_path / "baseline", None)
    assert baseline.verdict.outcome == scenario.expect, baseline.verdict
    assert len(baseline.effects) >= 8, [e.label for e in baseline.effects]
    kinds = {e.kind for e in baseline.effects}
    assert kinds == {"store", "discord", "comfyui"}, kinds
    results = [await run_point(scenario, tmp_path / f"point{n}", n) for n in range(1, len(baseline.effects) + 1)]
    outcomes = Counter(r.verdict.outcome for r in results)
    crash_table.append((name, len(baseline.effects), len(results), dict(outcomes)))
    report = "\n".join(f"  before {r.stop_before:>2} ({r.killed_at.kind + ' ' + r.killed_at.label if r.killed_at else 'not reached'}):"
                       f" {r.verdict.outcome} {r.verdict.detail[:90]}" for r in results)
    assert results, "no crash point was played"
    assert all(r.killed_at is not None for r in results), f"some points were not reached:\n{report}"
    numbered = [(e.kind, e.label) for e in baseline.effects]
    moved = [r for r in results if [(e.kind, e.label) for e in r.effects] + [(r.killed_at.kind, r.killed_at.label)]
             != numbered[:r.stop_before]]
    assert not moved, f"points killed elsewhere than the baseline's effect n:\n{report}"
    assert all(r.verdict.ok and r.settled for r in results), f"crash points that went wrong:\n{report}"
    assert not [r for r in results if r.unanswered_edits], f"a reply that was never sent was edited:\n{report}"
    if scenario.expect != "result":  # a withheld result is never shown, whatever point the bot stopped at
        assert not [r for r in results if r.verdict.outcome == "result"], report
    if scenario.prepare is ask_for_private_results:  # its owner asked: nothing in the channel, ever
        assert not [r for r in results + [baseline] if r.public], report
    # only a kill before the job is stored leaves nothing to answer
    assert outcomes["not accepted"] <= 1 + (name == "edit with attachment"), report


@pytest.mark.parametrize("name", ["generate", "reroll"])
async def test_every_job_is_stored_before_its_user_is_told_it_is_queued(name, tmp_path):
    """The order of effects itself: the store write comes before the interaction's reply."""
    run = await run_point(SCENARIOS[name], tmp_path, None)
    labels = [f"{e.kind} {e.label}" for e in run.effects]
    stored = labels.index("store add")
    told = next(i for i, label in enumerate(labels) if "/callback" in label)
    assert stored < told, labels

