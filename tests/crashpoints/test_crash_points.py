"""Exactly once at every crash point, and at every second crash during recovery.

For each scenario the job's external effects are numbered in a run without a crash; then, for
every n, the scenario runs again with the bot killed right before effect n (see harness.py),
which must be the baseline's effect n (kind and label) after the same n-1 effects: the points
are the same on every run, on any machine speed. A new bot then starts on the same store,
emulator and fake ComfyUI, and its own effects -- the recovery -- are numbered too; for every
m, the same point is played again with that recovering bot killed before its effect m (again
the same effect after the same m-1), and a third bot finishes (matrix.py).

Each run's interaction is judged from what the emulator shows (``discomfy.testing.audit``):
exactly one result, or one clear failure (with Retry where running it again can work); never
two results, never a "Queued" message left forever. Once a bot recorded how the job ends
(its delivery intent), that ending is what the user gets, whoever finishes it: the result, or
the very failure it recorded, with its reason. A kill before the job was stored is Discord's
own failure ("The application did not respond"): nothing was accepted, so nothing can be owed.
"""

from __future__ import annotations

import pytest

from tests.crashpoints.matrix import SHARDS, check, play
from tests.crashpoints.scenarios import SCENARIOS, run_point


@pytest.mark.parametrize("shard", range(SHARDS), ids=lambda k: f"{k + 1}of{SHARDS}")
@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_every_crash_point_ends_with_one_result_or_one_clear_failure(name, shard, tmp_path, crash_table):
    matrix = await play(SCENARIOS[name], tmp_path, shard)
    crash_table.extend(matrix.rows(name))
    check(matrix)


@pytest.mark.parametrize("name", ["generate", "reroll"])
async def test_every_job_is_stored_before_its_user_is_told_it_is_queued(name, tmp_path):
    """The order of effects itself: the store write comes before the interaction's reply."""
    run = await run_point(SCENARIOS[name], tmp_path)
    labels = [f"{e.kind} {e.label}" for e in run.numbered(1)]
    stored = labels.index("store add")
    told = next(i for i, label in enumerate(labels) if "/callback" in label)
    assert stored < told, labels
