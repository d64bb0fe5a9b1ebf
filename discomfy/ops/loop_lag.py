"""How late the event loop runs: the one number that shows a bot too busy to answer Discord.

Every ``interval`` seconds a timer is due; the time it actually ran minus the time it was due
is the lag. A blocking call on the loop (CPU work that should be in a thread, a synchronous
read) shows here as lag long before users see "The application did not respond". /healthz
fails while the last lag is over ``ops.loop_stall_after`` or the monitor has not ticked for
that long (measured by the HTTP handler, which itself runs on the loop only once it is free).
"""

from __future__ import annotations

import asyncio
import time

from discomfy.ops.metrics import BotMetrics

INTERVAL = 0.5


class LoopLag:
    """The lag monitor of one bot's event loop; ``run()`` is its task."""

    def __init__(self, metrics: BotMetrics, interval: float = INTERVAL) -> None:
        self.metrics = metrics
        self.interval = interval
        self.last_lag = 0.0
        self.last_tick = time.monotonic()
        self.worst = 0.0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            self.tick(max(0.0, loop.time() - due))

    def tick(self, lag: float) -> None:
        self.last_lag, self.last_tick = lag, time.monotonic()
        self.worst = max(self.worst, lag)
        self.metrics.loop_lag.set(lag)
        self.metrics.loop_lag_max.set(self.worst)

    def stalled(self, limit: float) -> str | None:
        """Why the loop counts as stalled (None: it is not)."""
        silent = time.monotonic() - self.last_tick
        if silent > limit + self.interval:
            return f"the event loop has not run its lag check for {silent:.1f} s"
        if self.last_lag > limit:
            return f"the event loop ran {self.last_lag:.1f} s late at its last check"
        return None
