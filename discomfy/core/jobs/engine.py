"""What a job-store engine provides, so one :class:`~discomfy.core.jobs.store.JobStore` API runs
on SQLite (``store.py``, the default) or PostgreSQL (``store_postgres.py``).

The store validates every call and builds its SQL once, in SQLite's dialect with ``?``
placeholders; an engine only runs statements, through the few primitives below. Each write is
its own transaction, and ``cas_row`` is the guarded transition: an ``UPDATE jobs ... WHERE id
AND state ...`` that either changes the one row and returns it as it now is, or changes
nothing and returns None. Every failure of the engine (locked, full, unreachable, a constraint)
is a :class:`JobStoreError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from discomfy.core.jobs.migrations import Migration
from discomfy.exceptions import DisComfyError


class JobStoreError(DisComfyError):
    """The job store could not read or write (locked, disk full, damaged, not opened)."""

    default_user_message = "The bot could not save your job; please try again later."


class Engine(Protocol):
    #: where the jobs are, for messages: a file path, or a URL without its password
    path: str

    @property
    def is_open(self) -> bool: ...

    async def open(self, migrations: Sequence[Migration], latest: int) -> None:
        """Connect, creating what is missing, and apply the migrations not applied yet."""

    async def close(self) -> None: ...

    async def rows(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        """Rows read; each indexable by column name."""

    async def change(self, sql: str, args: tuple[Any, ...]) -> int:
        """One write in its own transaction; how many rows it changed."""

    async def cas_row(self, sql: str, args: tuple[Any, ...], job_id: str) -> Any | None:
        """A guarded ``UPDATE jobs``: the job's row after it, or None when no row matched."""

    async def execute(self, sql: str, args: tuple[Any, ...], write: bool) -> list[Any]:
        """Any one statement (a write is its own transaction); the rows it returned."""

    async def insert_checked(self, check: tuple[str, tuple[Any, ...]], refusal: Callable[[Any], Exception | None],
                             insert: tuple[str, tuple[Any, ...]], lock: tuple[int, int]) -> None:
        """Read ``check``'s one row, and unless ``refusal(row)`` is an error (raised), run
        ``insert``: one transaction, serialised with every other holder of ``lock`` (two
        32-bit advisory keys: the admission of a user's job, :mod:`discomfy.core.jobs.admission`)."""

    async def schema_version(self) -> int: ...


def newer_schema(where: str, version: int, latest: int, setting: str) -> JobStoreError:
    """The refusal to open a store a newer DisComfy has migrated."""
    return JobStoreError(
        "The bot's job store was written by a newer DisComfy; the bot owner must upgrade.",
        detail=f"{where} has schema version {version}; this DisComfy knows up to {latest}. "
        f"Upgrade DisComfy or point {setting} at another {'file' if setting.endswith('path') else 'database'}.",
    )


__all__ = ["Engine", "JobStoreError", "newer_schema"]
