"""The bot's Prometheus metrics, in a registry of its own.

Each bot has its own ``CollectorRegistry`` (never prometheus-client's global one), so several
bots in one process (the tests) never share a counter. Two kinds of numbers:

- *events*, counted as they happen by :mod:`.observers`: jobs ended by command and outcome,
  the waiting / running / delivering time of each job, model loads per server, Discord 429s,
  gateway reconnects, the event loop's lag;
- *state*, read from the bot when Prometheus scrapes (:class:`LiveState`): queue length,
  waiting users, servers up, jobs running per server, gateway connected. Reading at scrape
  time means no code path has to remember to update a gauge.

docs/operations.md lists every name and what to alert on.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

#: Seconds: from a fraction of a second (a warm model) to the 30-minute job deadline.
JOB_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1800)
DELIVERY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class BotMetrics:
    """Every metric of one bot; ``render()`` is what ``GET /metrics`` answers."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.jobs = Counter("discomfy_jobs", "Jobs that ended, by command and outcome "
                            "(delivered, failed, cancelled, withheld)", ["command", "outcome"], registry=r)
        self.waiting = Histogram("discomfy_job_waiting_seconds", "From accepted to handed to ComfyUI",
                                 ["command"], buckets=JOB_BUCKETS, registry=r)
        self.running = Histogram("discomfy_job_running_seconds", "From handed to ComfyUI to its outcome ready",
                                 ["command"], buckets=JOB_BUCKETS, registry=r)
        self.delivering = Histogram("discomfy_job_delivering_seconds", "Sending an outcome to Discord, "
                                    "re-encoding included", ["command"], buckets=DELIVERY_BUCKETS, registry=r)
        self.model_loads = Counter("discomfy_model_loads", "Models a job made a ComfyUI server load",
                                   ["server"], registry=r)
        self.discord_429 = Counter("discomfy_discord_429", "HTTP 429 answers from Discord (discord.py "
                                   "waits and retries them)", registry=r)
        self.reconnects = Counter("discomfy_gateway_reconnects", "Gateway sessions resumed or opened "
                                  "again after the first", registry=r)
        self.loop_lag = Gauge("discomfy_event_loop_lag_seconds", "How late the event loop ran a timer, "
                              "at the last check", registry=r)
        self.loop_lag_max = Gauge("discomfy_event_loop_lag_max_seconds", "The largest event loop lag "
                                  "seen since start", registry=r)

    def watch(self, bot: Any) -> None:
        """Read ``bot``'s queue, servers and gateway at each scrape."""
        self.registry.register(LiveState(bot))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class LiveState(Collector):
    """Gauges read from the bot at scrape time (see the module docstring)."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot

    def collect(self) -> Iterator[GaugeMetricFamily]:
        snapshot = self.bot.jobs.job_queue.snapshot()
        yield GaugeMetricFamily("discomfy_queue_length", "Jobs waiting in the fair queue", value=len(snapshot.pending))
        yield GaugeMetricFamily("discomfy_waiting_users", "Users with at least one job waiting",
                                value=len({job.user_id for job in snapshot.pending}))
        up = GaugeMetricFamily("discomfy_server_up", "1 when the ComfyUI server passed its last health check",
                               labels=["server"])
        running = GaugeMetricFamily("discomfy_jobs_running", "Jobs this bot runs on each ComfyUI server",
                                    labels=["server"])
        per_server = Tally(job.server for job in snapshot.running)
        for server in self.bot.jobs.servers:
            up.add_metric([server.name], 1.0 if server.healthy else 0.0)
            running.add_metric([server.name], per_server[server.name])
        yield up
        yield running
        yield GaugeMetricFamily("discomfy_servers_up", "ComfyUI servers that passed their last health check",
                                value=sum(1 for server in self.bot.jobs.servers if server.healthy))
        yield GaugeMetricFamily("discomfy_gateway_connected", "1 while the Discord gateway session is ready",
                                value=1.0 if gateway_connected(self.bot) else 0.0)


def gateway_connected(bot: Any) -> bool:
    """The bot has a ready gateway session that is open right now."""
    ws = getattr(bot, "ws", None)
    return bot.is_ready() and not bot.is_closed() and ws is not None and ws.open


__all__ = ["BotMetrics", "LiveState", "gateway_connected"]
