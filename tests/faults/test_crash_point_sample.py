"""The crash-point matrix (tests/crashpoints, marked ``exhaustive``) in a plain run: one point
of it, where a kill hurts most, and the recovery of a reply that was never sent.

Killed after the delivery intent is recorded and before the result is sent, the next start
must finish that intent (one result, no second message); and the kill must land on the same
effect as in the baseline run, after the same effects, or the matrix's numbering means nothing.
"""

from __future__ import annotations

from tests.crashpoints.scenarios import SCENARIOS, run_point


def labels(effects) -> list[tuple[str, str]]:
    return [(e.kind, e.label) for e in effects]


async def test_a_kill_between_recording_the_intent_and_sending_the_result_still_delivers_once(tmp_path):
    scenario = SCENARIOS["generate"]
    baseline = await run_point(scenario, tmp_path / "baseline", None)
    numbered = labels(baseline.effects)
    send = next(i for i, (kind, label) in enumerate(numbered, 1) if label.startswith("claim_intent")) + 1
    run = await run_point(scenario, tmp_path / "point", send)
    assert run.killed_at is not None, numbered
    assert labels(run.effects) + [(run.killed_at.kind, run.killed_at.label)] == numbered[:send], (numbered, run)
    assert run.killed_at.label.startswith("PATCH /webhooks/")
    assert run.settled and run.verdict.outcome == "result", run.verdict


async def test_recovery_looks_before_editing_a_reply_the_stopped_bot_never_sent(tmp_path):
    """Stopped after storing the job but before answering its interaction: there is no reply
    to edit. Recovery looks (GET @original, 404) and posts the failure in the channel instead
    of PATCHing a reply that does not exist."""
    scenario = SCENARIOS["generate"]
    baseline = await run_point(scenario, tmp_path / "baseline", None)
    callback = next(e.index for e in baseline.effects if "/callback" in e.label)
    run = await run_point(scenario, tmp_path / "point", callback)
    assert run.killed_at is not None and "/callback" in run.killed_at.label
    assert run.verdict.outcome == "failure+retry", run.verdict
    assert run.unanswered_edits == 0
