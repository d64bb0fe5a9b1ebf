"""``JobRun``: everything the bot holds about one job while the job lives in this process.

The stored :class:`~discomfy.core.jobs.Job` is the truth that survives a restart; a ``JobRun`` is
what only memory has: the inputs until they are uploaded, the rendered graph, the progress
message's editor, the task running it, the guild's upload limit, whether its owner cancelled it
and whether the user has seen it queued. :class:`JobRuns` holds one per job, so a new piece of
per-job state is a new field here, and forgetting a job is one call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

from discomfy.bot.progress import ThrottledEditor
from discomfy.core.jobs.execution import ImageInput
from discomfy.core.jobs.job import Job


@dataclass(eq=False)
class JobRun:
    job_id: str
    # set once the user saw the progress message; the run waits for it before it starts
    announced: asyncio.Event | None = None
    job: Job | None = None  # the job as stored when accepted, until it runs (saves a store read)
    inputs: dict[str, ImageInput | str] = field(default_factory=dict)  # until uploaded, or run again
    rendered: Any = None  # its rendered workflow, kept to run it again
    upload_limit: int | None = None  # the guild's attachment limit, from the interaction
    editor: ThrottledEditor | None = None  # of its one progress message, "queued" to its outcome
    task: asyncio.Task[None] | None = None  # the task running or following it
    cancelled: bool = False  # its owner cancelled it while it ran
    # (server name, prompt id) once ComfyUI queued it from this run; a cancel reads it here, not
    # from a copy of the job read before the run wrote it
    queued_on: tuple[str, str] | None = None

    def drop_transient(self) -> None:
        """Keep only what running the job again needs (its inputs, rendered graph, upload limit),
        for recovery or a retry on another server."""
        self.announced, self.job, self.editor = None, None, None


class JobRuns:
    """The runs by job id: created when a job is accepted or adopted, gone when it ends."""

    def __init__(self) -> None:
        self._runs: dict[str, JobRun] = {}

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._runs

    def __iter__(self) -> Iterator[JobRun]:
        return iter(list(self._runs.values()))

    def get(self, job_id: str) -> JobRun | None:
        return self._runs.get(job_id)

    def editor_of(self, job_id: str) -> ThrottledEditor | None:
        """The editor of the job's progress message, while this process shows one."""
        run = self._runs.get(job_id)
        return run.editor if run is not None else None

    def upload_limit(self, job_id: str) -> int | None:
        """The upload limit Discord gave with the job's interaction (None when not known)."""
        run = self._runs.get(job_id)
        return run.upload_limit if run is not None else None

    def add(self, run: JobRun) -> JobRun:
        self._runs[run.job_id] = run
        return run

    def open(self, job_id: str) -> JobRun:
        """The job's run, made on first use (a recovered job has none yet)."""
        run = self._runs.get(job_id)
        if run is None:
            run = self._runs[job_id] = JobRun(job_id)
        return run

    def start(self, job_id: str, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``work`` as the job's task; the run lets go of the task when it ends."""
        run = self.open(job_id)
        task = run.task = asyncio.get_running_loop().create_task(work, name=f"job:{job_id}")

        def done(_: asyncio.Task[None]) -> None:
            current = self._runs.get(job_id)
            if current is not None and current.task is task:
                current.task = None
                if current.job is None and not current.inputs and current.rendered is None:
                    self._runs.pop(job_id, None)  # nothing left to run it again with

        task.add_done_callback(done)
        return task

    def forget(self, job_id: str, *, keep_inputs: bool = False) -> None:
        """Drop what memory holds for a job; ``keep_inputs`` keeps what running it again needs."""
        run = self._runs.get(job_id)
        if run is None:
            return
        if keep_inputs:
            run.drop_transient()
        elif run.task is None or run.task.done() or run.task is asyncio.current_task():
            del self._runs[job_id]
        else:  # still running elsewhere: its task lets go when it ends
            run.drop_transient()
            run.inputs, run.rendered, run.upload_limit = {}, None, None

    def tasks(self) -> dict[str, asyncio.Task[None]]:
        """Job id -> the task running or following it, for every job that has one."""
        return {run.job_id: run.task for run in self._runs.values() if run.task is not None}
