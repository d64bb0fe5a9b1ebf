"""What happens to jobs when a ComfyUI server goes down, decided without Discord.

When the pool reports a server down, ``Failover.server_down`` pauses it in the fair queue
(limit 0, so its dispatcher takes nothing more), sorts the jobs it touches and moves them:

- waiting jobs that another healthy server may run simply go there (the queue only hands a
  job to a server in its allowed set, and the paused one takes nothing): ``moved``;
- waiting jobs that only down servers may run stay queued until one is back: ``waiting``;
- the job it was running is stopped here (``stop_run``, the bot's way to end the local task
  following it) and either put back at the head of the queue for the other servers, once
  (``comfyui.retry_running_on_failover``): ``retried``; or released: ``failed``.

The report lists every affected job with the sentence its user should read, so the bot only
has to tell users and update the job store. ``server_up`` restores the server's slots.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from discomfy.core.jobs.queue import QueueClosedError, QueuedJob
from discomfy.exceptions import RateLimitError

if TYPE_CHECKING:
    from discomfy.core.jobs.queue import FairQueue
    from discomfy.core.servers.pool import Server, ServerPool

log = logging.getLogger(__name__)

Outcome = Literal["moved", "waiting", "retried", "failed"]
#: Stops the local task that follows a running job (it must not deliver a failure itself).
StopRun = Callable[[str], Awaitable[Any]]

#: Longest wait for ``stop_run`` of one job.
STOP_RUN_TIMEOUT = 10.0


@dataclass(frozen=True)
class FailoverAction:
    job_id: str
    user_id: Hashable
    outcome: Outcome
    message: str  # what the job's owner should read


@dataclass(frozen=True)
class FailoverReport:
    """Every job a server's failure touched, by outcome."""

    server: str
    moved: tuple[FailoverAction, ...] = ()
    waiting: tuple[FailoverAction, ...] = ()
    retried: tuple[FailoverAction, ...] = ()
    failed: tuple[FailoverAction, ...] = ()

    @property
    def actions(self) -> tuple[FailoverAction, ...]:
        return self.moved + self.waiting + self.retried + self.failed


@dataclass
class Failover:
    """Queue moves for servers going down and up; see the module docstring.

    Without ``stop_run`` a running job is never retried (the task still following it would
    release its queue slot later and drop the retried job), only failed."""

    queue: FairQueue
    pool: ServerPool
    retry_running: bool = True
    stop_run: StopRun | None = None
    _saved_limits: dict[str, int] = field(default_factory=dict, init=False)
    _retried: set[str] = field(default_factory=set, init=False)
    _report_tasks: set[asyncio.Future[Any]] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        for server in self.pool:  # servers already known to be down take no jobs
            if not server.healthy:
                self._pause(server.name)

    @classmethod
    def from_config(cls, config: Any, queue: FairQueue, pool: ServerPool, *,
                    stop_run: StopRun | None = None) -> Failover:
        retry = bool(config.get("comfyui.retry_running_on_failover", True))
        return cls(queue, pool, retry_running=retry, stop_run=stop_run)

    def attach(self, on_report: Callable[[FailoverReport], Any] | None = None) -> Callable[[], None]:
        """Register with the pool: down -> ``server_down`` then ``on_report(report)``, up ->
        ``server_up``. Returns the remover. A coroutine ``on_report`` (telling users takes
        Discord requests) runs as its own task, so health checks never wait for it."""
        async def down(server: Server) -> None:
            report = await self.server_down(server)
            if on_report is None:
                return
            result = on_report(report)
            if asyncio.iscoroutine(result):
                task = asyncio.ensure_future(result)
                self._report_tasks.add(task)
                task.add_done_callback(self._report_done)
        return self.pool.add_health_listener(on_down=down, on_up=self.server_up)

    def _report_done(self, task: asyncio.Future[Any]) -> None:
        self._report_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("telling users about a failover failed", exc_info=task.exception())

    def _pause(self, name: str) -> None:
        if name not in self._saved_limits:
            self._saved_limits[name] = self.queue.server_limit(name)
        self.queue.set_server_limit(name, 0)

    def server_up(self, server: Server) -> None:
        """Give the server back its slots; jobs waiting for it start again."""
        limit = self._saved_limits.pop(server.name, None)
        if limit is not None:
            self.queue.set_server_limit(server.name, limit)

    async def server_down(self, server: Server) -> FailoverReport:
        """Pause ``server``, move its jobs and report what happened to each."""
        name = server.name
        self._pause(name)
        snapshot = self.queue.snapshot()
        everywhere = frozenset(self.pool.names)
        healthy = {s.name for s in self.pool if s.healthy and s.name != name}
        moved, waiting = [], []
        for job in snapshot.pending:
            allowed = job.servers if job.servers is not None else everywhere
            if name not in allowed:
                continue
            if allowed & healthy:
                moved.append(FailoverAction(job.job_id, job.user_id, "moved",
                             f"The image server `{name}` went down; your job will run on another server."))
            else:
                waiting.append(FailoverAction(job.job_id, job.user_id, "waiting",
                               f"The image server `{name}` went down and no other server can run this job; "
                               "it will start when one is back."))
        running = [job for job in snapshot.running if job.server == name]
        await self._stop_runs(running, name)
        live = {job.job_id for job in snapshot.pending + snapshot.running}
        self._retried &= live  # forget jobs that have ended since their retry
        retried, failed = [], []
        for job in running:
            action = self._take_back(job, name, everywhere, healthy)
            (retried if action.outcome == "retried" else failed).append(action)
        report = FailoverReport(name, tuple(moved), tuple(waiting), tuple(retried), tuple(failed))
        log.warning("server %s down: %d moved, %d waiting, %d retried, %d failed", name,
                    len(moved), len(waiting), len(retried), len(failed))
        return report

    async def _stop_runs(self, jobs: list[QueuedJob], name: str) -> None:
        """Stop the local runs of ``jobs`` together, each within ``STOP_RUN_TIMEOUT``."""
        if self.stop_run is None or not jobs:
            return

        async def one(job: QueuedJob) -> None:
            try:
                async with asyncio.timeout(STOP_RUN_TIMEOUT):
                    await self.stop_run(job.job_id)
            except Exception:  # noqa: BLE001 - the queue moves must happen regardless
                log.exception("stopping the run of job %s on %s failed", job.job_id, name)

        await asyncio.gather(*(one(job) for job in jobs))

    def _take_back(self, job: QueuedJob, name: str, everywhere: frozenset[str],
                   healthy: set[str]) -> FailoverAction:
        """Retry a stopped job elsewhere once, or release it."""
        allowed = (job.servers if job.servers is not None else everywhere) - {name}
        can_retry = (self.retry_running and self.stop_run is not None and job.job_id not in self._retried
                     and bool(allowed & healthy))
        if can_retry:
            try:
                if self.queue.is_running(job.job_id):
                    self.queue.requeue(job.job_id, servers=sorted(allowed))
                else:
                    self.queue.submit(job.job_id, job.user_id, servers=sorted(allowed), models=job.models)
            except (QueueClosedError, RateLimitError, ValueError) as exc:
                log.warning("job %s could not be put back in the queue: %s", job.job_id, exc)
            else:
                self._retried.add(job.job_id)
                return FailoverAction(job.job_id, job.user_id, "retried",
                                      f"The image server `{name}` stopped answering while running your job; "
                                      "it starts again on another server.")
        self.queue.release(job.job_id)  # no-op when stop_run already released it
        why = " (it had already been retried once)" if job.job_id in self._retried else ""
        return FailoverAction(job.job_id, job.user_id, "failed",
                              f"The image server `{name}` stopped answering while running your job{why}. "
                              "Please try again.")


__all__ = ["Failover", "FailoverAction", "FailoverReport", "StopRun"]
