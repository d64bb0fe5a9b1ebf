"""Which bot process schedules the GPU fleet, when several share one job store.

Every process accepts commands and writes jobs, but only one at a time -- the *leader* -- runs
the fair queue, the dispatch loops and the ComfyUI event sockets: fairness between users, the
server slots and model affinity are decisions about the whole fleet, so they are taken in one
place, from the jobs the store holds. The others only write jobs (and cancel them) and tell the
leader, which takes them in (``bot/intake.py``).

Two kinds, chosen by the store's engine (:func:`leadership_for`):

* :class:`SoleLeadership`: an SQLite file belongs to one process, which always leads; jobs go
  straight into its queue as they are accepted, as they always did (``shared`` is False).
* :class:`~discomfy.core.jobs.leadership_postgres.PostgresLeadership`: processes sharing a
  PostgreSQL store elect the leader with a session advisory lock (the server releases it when
  the holder's connection dies, so a killed leader is replaced within seconds), and wake it
  with ``LISTEN/NOTIFY`` when a job is queued or cancelled; the leader also polls the store
  every ``jobs.poll_interval`` seconds, the safety net for a notification that never came.

Events a process announces (``announce(kind, job_id)``), heard by the leader only:

* ``queued``: a job was written and announced to its user: take it in;
* ``cancelled``: a waiting job was cancelled in the store: drop it from the queue;
* ``cancel``: the owner asked to cancel a running job: interrupt it on ComfyUI.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from discomfy.core.jobs.leadership_postgres import PostgresLeadership

#: What a notification carries, ``(kind, job id)``; called on the leader's event loop.
EventHandler = Callable[[str, str], Any]


class Leadership(Protocol):
    #: True when other processes may write jobs this one must take in from the store
    shared: bool
    #: set once this process leads; cleared never (a leader that loses its lock stops)
    elected: asyncio.Event
    #: set when a leadership held was lost (its lock connection died): stop scheduling
    lost: asyncio.Event
    #: why ``lost`` was set, in words for the operator
    lost_reason: str

    @property
    def is_leader(self) -> bool: ...

    async def start(self, on_event: EventHandler) -> None:
        """Begin campaigning (in the background); ``on_event`` hears announcements once leading."""

    async def announce(self, kind: str, job_id: str) -> None:
        """Tell the leader (whichever process it is) about a job; see the module docstring."""

    async def close(self) -> None:
        """Stop campaigning; a leader's lock is released with its connection."""


class SoleLeadership:
    """One process owns the store: it leads from the start, and has nobody to tell."""

    shared = False

    def __init__(self) -> None:
        self.elected = asyncio.Event()
        self.elected.set()
        self.lost = asyncio.Event()
        self.lost_reason = ""

    @property
    def is_leader(self) -> bool:
        return True

    async def start(self, on_event: EventHandler) -> None:
        return None

    async def announce(self, kind: str, job_id: str) -> None:
        return None  # the queue of this process already knows

    async def close(self) -> None:
        return None


def leadership_for(store: Any, url: str, *, check_interval: float = 1.0) -> Leadership:
    """The leadership that fits ``store``: elected through ``url`` on PostgreSQL, sole on SQLite."""
    if store.engine != "postgresql":
        return SoleLeadership()
    return PostgresLeadership(url, store, check_interval=check_interval)


__all__ = ["EventHandler", "Leadership", "PostgresLeadership", "SoleLeadership", "leadership_for"]
