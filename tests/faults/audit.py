"""Auditing a fault test's jobs the way a user would judge them.

After each fault scenario every job must have ended visibly for its user: its message shows the
result image (delivered) or a red "failed" embed with a reason. What counts as "seen" is decided
by ``discomfy.testing.audit``, shared with the crash-point suite and the benches. The store must hold no job
still queued or running, and no result may have been uploaded twice. Uploads are counted from
the emulator's request log, not from the bot's own bookkeeping, so a bug in the store's
once-only guard would show up here as a duplicate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from discomfy.core.jobs.store import JobStore
from discomfy.testing.audit import judge_interaction, seen

GENERATION_COMMANDS = {"generate", "editflux", "editqwen", "upscale", "animate"}


@dataclass
class JobVerdict:
    job_id: str
    state: str
    uploads: int  # distinct messages that received this job's result files
    visible: str  # "result", "failure", "unexplained" or "nothing": what the user's message shows now
    reason: str = ""
    results: int = 1  # messages showing the result

    @property
    def lost(self) -> bool:
        """Not final, or final but the user was shown neither a result nor a clear reason."""
        if self.state not in ("delivered", "failed", "cancelled", "withheld"):
            return True
        if self.state == "delivered":
            return self.visible != "result" or self.uploads == 0
        return self.visible != "failure"

    @property
    def duplicates(self) -> int:
        return max(0, self.uploads - 1, self.results - 1)


@dataclass
class Audit:
    verdicts: list[JobVerdict] = field(default_factory=list)
    # generation commands of these users that left no stored job and no refusal: lost too,
    # although no store row exists to count (the bot was running, so nothing excuses them)
    unstored: list[str] = field(default_factory=list)

    @property
    def jobs(self) -> int:
        return len(self.verdicts)

    @property
    def delivered(self) -> int:
        return sum(1 for v in self.verdicts if v.state == "delivered" and not v.lost)

    @property
    def failed(self) -> int:
        return sum(1 for v in self.verdicts if v.state != "delivered" and not v.lost)

    @property
    def lost(self) -> list[JobVerdict]:
        return [v for v in self.verdicts if v.lost] + [JobVerdict(i, "never stored", 0, "nothing") for i in self.unstored]

    @property
    def duplicates(self) -> int:
        return sum(v.duplicates for v in self.verdicts)

    def explain(self) -> str:
        return "\n".join([f"  job {v.job_id}: state={v.state} uploads={v.uploads} visible={v.visible} {v.reason}"
                          for v in self.verdicts] + [f"  interaction {i}: no job stored, no refusal" for i in self.unstored])


def visible_outcome(emu: Any, job_id: str) -> tuple[str, str]:
    """What the user sees for ``job_id`` now (see ``discomfy.testing.audit``): "result",
    "failure", "unexplained", "conflicting" or "nothing", with the failure's reason."""
    view = seen(emu, job_id)
    return view.kind, view.reason


async def audit_jobs(emu: Any, config: Any, user_ids: Iterable[Any]) -> Audit:
    """Every job of ``user_ids`` in the store at ``config``'s path, judged as above.
    Run it after the bot stopped (the store is then only ours)."""
    audit = Audit()
    ids = {str(getattr(user_id, "id", user_id)) for user_id in user_ids}
    tokens: set[str] = set()
    async with JobStore.from_config(config) as store:
        for user_id in ids:
            for job in await store.jobs_for_user(int(user_id), active_only=False, limit=1000):
                view = seen(emu, job.id)
                tokens.add(job.interaction_token)
                audit.verdicts.append(JobVerdict(job.id, job.state.value, view.uploads, view.kind, view.reason,
                                                 results=view.results))
    for inter in emu.interactions.values():
        if inter.user_id in ids and (inter.data or {}).get("name") in GENERATION_COMMANDS and inter.token not in tokens:
            if judge_interaction(emu, inter, ()).outcome != "refused":
                audit.unstored.append(inter.id)
    return audit


async def until(predicate: Callable[[], Awaitable[Any] | Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Wait for state the test cannot subscribe to (store rows, fake server queues), with a timeout."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > end:
            raise AssertionError(f"{what} not reached within {timeout} s")
        await asyncio.sleep(0.02)


async def all_final(store: JobStore, user_ids: Iterable[Any], at_least: int = 1, *, emu: Any = None) -> bool:
    """True once ``user_ids`` have ``at_least`` jobs in the (open) store and none is unfinished;
    with ``emu``, also once each job's outcome is visible to its user (the store says
    "delivered" as the upload starts, which can take a while under 429s)."""
    total = 0
    for user_id in user_ids:
        jobs = await store.jobs_for_user(int(getattr(user_id, "id", user_id)), active_only=False, limit=1000)
        if any(not job.is_final for job in jobs):
            return False
        if emu is not None and any(visible_outcome(emu, job.id)[0] == "nothing" for job in jobs):
            return False
        total += len(jobs)
    return total >= at_least


async def settle(store: JobStore, user_ids: Iterable[Any], *, emu: Any, at_least: int = 1, timeout: float = 30.0) -> bool:
    """Wait until every job is final and visibly ended (see ``all_final``); False on timeout, so
    the test can still audit and record what happened before it fails."""
    try:
        await until(lambda: all_final(store, user_ids, at_least, emu=emu), timeout=timeout, what="every job settled")
    except AssertionError:
        return False
    return True
