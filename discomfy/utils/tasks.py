"""Stopping background tasks the same way everywhere."""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait until it has ended.

    ``asyncio.wait`` neither re-raises the task's ``CancelledError`` nor swallows a cancellation
    of the caller, which ``try: await task / except CancelledError: pass`` would do.
    """
    if task is None or task.done():
        return
    task.cancel()
    await asyncio.wait({task})
