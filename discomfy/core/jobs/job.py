"""The job record: everything needed to finish, deliver, or redo a job after a restart.

One ``Job`` per accepted request. It is written to the job store before the user is told
the job is queued, and updated at every step, so a bot that stops at any moment can pick up
each unfinished job again and result buttons keep working from the stored parameters.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any


class JobState(StrEnum):
    """Where a job is. ``accepted``: validated and stored; ``queued``: waiting in the fair
    queue; ``running``: sent to ComfyUI; the other four are final. ``withheld``: ComfyUI made a
    result that a review plugin (``discomfy_review_result``) kept from being posted."""

    ACCEPTED = "accepted"
    QUEUED = "queued"
    RUNNING = "running"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"
    WITHHELD = "withheld"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES


FINAL_STATES = frozenset({JobState.DELIVERED, JobState.FAILED, JobState.CANCELLED, JobState.WITHHELD})
UNFINISHED_STATES = frozenset(JobState) - FINAL_STATES


def new_job_id() -> str:
    """A short random id (12 hex digits): fits comfortably in a button ``custom_id``."""
    return uuid.uuid4().hex[:12]


@dataclass
class Job:
    """One generation job. Discord ids are ints; ``parameters`` are the validated values
    (JSON-safe), ``outputs`` the ComfyUI output file references (JSON-safe dicts)."""

    user_id: int
    plugin: str
    id: str = field(default_factory=new_job_id)
    command: str | None = None
    workflow: str | None = None
    guild_id: int | None = None
    channel_id: int | None = None
    interaction_token: str | None = None
    interaction_created_at: float | None = None
    progress_message_id: int | None = None
    result_message_id: int | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    #: parameter -> who supplied its value when the user did not (``discomfy_prepare_parameters``)
    parameter_sources: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    server: str | None = None
    prompt_id: str | None = None
    state: JobState = JobState.ACCEPTED
    error_message: str | None = None
    outputs: list[Any] = field(default_factory=list)
    # parameter -> where Discord serves the attached image: a restart that lost the bytes
    # (kept in memory until they reach ComfyUI) reads them again from there
    input_urls: dict[str, str] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    delivered: bool = False
    private: bool = False  # shown only to its owner (ephemeral, then a direct message)
    # the delivery intent (see discomfy.core.jobs.transitions): which message carries the outcome
    # ("edit:<message id>", "original", or "post:<nonce>"), what it carries ("result", "failed",
    # "failed+retry", "cancelled") and when it was recorded (Discord's nonce window counts from it)
    delivery_intent: str | None = None
    delivery_outcome: str | None = None
    intent_at: float | None = None
    # when ComfyUI was last handed the job: with ``updated_at`` at its end, how long the image
    # server worked on it (what GPU-second quotas count)
    started_at: float | None = None

    def __post_init__(self) -> None:
        self.state = JobState(self.state)

    @property
    def is_final(self) -> bool:
        return self.state.is_final


JOB_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Job))

__all__ = ["FINAL_STATES", "JOB_FIELDS", "Job", "JobState", "UNFINISHED_STATES", "new_job_id"]
