"""Which state a job may move to from which: the one table every store write is checked against.

A job's life is ``accepted → queued → running → delivered | failed | cancelled``. Two loops
back exist: ``running → queued`` when its server dies and the job is put back for another one
(failover), and ``queued → queued`` when restart recovery submits a waiting job again. A job
may fail or be cancelled from any unfinished state (a refusal, the owner's Cancel, a lost
server); it is delivered -- or withheld by a review plugin -- only from ``running`` (a result
exists only once ComfyUI ran it). The four final states lead nowhere: nothing overwrites a
delivered, failed, cancelled or withheld job.

Delivery itself is a small protocol on top (see ``discomfy.bot.delivery``): the *intent* --
which message will carry the outcome -- is recorded on an unfinished job before anything is
sent, and the final state is written only by the holder of that intent.
"""

from __future__ import annotations

from collections.abc import Iterable

from discomfy.core.jobs.job import JobState

A, Q, R = JobState.ACCEPTED, JobState.QUEUED, JobState.RUNNING
D, F, C, W = JobState.DELIVERED, JobState.FAILED, JobState.CANCELLED, JobState.WITHHELD

TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    A: frozenset({Q, F, C}),
    Q: frozenset({Q, R, F, C}),
    R: frozenset({Q, D, F, C, W}),
    D: frozenset(),
    F: frozenset(),
    C: frozenset(),
    W: frozenset(),
}


class IllegalTransition(ValueError):
    """Code asked for a state change the table does not allow (a bug, not a race)."""


def states(expect: JobState | str | Iterable[JobState | str]) -> tuple[JobState, ...]:
    """``expect`` as a non-empty tuple of states."""
    if isinstance(expect, (str, JobState)):
        expect = (expect,)
    found = tuple(JobState(s) for s in expect)
    if not found:
        raise ValueError("a store write must name the state(s) it expects the job to be in")
    return found


def check_transition(expected: Iterable[JobState], target: JobState) -> None:
    """Raise ``IllegalTransition`` unless every expected state may move to ``target``."""
    bad = [s.value for s in expected if target not in TRANSITIONS[s]]
    if bad:
        raise IllegalTransition(f"a job cannot go from {', '.join(bad)} to {target.value}")


def may_write(current: JobState) -> bool:
    """A write that changes no state is allowed on unfinished jobs only."""
    return bool(TRANSITIONS[current])


__all__ = ["IllegalTransition", "TRANSITIONS", "check_transition", "may_write", "states"]
