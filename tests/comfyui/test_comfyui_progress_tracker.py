"""ProgressTracker: the API.md methods, weighting, ETA, and both ways of observing."""

from __future__ import annotations

import asyncio
import math

import pytest
from comfyui_workflows import txt2img

from discomfy.core.comfyui.events import Failed, NodeStarted, Progress, Started, Succeeded
from discomfy.core.progress.tracker import ProgressTracker
from discomfy.exceptions import GenerationError, ValidationError


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_percentage_is_clamped_and_nan_is_refused():
    tracker = ProgressTracker()
    tracker.update_percentage(150)
    assert tracker.percentage == 100.0
    tracker.update_percentage(-3)
    assert tracker.percentage == 0.0
    for bad in (math.nan, "50", None, True):
        with pytest.raises(ValidationError, match="from 0 to 100"):
            tracker.update_percentage(bad)
    assert tracker.percentage == 0.0


def test_phases_completion_and_failure_are_final():
    tracker = ProgressTracker()
    tracker.update_phase("Sampling")
    assert tracker.phase == "Sampling"
    with pytest.raises(ValidationError):
        tracker.update_phase("  ")
    tracker.mark_failed("GPU fell over")
    assert (tracker.state, tracker.error, tracker.phase) == ("failed", "GPU fell over", "Failed")
    tracker.mark_completed()
    tracker.update_percentage(80)
    assert tracker.state == "failed" and tracker.percentage == 0.0
    done = ProgressTracker()
    done.mark_completed()
    assert (done.state, done.percentage) == ("completed", 100.0)


def test_callbacks_see_every_change_and_can_unsubscribe():
    tracker = ProgressTracker()
    seen = []
    unsubscribe = tracker.add_callback(lambda snap: seen.append((snap.percentage, snap.phase)))
    tracker.update_percentage(10)
    tracker.update_phase("Decoding")
    unsubscribe()
    tracker.update_percentage(90)
    assert seen == [(10.0, "Waiting"), (10.0, "Decoding")]


async def test_async_callbacks_are_awaited_in_the_background():
    tracker = ProgressTracker()
    got = asyncio.Event()

    async def callback(snap):
        if snap.finished:
            got.set()

    tracker.add_callback(callback)
    tracker.mark_completed()
    await asyncio.wait_for(got.wait(), 2)


async def test_async_iteration_ends_with_the_terminal_snapshot():
    tracker = ProgressTracker()

    async def collect():
        return [snap async for snap in tracker]

    task = asyncio.create_task(collect())
    await asyncio.sleep(0)
    tracker.update_percentage(40)
    tracker.mark_completed()
    snaps = await asyncio.wait_for(task, 2)
    assert [(s.percentage, s.state) for s in snaps] == [(40.0, "running"), (100.0, "completed")]


def test_two_samplers_are_weighted_by_their_steps_and_never_go_back():
    workflow = txt2img(steps=30)
    workflow["11"] = {"class_type": "KSampler", "inputs": {**workflow["3"]["inputs"], "steps": 10}}
    tracker = ProgressTracker.for_workflow(workflow)
    pid = "p"
    tracker.feed(Progress(pid, 30, 30, "3"))
    assert tracker.percentage == pytest.approx(75.0)
    tracker.feed(Progress(pid, 1, 10, "11"))
    assert tracker.percentage == pytest.approx(77.5)
    tracker.feed(Progress(pid, 10, 10, "11"))
    assert tracker.percentage == pytest.approx(100.0)


def test_eta_comes_from_the_step_rate():
    clock = Clock()
    tracker = ProgressTracker.for_workflow(txt2img(steps=20), clock=clock)
    tracker.feed(Progress("p", 1, 20, "3"))
    assert tracker.eta_seconds is None
    clock.now += 2.0
    tracker.feed(Progress("p", 5, 20, "3"))  # 4 steps in 2 s: 2 steps/s, 15 to go
    assert tracker.eta_seconds == pytest.approx(7.5)


def test_job_events_drive_phase_and_outcome():
    tracker = ProgressTracker()
    tracker.feed(Started("p"))
    assert tracker.phase == "Starting"
    tracker.feed(NodeStarted("p", "3", "KSampler"))
    assert tracker.phase == "Running KSampler"
    tracker.feed(Progress("p", 2, 4, "3"))
    assert (tracker.percentage, tracker.phase) == (50.0, "Sampling")
    tracker.feed(Succeeded("p"))
    assert tracker.state == "completed"
    failing = ProgressTracker()
    failing.feed(Failed("p", GenerationError("node 3 (KSampler) failed")))
    assert failing.error == "node 3 (KSampler) failed"


def test_bad_weights_are_refused_with_the_node_named():
    with pytest.raises(ValidationError, match="node 3"):
        ProgressTracker({"3": -1})
