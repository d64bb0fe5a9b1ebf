"""What the ComfyUI server has installed, fetched once per burst and kept fresh.

Every command checks its model and LoRA names against the server's node definitions before
it is queued. Fetching them per command would put 100 copies of a large document inside
Discord's 3-second window during a burst; caching them forever would refuse a LoRA installed
a minute ago. So one fetch is shared by every command arriving while it runs, and its answer
is trusted for ``ttl`` seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


class SharedRefresh:
    """Runs ``fetch`` at most once per ``ttl`` seconds; concurrent callers share the call."""

    def __init__(self, fetch: Callable[[], Awaitable[Any]], *, ttl: float) -> None:
        self._fetch = fetch
        self.ttl = ttl
        self._task: asyncio.Future[Any] | None = None
        self._started = 0.0

    def _stale(self) -> bool:
        task = self._task
        if task is None:
            return True
        if not task.done():
            return False
        failed = task.cancelled() or task.exception() is not None
        return failed or time.monotonic() - self._started > self.ttl

    async def fresh(self) -> Any:
        """The latest answer, fetching first when it is older than ``ttl`` or failed."""
        if self._stale():
            self._started = time.monotonic()
            self._task = asyncio.ensure_future(self._fetch())
            # a fetch outliving its waiters (timed out, bot closing) must not log a lost error
            self._task.add_done_callback(lambda t: t.cancelled() or t.exception())
        return await asyncio.shield(self._task)  # a caller's timeout must not cancel the others' fetch
