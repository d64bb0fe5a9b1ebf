"""Deliveries under way on one bot: what a graceful stop waits for, and how long each took.

``delivering`` decorates the functions that end a job for its user (``deliver_result``,
``deliver_failure``): each call is one delivery, about its job in the log (see
:mod:`.job_context`), counted while it runs on the bot's :class:`Deliveries` and timed. A
delivery that falls back to another (a result too large becomes a failure) stays one delivery.
A bot without a ``deliveries`` attribute (a unit test's stand-in) is simply not tracked.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from discomfy.ops.job_context import job_scoped

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

#: Called with (job, seconds) when a delivery ends, however it ended.
DeliveryListener = Callable[[Any, float], None]

_delivering: contextvars.ContextVar[str | None] = contextvars.ContextVar("discomfy_delivering", default=None)


class Deliveries:
    """The deliveries one bot has under way."""

    def __init__(self) -> None:
        self.under_way = 0
        self.listeners: list[DeliveryListener] = []
        self._idle = asyncio.Event()
        self._idle.set()

    def started(self) -> None:
        self.under_way += 1
        self._idle.clear()

    def ended(self, job: Any, seconds: float) -> None:
        self.under_way -= 1
        if self.under_way <= 0:
            self._idle.set()
        for listener in self.listeners:
            listener(job, seconds)

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no delivery is under way; False when ``timeout`` seconds passed first."""
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except asyncio.TimeoutError:
            return False
        return True


def delivering(func: F) -> F:
    """Decorate ``async def f(bot, job, ...)`` that delivers ``job``'s outcome (see above)."""
    scoped = job_scoped(func)

    @functools.wraps(func)
    async def wrapper(bot: Any, job: Any, *args: Any, **kwargs: Any) -> Any:
        tracker: Deliveries | None = getattr(bot, "deliveries", None)
        if tracker is None or _delivering.get() == getattr(job, "id", None):
            return await scoped(bot, job, *args, **kwargs)
        token = _delivering.set(getattr(job, "id", None))
        tracker.started()
        began = time.monotonic()
        try:
            return await scoped(bot, job, *args, **kwargs)
        finally:
            _delivering.reset(token)
            tracker.ended(job, time.monotonic() - began)

    return wrapper  # type: ignore[return-value]
