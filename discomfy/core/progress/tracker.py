"""``ProgressTracker``: one job's progress as a percentage, a phase and an ETA.

The bot feeds it the client's job events (:meth:`ProgressTracker.feed`) or sets values
directly (the API.md methods). Progress of several sampler nodes is weighted by their step
counts (see :meth:`ProgressTracker.for_workflow`), so a two-pass workflow does not jump from
100 % back to 0 %. Observers either register a callback or ``async for`` over snapshots; the
iteration ends when the job completes or fails.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from discomfy.core.comfyui.events import (
    Failed,
    Interrupted,
    JobEvent,
    NodeStarted,
    Progress,
    Queued,
    Started,
    Succeeded,
)
from discomfy.exceptions import ValidationError

RUNNING, COMPLETED, FAILED = "running", "completed", "failed"


@dataclass(frozen=True)
class ProgressSnapshot:
    """What an observer sees after each change."""

    percentage: float
    phase: str
    state: str = RUNNING
    error: str | None = None
    eta_seconds: float | None = None

    @property
    def finished(self) -> bool:
        return self.state != RUNNING


Callback = Callable[[ProgressSnapshot], Any]


class ProgressTracker:
    """Progress of one job; see the module docstring."""

    def __init__(self, node_weights: dict[str, float] | None = None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        for node, weight in (node_weights or {}).items():
            if not (isinstance(weight, (int, float)) and math.isfinite(weight) and weight > 0):
                raise ValidationError(f"Weight of node {node} must be a positive number, got {weight!r}.",
                                      field="node_weights")
        self._weights = dict(node_weights or {})
        self._clock = clock
        self._fractions: dict[str, float] = {}
        self._steps: dict[str, tuple[float, float]] = {}
        self._first_step: tuple[float, float] | None = None  # (time, steps done then)
        self.percentage = 0.0
        self.phase = "Waiting"
        self.state = RUNNING
        self.error: str | None = None
        self.eta_seconds: float | None = None
        self._callbacks: list[Callback] = []
        self._queues: list[asyncio.Queue[ProgressSnapshot]] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    @classmethod
    def for_workflow(cls, workflow: dict[str, Any], **kwargs: Any) -> ProgressTracker:
        """Weights every node with an integer ``steps`` input (the samplers) by its steps."""
        weights = {str(nid): float(node["inputs"]["steps"]) for nid, node in workflow.items()
                   if isinstance(node, dict) and isinstance((node.get("inputs") or {}).get("steps"), int)
                   and node["inputs"]["steps"] > 0}
        return cls(weights or None, **kwargs)

    # -- API.md --------------------------------------------------------------------------
    def update_percentage(self, percentage: float) -> None:
        """Set the percentage, clamped to 0-100; NaN or a non-number raises ValidationError."""
        if isinstance(percentage, bool) or not isinstance(percentage, (int, float)) or math.isnan(percentage):
            raise ValidationError(f"Progress must be a number from 0 to 100, got {percentage!r}.",
                                  field="percentage")
        if self.state != RUNNING:
            return
        self.percentage = min(100.0, max(0.0, float(percentage)))
        self._notify()

    def update_phase(self, phase: str) -> None:
        if not isinstance(phase, str) or not phase.strip():
            raise ValidationError("A progress phase needs a non-empty description.", field="phase")
        if self.state != RUNNING or phase == self.phase:
            return
        self.phase = phase
        self._notify()

    def mark_completed(self) -> None:
        if self.state != RUNNING:
            return
        self.state, self.percentage, self.phase, self.eta_seconds = COMPLETED, 100.0, "Completed", 0.0
        self._notify()

    def mark_failed(self, error_message: str) -> None:
        if self.state != RUNNING:
            return
        self.state, self.error, self.phase, self.eta_seconds = FAILED, str(error_message), "Failed", None
        self._notify()

    # -- observing -----------------------------------------------------------------------
    def snapshot(self) -> ProgressSnapshot:
        return ProgressSnapshot(self.percentage, self.phase, self.state, self.error, self.eta_seconds)

    def add_callback(self, callback: Callback) -> Callable[[], None]:
        """Call ``callback(snapshot)`` on every change (coroutines are scheduled); returns an
        unsubscribe function."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback) if callback in self._callbacks else None

    async def updates(self) -> AsyncIterator[ProgressSnapshot]:
        """Snapshots from now on, ending with the completed/failed one."""
        if self.state != RUNNING:
            yield self.snapshot()
            return
        queue: asyncio.Queue[ProgressSnapshot] = asyncio.Queue()
        self._queues.append(queue)
        try:
            while True:
                snap = await queue.get()
                yield snap
                if snap.finished:
                    return
        finally:
            self._queues.remove(queue)

    def __aiter__(self) -> AsyncIterator[ProgressSnapshot]:
        return self.updates()

    def _notify(self) -> None:
        snap = self.snapshot()
        for queue in self._queues:
            queue.put_nowait(snap)
        for callback in list(self._callbacks):
            result = callback(snap)
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    # -- job events ----------------------------------------------------------------------
    def feed(self, event: JobEvent) -> None:
        """Update from one client event."""
        if isinstance(event, Queued):
            self.update_phase("Queued" if not event.position else f"Queued (position {event.position})")
        elif isinstance(event, Started):
            self.update_phase("Starting")
        elif isinstance(event, NodeStarted):
            if event.node_type:
                self.update_phase(f"Running {event.node_type}")
        elif isinstance(event, Progress):
            self._progress(event)
        elif isinstance(event, Succeeded):
            self.mark_completed()
        elif isinstance(event, Failed):
            self.mark_failed(event.error.user_message)
        elif isinstance(event, Interrupted):
            self.mark_failed("The job was cancelled.")

    def _progress(self, event: Progress) -> None:
        if event.max <= 0 or math.isnan(event.value) or math.isnan(event.max):
            return
        node = event.node or "?"
        self._steps[node] = (min(event.value, event.max), event.max)
        self._fractions[node] = min(1.0, max(0.0, event.value / event.max))
        if self._weights:
            total = sum(self._weights.values())
            done = sum(w * self._fractions.get(n, 0.0) for n, w in self._weights.items())
            percentage = 100.0 * done / total
        else:
            percentage = 100.0 * self._fractions[node]
        self._update_eta()
        if self.state == RUNNING:
            self.phase = "Sampling" if self._weights.get(node) or not self._weights else self.phase
            self.percentage = min(100.0, max(self.percentage if self._weights else 0.0, percentage))
            self._notify()

    def _update_eta(self) -> None:
        done = sum(v for v, _ in self._steps.values())
        now = self._clock()
        if self._first_step is None:
            self._first_step = (now, done)
            return
        t0, d0 = self._first_step
        if now <= t0 or done <= d0:
            return
        rate = (done - d0) / (now - t0)
        if self._weights:
            expected = sum(self._steps.get(n, (0.0, w))[1] for n, w in self._weights.items())
        else:
            expected = sum(m for _, m in self._steps.values())
        self.eta_seconds = max(0.0, (expected - done) / rate)
