"""A simulated clock: hours of GPU time in seconds, with the real sockets still in the loop.

The cost model makes the fake ``await asyncio.sleep(load_seconds)``; the bot's own timers
(health checks, deadlines, aging) also run on the event loop's clock. An event loop whose
clock jumps to the next timer whenever nothing is ready — no callback to run, no byte on any
socket — runs all of them faithfully and fast: loopback HTTP and WebSocket traffic between
the bot and the fake still happen for real, they just take no simulated time.

The jumping is `looptime <https://pypi.org/project/looptime/>`_'s (a small, maintained
library that does exactly this, including waiting for executor threads before jumping);
this module only gives it the one shape the benchmark and tests use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import looptime

T = TypeVar("T")


def new_simulated_loop() -> asyncio.AbstractEventLoop:
    """An event loop on simulated time, starting at 0."""
    return looptime.new_event_loop(start=0.0)


def run_simulated(main: Callable[[], Awaitable[T]]) -> T:
    """Run ``main()`` to its end on a fresh simulated-time loop and close the loop.

    Anything that reads time must read ``asyncio.get_running_loop().time()`` (the fair queue's
    ``clock``): ``time.monotonic()`` keeps real time."""
    loop = new_simulated_loop()
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(main())
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def loop_clock() -> Callable[[], float]:
    """A clock reading the running loop's (possibly simulated) time."""
    def now() -> float:
        return asyncio.get_running_loop().time()
    return now


__all__ = ["loop_clock", "new_simulated_loop", "run_simulated"]
