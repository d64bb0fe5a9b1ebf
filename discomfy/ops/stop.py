"""A graceful stop on SIGTERM, what ``docker stop`` / ``podman stop`` and Kubernetes send.

1. Stop accepting: the bot is marked stopping (commands are answered "The bot is restarting"
   by the command tree, /readyz fails) and the fair queue closes, so no waiting job starts and
   a button that would start one gets the same answer.
2. Let the deliveries under way finish, for at most ``ops.stop_grace`` seconds: a result being
   uploaded reaches its user now rather than after the restart.
3. Close the bot. Jobs still waiting or running on ComfyUI stay open in the job store, and the
   next start's recovery (``discomfy.bot.recovery``) runs or follows them; a delivery cut off
   at the grace limit is finished by that recovery too, exactly once (the delivery protocol).

``discomfy run`` then exits 0: stopping on request is not a failure. A second SIGTERM while
the first one waits closes at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

log = logging.getLogger(__name__)

RESTARTING = "The bot is restarting; please try again in a minute."


class GracefulStop:
    """Stops one bot as described above; ``install()`` ties it to SIGTERM."""

    def __init__(self, bot: Any, grace: float) -> None:
        self.bot = bot
        self.grace = grace
        self.task: asyncio.Task[None] | None = None

    def install(self) -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self.request)

    def uninstall(self) -> None:
        asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)

    def request(self) -> None:
        if self.task is not None:
            log.warning("SIGTERM again: closing now")
            self.task.cancel()
            return
        self.task = asyncio.get_running_loop().create_task(self.stop(), name="graceful-stop")

    async def stop(self) -> None:
        bot = self.bot
        bot.stopping = True
        bot.jobs.job_queue.close()
        under_way = bot.deliveries.under_way
        log.info("SIGTERM: taking no more commands; waiting up to %.0f s for %d deliver%s under way",
                 self.grace, under_way, "y" if under_way == 1 else "ies")
        try:
            if not await bot.deliveries.wait_idle(self.grace):
                log.warning("stopping with %d deliver%s still under way; the next start finishes them",
                            bot.deliveries.under_way, "y" if bot.deliveries.under_way == 1 else "ies")
        finally:
            log.info("stopping; queued and running jobs are picked up by the next start")
            await bot.close()
