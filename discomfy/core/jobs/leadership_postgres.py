"""Leadership elected on the PostgreSQL server that holds the shared job store.

Why a session advisory lock: exactly one connection holds it, and the server releases it the
moment that connection ends. A killed process's socket is closed by its kernel, so the server
notices at once (across a network, when TCP gives up on a silent peer: ``tcp_keepalives_*``
bound that), and a process already waiting in ``pg_advisory_lock`` is granted the lock in the
same instant. There is no lease to renew and no clock to trust.

The campaign runs on a connection of its own (the lock belongs to a session, so not the store's
pool), in three steps:

1. ``SELECT pg_advisory_lock(key)`` waits (``lock_timeout`` 0 on this session) until this
   process leads; ``elected`` is set.
2. ``LISTEN`` on the store's channel: announcements arrive as notifications.
3. Every ``check_interval`` seconds ``SELECT 1``: a leader whose connection died learns it
   within that time and sets ``lost`` -- another process may already lead, so it must stop
   scheduling (``discomfy run`` then exits with status 1 and its supervisor starts it again).

A follower whose connection fails connects again after ``check_interval``. Announcements go
through the store's pool (``SELECT pg_notify(channel, 'kind:job id')``), after the write they
are about, so the leader reads the job it hears of.

The lock key and the channel name are derived from the database and schema the store lives in:
two stores on one server (a schema each) elect their leaders apart. The lock connection's
``application_name`` is ``discomfy scheduler <host> <pid>``, so an operator sees who leads
(:data:`LEADER_SQL`, docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
from collections.abc import Callable
from typing import Any

from discomfy.core.jobs.engine import JobStoreError

log = logging.getLogger(__name__)

#: what a notification may announce (see discomfy.core.jobs.leadership)
EVENT_KINDS = frozenset({"queued", "cancelled", "cancel"})
#: which process leads, for operators and tests: its application_name and server-side pid
LEADER_SQL = ("SELECT a.application_name, a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
              "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE 'discomfy scheduler %'")


def parse_event(payload: str) -> tuple[str, str] | None:
    """``"queued:abc"`` -> ``("queued", "abc")``; None for a payload this version does not know."""
    kind, _, job_id = payload.partition(":")
    return (kind, job_id) if kind in EVENT_KINDS and job_id else None


def lock_key_and_channel(database: str, schema: str) -> tuple[int, str]:
    """The advisory lock key (a signed 64-bit integer) and ``LISTEN`` channel of one store."""
    digest = hashlib.sha256(f"discomfy leader|{database}|{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True), f"discomfy_jobs_{digest[8:14].hex()}"


class PostgresLeadership:
    """See the module docstring."""

    shared = True

    def __init__(self, url: str, store: Any, *, check_interval: float = 1.0) -> None:
        self.url = url
        self.store = store
        self.check_interval = check_interval
        self.elected = asyncio.Event()
        self.lost = asyncio.Event()
        self.lost_reason = ""
        self.name = f"discomfy scheduler {socket.gethostname()} {os.getpid()}"[:63]
        self._identity: tuple[int, str] | None = None
        self._on_event: Callable[[str, str], Any] = lambda kind, job_id: None
        self._task: asyncio.Task[None] | None = None
        self._conn: Any = None

    @property
    def is_leader(self) -> bool:
        return self.elected.is_set() and not self.lost.is_set()

    async def start(self, on_event: Callable[[str, str], Any]) -> None:
        """Try for the lock once before returning (a process alone is elected at once, so it
        schedules before it takes commands, as a process with its own store does), then go on
        campaigning in the background."""
        self._on_event = on_event
        if self._task is not None:
            return
        import asyncpg  # the postgres extra; the store opened with it already

        try:
            key, _ = await self._store_identity()
            conn = await self._connect(asyncpg)
            if await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
                await self._elected(conn)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.TimeoutError, JobStoreError) as exc:
            log.warning("scheduler election: the job store did not answer (%s: %s); trying again in the background",
                        type(exc).__name__, exc)
            await self._drop_connection()
        self._task = asyncio.create_task(self._campaign(), name="scheduler-election")

    async def announce(self, kind: str, job_id: str) -> None:
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown announcement {kind!r}; known: {', '.join(sorted(EVENT_KINDS))}")
        _, channel = await self._store_identity()
        await self.store.execute("SELECT pg_notify(?, ?)", (channel, f"{kind}:{job_id}"))

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._conn is not None and self.is_leader:
            # the server frees a closed session's locks when its backend exits, a moment after
            # the client has gone: unlock first, so a process started right after is elected
            try:
                async with asyncio.timeout(2.0):
                    await self._conn.execute("SELECT pg_advisory_unlock_all()")
            except Exception:  # noqa: BLE001 - then closing the connection frees it
                log.debug("could not release the scheduling lock before closing", exc_info=True)
        await self._drop_connection()

    # --- the campaign -------------------------------------------------------------------

    async def _store_identity(self) -> tuple[int, str]:
        if self._identity is None:
            rows = await self.store.execute("SELECT current_database() AS db, current_schema() AS schema")
            self._identity = lock_key_and_channel(rows[0]["db"], rows[0]["schema"])
        return self._identity

    async def _campaign(self) -> None:
        import asyncpg  # the postgres extra; the store opened with it already

        while True:
            try:
                await self._lead_once(asyncpg)
                return  # lost while leading: lost is set
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - whatever broke, this task must not end unseen
                # A liveness check cut short by its timeout can leave asyncpg's connection mid-
                # query; the next check then raised InternalClientError, which is none of the
                # driver's error classes above, and ended this task silently: the process went on
                # believing it led while another process took the lock.
                if self.elected.is_set():
                    self._lose(f"its connection to the job store failed: {type(exc).__name__}: {exc}")
                    return
                log.warning("scheduler election: the job store did not answer (%s: %s); trying again in %g s",
                            type(exc).__name__, exc, self.check_interval)
            if not self.elected.is_set():
                await self._drop_connection()
            await asyncio.sleep(self.check_interval)

    async def _connect(self, asyncpg: Any) -> Any:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(
                self.url, server_settings={"application_name": self.name, "lock_timeout": "0"})
        return self._conn

    async def _elected(self, conn: Any) -> None:
        _, channel = await self._store_identity()
        await conn.add_listener(channel, self._heard)
        self.elected.set()
        log.info("this process now schedules the GPU fleet (%s)", self.name)

    async def _lead_once(self, asyncpg: Any) -> None:
        key, _ = await self._store_identity()
        conn = await self._connect(asyncpg)
        if not self.elected.is_set():
            await conn.execute("SELECT pg_advisory_lock($1)", key)  # waits while another process leads
            await self._elected(conn)
        while True:
            await asyncio.sleep(self.check_interval)
            async with asyncio.timeout(max(1.0, 5 * self.check_interval)):
                await conn.fetchval("SELECT 1")

    def _heard(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        event = parse_event(payload)
        if event is None:
            log.debug("ignored the announcement %r", payload)
            return
        try:
            self._on_event(*event)
        except Exception:  # noqa: BLE001 - one bad handler call must not end the election
            log.exception("handling the announcement %r failed", payload)

    def _lose(self, reason: str) -> None:
        self.lost_reason = reason
        self.lost.set()
        log.error("this process no longer schedules the GPU fleet: %s; another process may already, "
                  "so it stops", reason)

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                async with asyncio.timeout(2.0):
                    await conn.close()
            except Exception:  # noqa: BLE001 - a broken connection is dropped either way
                conn.terminate()


__all__ = ["EVENT_KINDS", "LEADER_SQL", "PostgresLeadership", "lock_key_and_channel", "parse_event"]
