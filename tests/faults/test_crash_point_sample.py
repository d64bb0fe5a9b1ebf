"""The crash-point matrix (tests/crashpoints, marked ``exhaustive``) in a plain run: the points
where a kill hurts most -- between recording how a job ends and showing it, once and then again
during recovery, for a result and for a cancel -- and the recovery of a reply never sent.

Killed after the delivery intent is recorded and before the result is sent, the next start
must finish that intent (one result, no second message); and the kill must land on the same
effect as in the baseline run, after the same effects, or the matrix's numbering means nothing.
"""

from __future__ import annotations

from tests.crashpoints.scenarios import SCENARIOS, run_point


async def test_a_kill_between_recording_the_intent_and_sending_the_result_still_delivers_once(tmp_path):
    scenario = SCENARIOS["generate"]
    baseline = await run_point(scenario, tmp_path / "baseline")
    numbered = baseline.lived(1)
    send = next(i for i, (kind, label) in enumerate(numbered, 1) if label.startswith("claim_intent")) + 1
    run = await run_point(scenario, tmp_path / "point", send)
    assert 1 in run.killed_at, numbered
    assert run.lived(1) == numbered[:send], (numbered, run)
    assert run.killed_at[1].label.startswith("PATCH /webhooks/")
    assert run.settled and run.verdict.outcome == "result", run.verdict


async def test_recovery_looks_before_editing_a_reply_the_stopped_bot_never_sent(tmp_path):
    """Stopped after storing the job but before answering its interaction: there is no reply
    to edit. Recovery looks (GET @original, 404) and posts the failure in the channel instead
    of PATCHing a reply that does not exist."""
    scenario = SCENARIOS["generate"]
    baseline = await run_point(scenario, tmp_path / "baseline")
    callback = next(e.index for e in baseline.numbered(1) if "/callback" in e.label)
    run = await run_point(scenario, tmp_path / "point", callback)
    assert 1 in run.killed_at and "/callback" in run.killed_at[1].label
    assert run.verdict.outcome == "failure+retry", run.verdict
    assert run.unanswered_edits == 0


async def test_a_second_kill_while_recovery_sends_the_result_still_delivers_once(tmp_path):
    """The same kill, and then the recovering bot killed right before its own send: a third bot
    finishes the same intent (one result), and the second bot's kill lands on the effect its
    numbering run gave that index, after the same effects."""
    scenario = SCENARIOS["generate"]
    baseline = await run_point(scenario, tmp_path / "baseline")
    send = next(e.index for e in baseline.numbered(1) if e.label.startswith("claim_intent")) + 1
    recovered = await run_point(scenario, tmp_path / "recovered", send)
    resend = next(e.index for e in recovered.numbered(2) if e.label.startswith("PATCH /webhooks/"))
    run = await run_point(scenario, tmp_path / "twice", send, resend)
    assert run.lived(1) == recovered.lived(1) and run.lived(2) == recovered.lived(2)[:resend], run
    assert run.settled and run.verdict.outcome == "result", run.verdict


async def test_a_cancel_recorded_before_the_kill_is_what_its_user_is_shown(tmp_path):
    """Killed after recording that the job ends cancelled, before showing it: the next start
    shows that very ending ("cancelled", with its reason), not whatever ComfyUI's interrupted
    prompt looks like to a bot that does not know about the Cancel."""
    scenario = SCENARIOS["cancelled"]
    baseline = await run_point(scenario, tmp_path / "baseline")
    assert baseline.verdict.outcome == "failure" and "Cancelled" in baseline.verdict.detail, baseline.verdict
    send = next(e.index for e in baseline.numbered(1) if e.label.startswith("claim_intent")) + 1
    run = await run_point(scenario, tmp_path / "point", send)
    assert run.killed_at[1].label.startswith("PATCH /webhooks/"), run.killed_at
    assert (run.verdict.outcome, run.verdict.detail) == (baseline.verdict.outcome, baseline.verdict.detail), run.verdict
