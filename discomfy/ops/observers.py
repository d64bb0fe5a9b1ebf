"""Where each counted number comes from: the hooks that feed :class:`.metrics.BotMetrics`.

- jobs by command and outcome: the ``discomfy_job_finished`` hook, with the job as stored at
  its end;
- waiting / running / delivering times: each delivery as it ends (:mod:`.deliveries`), from
  the job's stored times (accepted, handed to ComfyUI) and the delivery's own duration;
- model loads: the scheduling policy's record of held models (``ModelHoldings.load_listeners``);
- Discord 429s: an aiohttp trace on discord.py's HTTP session, which also carries webhook
  requests; every 429 counts, also those discord.py then waits out and retries;
- gateway reconnects: discord.py's ``on_connect`` after the first, and ``on_resumed``.
"""

from __future__ import annotations

import time
from typing import Any

import aiohttp

from discomfy.hookspecs import hookimpl
from discomfy.ops.metrics import BotMetrics


def discord_trace(metrics: BotMetrics) -> aiohttp.TraceConfig:
    """The trace to hand discord.py (``http_trace=``) before it opens its session."""
    trace = aiohttp.TraceConfig()

    async def on_request_end(session: Any, context: Any, params: aiohttp.TraceRequestEndParams) -> None:
        if params.response.status == 429:
            metrics.discord_429.inc()

    trace.on_request_end.append(on_request_end)
    return trace


class JobsEnded:
    """The pluggy side: one count per job end, labelled by command and outcome."""

    def __init__(self, metrics: BotMetrics) -> None:
        self.metrics = metrics

    @hookimpl
    def discomfy_job_finished(self, job: Any) -> None:
        state = getattr(job.state, "value", job.state)
        self.metrics.jobs.labels(command=job.command or "?", outcome=str(state)).inc()


class GatewaySessions:
    """Counts reconnects: the first ``on_connect`` is the start, every later one a reconnect."""

    def __init__(self, metrics: BotMetrics) -> None:
        self.metrics = metrics
        self.connects = 0

    async def on_connect(self) -> None:
        self.connects += 1
        if self.connects > 1:
            self.metrics.reconnects.inc()

    async def on_resumed(self) -> None:
        self.metrics.reconnects.inc()


def observe_delivery(metrics: BotMetrics, job: Any, seconds: float) -> None:
    """A delivery ended: how long the job waited, ran and was delivered."""
    command = getattr(job, "command", None) or "?"
    started, created = getattr(job, "started_at", None), getattr(job, "created_at", None)
    metrics.delivering.labels(command=command).observe(seconds)
    if started is None:
        return  # it never reached ComfyUI (withdrawn from the queue, refused): no wait or run to tell
    if created is not None:
        metrics.waiting.labels(command=command).observe(max(0.0, started - created))
    metrics.running.labels(command=command).observe(max(0.0, time.time() - seconds - started))


def attach(bot: Any, metrics: BotMetrics) -> None:
    """Feed ``metrics`` from ``bot`` (its trace must already be in discord.py's options)."""
    metrics.watch(bot)
    bot.plugins.manager.register(JobsEnded(metrics), name="discomfy-metrics")
    sessions = GatewaySessions(metrics)
    bot.add_listener(sessions.on_connect, "on_connect")
    bot.add_listener(sessions.on_resumed, "on_resumed")
    bot.deliveries.listeners.append(lambda job, seconds: observe_delivery(metrics, job, seconds))
    policy = bot.jobs.job_queue.policy
    if policy is not None:
        policy.holdings.load_listeners.append(
            lambda server, models: metrics.model_loads.labels(server=server).inc(len(models)))
