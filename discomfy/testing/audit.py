"""What a user saw of their job, decided in one place for every test and benchmark.

The fault tests, the crash-point suite, the hostile-input suite and the soak benches all judge
a run the way a Discord user would: by the messages the emulator holds, not by the bot's own
bookkeeping. The rules live here so they cannot drift apart:

* a job's messages carry ``Job <id>`` in an embed footer (results and failures) or a
  ``discomfy:<action>:<id>`` button (its progress message);
* a **result** is a message of the job with an attachment;
* a **clear failure** is a message of the job titled "... failed" or "... cancelled" whose
  text gives a reason -- not a generic "unexpected error (error id ...)"; it may offer Retry;
* a **duplicate** is a second message showing the result, or the result uploaded to a second
  message (even one that no longer shows it);
* **lost** is everything else: nothing, or a progress message that stays "Queued" forever.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

PREVIEW_NAME = "preview.jpg"
UNCLEAR_SIGNS = ("error id", "Something unexpected went wrong")
BUTTON = re.compile(r"^discomfy:[a-z]+:(?P<job>[A-Za-z0-9_-]+)")


def footer_job(embed: dict[str, Any]) -> str | None:
    """The job id in an embed footer "Job <id>[ · note]", if any."""
    text = (embed.get("footer") or {}).get("text") or ""
    if not text.startswith("Job "):
        return None
    return text[4:].split(" ", 1)[0]


def jobs_in(message: Any) -> set[str]:
    """Every job a message is about: embed footers and job buttons."""
    found = {job for job in (footer_job(e) for e in message.embeds) if job}
    found |= {m["job"] for m in (BUTTON.match(c) for c in message.custom_ids) if m}
    return found


def failure_of(message: Any) -> tuple[str, bool] | None:
    """(reason, offers Retry) when ``message`` shows a failure (failed, cancelled or withheld)."""
    for embed in message.embeds:
        title = embed.get("title") or ""
        if footer_job(embed) and title.endswith(("failed", "cancelled", "withheld")):
            retry = any(c.startswith("discomfy:retry:") for c in message.custom_ids)
            return embed.get("description") or "", retry
    return None


def outcome_of(message: Any) -> tuple[str, str] | None:
    """("result", "") or ("failed", reason) for a message that ends a job; None otherwise."""
    if message.attachments and any(footer_job(e) for e in message.embeds):
        return "result", ""
    failure = failure_of(message)
    return None if failure is None else ("failed", failure[0])


def clear(reason: str) -> bool:
    return bool(reason.strip()) and not any(sign in reason for sign in UNCLEAR_SIGNS)


def uploads_by_job(emu: Any) -> Counter[str]:
    """How many distinct messages received a job's result files (not progress previews), by
    job id: answered (2xx) webhook edits or channel posts whose embed footer names the job.
    Distinct messages, because that is what a user sees twice: a second edit of the same
    message, or a post Discord answered with the first copy (``enforce_nonce``), is still one."""
    targets: dict[str, set[str]] = {}
    for rec in emu.requests:
        if rec.status is None or rec.status >= 300 or not rec.files or not isinstance(rec.json, dict):
            continue
        if all(part.filename == PREVIEW_NAME for part in rec.files):
            continue
        message_id = str((rec.response or {}).get("id") or rec.path) if isinstance(rec.response, dict) else rec.path
        for job in {footer_job(e) for e in rec.json.get("embeds") or []} - {None}:
            targets.setdefault(job, set()).add(message_id)
    return Counter({job: len(ids) for job, ids in targets.items()})


def result_uploads(emu: Any, job_id: str) -> int:
    return uploads_by_job(emu)[job_id]


@dataclass
class JobSeen:
    """Everything the emulator shows about one job."""

    job_id: str
    results: int = 0  # messages showing the result
    failures: list[tuple[str, bool]] = field(default_factory=list)  # (reason, Retry offered)
    uploads: int = 0
    messages: int = 0  # messages about the job at all (a lone one is "Queued" forever)

    @property
    def kind(self) -> str:
        """"result", "failure", "unexplained", "conflicting" or "nothing"."""
        if self.results and self.failures:
            return "conflicting"
        if self.results:
            return "result"
        if self.failures:
            return "failure" if all(clear(r) for r, _ in self.failures) else "unexplained"
        return "nothing"

    @property
    def retry(self) -> bool:
        return any(retry for _, retry in self.failures)

    @property
    def reason(self) -> str:
        return self.failures[-1][0] if self.failures else ""

    @property
    def duplicates(self) -> int:
        return max(0, self.results - 1, self.uploads - 1, len(self.failures) - 1)


def seen(emu: Any, job_id: str) -> JobSeen:
    found = JobSeen(job_id, uploads=result_uploads(emu, job_id))
    for message in emu.messages.values():
        if message.deleted or job_id not in jobs_in(message):
            continue
        found.messages += 1
        outcome = outcome_of(message)
        if outcome is None:
            continue
        if outcome[0] == "result":
            found.results += 1
        else:
            found.failures.append(failure_of(message))
    return found


@dataclass
class InteractionVerdict:
    """One accepted interaction, judged: ``outcome`` is "result", "failure+retry", "failure"
    (clear, without Retry), "refused" (an ephemeral refusal), "not accepted" (the bot was gone
    before it stored a job: Discord itself shows "The application did not respond"), or one
    of the bad ones: "lost", "duplicate", "unexplained", "conflicting"."""

    interaction_id: str
    outcome: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome in GOOD


GOOD = ("result", "failure+retry", "failure", "refused", "not accepted")


def judge_interaction(emu: Any, inter: Any, job_ids: Iterable[str]) -> InteractionVerdict:
    """What the user of ``inter`` ended up with; ``job_ids`` are the jobs it created (from the
    store's ``interaction_token``, or the messages), since a job whose interaction was never
    answered shows up only as a channel post."""
    job_ids = sorted(set(job_ids) | (jobs_in(inter.original_message) if inter.original_message else set()))
    if not job_ids:
        message = inter.original_message
        if message is not None and message.ephemeral and message.content.strip():
            return InteractionVerdict(inter.id, "refused", message.content)
        if inter.response is None:
            return InteractionVerdict(inter.id, "not accepted")
        return InteractionVerdict(inter.id, "lost", f"answered {inter.response_type} but no job")
    views = [seen(emu, job_id) for job_id in job_ids]
    if len(views) > 1:
        return InteractionVerdict(inter.id, "duplicate", f"{len(views)} jobs for one interaction: {job_ids}")
    view = views[0]
    if view.duplicates:
        return InteractionVerdict(inter.id, "duplicate", f"job {view.job_id}: {view.results} result messages, "
                                  f"{view.uploads} uploads, {len(view.failures)} failure messages")
    kind = view.kind
    if kind == "result":
        return InteractionVerdict(inter.id, "result")
    if kind == "failure":
        return InteractionVerdict(inter.id, "failure+retry" if view.retry else "failure", view.reason)
    if kind == "nothing":
        return InteractionVerdict(inter.id, "lost", f"job {view.job_id}: {view.messages} message(s), none final")
    return InteractionVerdict(inter.id, kind, view.reason)


__all__ = ["GOOD", "InteractionVerdict", "JobSeen", "PREVIEW_NAME", "clear", "failure_of", "footer_job",
           "judge_interaction", "jobs_in", "outcome_of", "result_uploads", "seen", "uploads_by_job"]
