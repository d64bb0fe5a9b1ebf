"""The durable job ledger: one SQLite file, so no job is lost when the bot stops.

Why SQLite: embedded (nothing to install), transactional (a failed write leaves every
existing row as it was), and WAL mode lets readers run while a write is in progress.

The event loop never blocks on disk: the connection lives in one dedicated thread and every
call is handed to it, which also serialises writes without locks of our own. Every SQLite
failure (locked by another process, disk full, damaged file) becomes a ``JobStoreError``
whose user message is safe to show and whose detail names the SQLite error.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

from discomfy.config import resolve_path
from discomfy.core.jobs.migrations import LATEST_VERSION, MIGRATIONS
from discomfy.core.jobs.job import FINAL_STATES, JOB_FIELDS, UNFINISHED_STATES, Job, JobState
from discomfy.exceptions import DisComfyError

T = TypeVar("T")

#: Fields ``update`` may change; ``id`` and ``created_at`` are fixed, ``updated_at`` automatic,
#: and ``delivered`` belongs to ``mark_delivered`` alone (the once-only guarantee).
UPDATABLE_FIELDS = frozenset(JOB_FIELDS) - {"id", "created_at", "updated_at", "delivered"}
_JSON_FIELDS = ("parameters", "outputs", "parameter_sources")
_FINAL = tuple(s.value for s in FINAL_STATES)
_UNFINISHED = tuple(s.value for s in UNFINISHED_STATES)


class JobStoreError(DisComfyError):
    """The job store could not read or write (locked, disk full, damaged, not opened)."""

    default_user_message = "The bot could not save your job; please try again later."


class JobStore:
    """Async facade over one SQLite file; see the module docstring for the threading model.

    ``pragmas`` are extra ``PRAGMA name = value`` settings applied on open (tuning, or
    ``max_page_count`` to cap the file size)."""

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
        pragmas: Mapping[str, int | str] | None = None,
    ) -> None:
        self.path = str(path)
        self.busy_timeout = busy_timeout
        self._clock = clock
        self._pragmas = dict(pragmas or {})
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None

    @classmethod
    def from_config(cls, config: Any, **kwargs: Any) -> JobStore:
        """A store at ``jobs.store_path`` (relative to the project root)."""
        return cls(resolve_path(config, config.jobs.store_path), **kwargs)

    # --- lifecycle ----------------------------------------------------------------------

    async def open(self) -> None:
        """Open (creating the file and folders if needed), enable WAL, apply migrations."""
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="discomfy-jobstore")
        try:
            await self._call(self._open_in_thread, need_open=False)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise

    async def close(self) -> None:
        if self._executor is None:
            return
        try:
            await self._call(self._close_in_thread, need_open=False)
        finally:
            self._executor.shutdown(wait=False)
            self._executor = None

    async def __aenter__(self) -> JobStore:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- the API ------------------------------------------------------------------------

    async def add(self, job: Job) -> Job:
        """Store a new job. Call before telling the user it is queued."""
        row = _to_row(job)
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        sql = f"INSERT INTO jobs ({names}) VALUES ({marks})"
        await self._call(lambda c: self._write(c, lambda: c.execute(sql, tuple(row.values()))))
        return job

    async def update(self, job_id: str, **changes: Any) -> Job:
        """Change some fields of a job (``updated_at`` is set for you); return the job as
        stored. Raises ``KeyError`` for an unknown id, ``TypeError`` for unknown fields."""
        unknown = set(changes) - UPDATABLE_FIELDS
        if unknown:
            raise TypeError(
                f"cannot update {', '.join(sorted(unknown))} of a job; "
                f"updatable fields: {', '.join(sorted(UPDATABLE_FIELDS))}"
            )
        if "state" in changes:
            changes["state"] = JobState(changes["state"])
            if changes["state"] is JobState.DELIVERED:
                raise ValueError("a job becomes delivered only through mark_delivered()")
        row = {name: _encode(name, value) for name, value in changes.items()}
        row["updated_at"] = self._clock()
        assignments = ", ".join(f"{name} = ?" for name in row)

        def work(conn: sqlite3.Connection) -> Job | None:
            def statements() -> Job | None:
                cursor = conn.execute(
                    f"UPDATE jobs SET {assignments} WHERE id = ?", (*row.values(), job_id)
                )
                if cursor.rowcount == 0:
                    return None
                return _select_one(conn, job_id)

            return self._write(conn, statements)

        job = await self._call(work)
        if job is None:
            raise KeyError(f"no job {job_id!r} in the job store")
        return job

    async def get(self, job_id: str) -> Job | None:
        return await self._call(lambda c: _select_one(c, job_id))

    async def unfinished(self) -> list[Job]:
        """Every job accepted, queued or running, oldest first: what restart recovery resumes."""
        marks = ", ".join("?" for _ in _UNFINISHED)
        sql = f"SELECT * FROM jobs WHERE state IN ({marks}) ORDER BY created_at, rowid"
        return await self._call(lambda c: [_from_row(r) for r in c.execute(sql, _UNFINISHED)])

    async def jobs_for_user(
        self, user_id: int, active_only: bool = True, *, limit: int = 50
    ) -> list[Job]:
        """This user's jobs, newest first; only unfinished ones unless ``active_only=False``."""
        sql, args = "SELECT * FROM jobs WHERE user_id = ?", [user_id]
        if active_only:
            sql += f" AND state IN ({', '.join('?' for _ in _UNFINISHED)})"
            args.extend(_UNFINISHED)
        sql += " ORDER BY created_at DESC, rowid DESC LIMIT ?"
        args.append(limit)
        return await self._call(lambda c: [_from_row(r) for r in c.execute(sql, args)])

    async def mark_delivered(self, job_id: str) -> bool:
        """Claim delivery of a job's result: True only for the first caller, ever, so one
        result is never sent twice (after a restart, a retry, or two racing paths). Call it
        right before sending. False too for a job already failed or cancelled, so a result
        that arrives after the user cancelled is not delivered."""
        marks = ", ".join("?" for _ in _UNFINISHED)
        sql = (
            "UPDATE jobs SET delivered = 1, state = ?, updated_at = ? "
            f"WHERE id = ? AND delivered = 0 AND state IN ({marks})"
        )
        args = (JobState.DELIVERED.value, self._clock(), job_id, *_UNFINISHED)
        count = await self._call(lambda c: self._write(c, lambda: c.execute(sql, args).rowcount))
        return count == 1

    async def prune(self, older_than_days: float) -> int:
        """Delete finished jobs not updated for ``older_than_days``; 0 or less keeps all.
        Returns how many were deleted. Unfinished jobs are never pruned."""
        if older_than_days <= 0:
            return 0
        cutoff = self._clock() - older_than_days * 86400
        marks = ", ".join("?" for _ in _FINAL)
        sql = f"DELETE FROM jobs WHERE state IN ({marks}) AND updated_at < ?"
        return await self._call(
            lambda c: self._write(c, lambda: c.execute(sql, (*_FINAL, cutoff)).rowcount)
        )

    async def execute(self, sql: str, args: tuple[Any, ...] = (), *, write: bool = False) -> list[sqlite3.Row]:
        """Run one statement on the store's file, for sibling tables its migrations create
        (e.g. :class:`discomfy.core.preferences.PreferenceStore`); a write is its own
        transaction. Returns the rows read."""
        def work(conn: sqlite3.Connection) -> list[sqlite3.Row]:
            if write:
                return self._write(conn, lambda: conn.execute(sql, args).fetchall())
            return conn.execute(sql, args).fetchall()

        return await self._call(work)

    async def schema_version(self) -> int:
        return await self._call(lambda c: c.execute("PRAGMA user_version").fetchone()[0])

    # --- thread side --------------------------------------------------------------------

    async def _call(self, work: Callable[..., T], *, need_open: bool = True) -> T:
        if self._executor is None or (need_open and self._conn is None):
            raise JobStoreError(detail=f"job store {self.path} used before open() or after close()")
        loop = asyncio.get_running_loop()
        try:
            if need_open:
                return await loop.run_in_executor(self._executor, work, self._conn)
            return await loop.run_in_executor(self._executor, work)
        except sqlite3.Error as exc:
            code = getattr(exc, "sqlite_errorname", type(exc).__name__)
            raise JobStoreError(detail=f"job store {self.path}: {code}: {exc}") from exc

    def _open_in_thread(self) -> None:
        if self.path != ":memory:" and not self.path.startswith("file:"):
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode = WAL")
            # NORMAL in WAL mode: a crash of the bot loses nothing; only power loss could
            # roll back the last commits. Override with pragmas={"synchronous": "FULL"}.
            conn.execute("PRAGMA synchronous = NORMAL")
            for name, value in self._pragmas.items():
                if not name.replace("_", "").isalnum():
                    raise ValueError(f"not a pragma name: {name!r}")
                conn.execute(f"PRAGMA {name} = {_pragma_value(value)}")
            self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _close_in_thread(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > LATEST_VERSION:
            raise JobStoreError(
                "The bot's job store was written by a newer DisComfy; the bot owner must upgrade.",
                detail=f"{self.path} has schema version {version}; this DisComfy knows up to "
                f"{LATEST_VERSION}. Upgrade DisComfy or point jobs.store_path at another file.",
            )
        for migration in MIGRATIONS:
            if migration.version <= version:
                continue

            def apply(m=migration) -> None:
                for statement in m.statements:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {int(m.version)}")

            self._write(conn, apply)

    @staticmethod
    def _write(conn: sqlite3.Connection, statements: Callable[[], T]) -> T:
        """Run ``statements`` in one IMMEDIATE transaction: all of it is saved, or none."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = statements()
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
                conn.execute("ROLLBACK")
            raise
        return result


# --- rows <-> jobs -----------------------------------------------------------------------


def _pragma_value(value: int | str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"pragma values must be int or str, got {value!r}")
    if isinstance(value, str) and not value.replace("_", "").isalnum():
        raise ValueError(f"not a plain pragma value: {value!r}")
    return str(value)


def _encode(name: str, value: Any) -> Any:
    if name in _JSON_FIELDS:
        try:
            return json.dumps(value, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"job {name} must be JSON-serialisable: {exc}") from exc
    if name == "seed":
        return None if value is None else str(int(value))
    if name == "state":
        return JobState(value).value
    if name in ("delivered", "private"):
        return int(bool(value))
    return value


def _to_row(job: Job) -> dict[str, Any]:
    return {name: _encode(name, value) for name, value in asdict(job).items()}


def _from_row(row: sqlite3.Row) -> Job:
    values = {name: row[name] for name in JOB_FIELDS}
    for name in _JSON_FIELDS:
        values[name] = json.loads(values[name])
    values["seed"] = None if values["seed"] is None else int(values["seed"])
    values["state"] = JobState(values["state"])
    values["delivered"] = bool(values["delivered"])
    values["private"] = bool(values["private"])
    return Job(**values)


def _select_one(conn: sqlite3.Connection, job_id: str) -> Job | None:
    row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return None if row is None else _from_row(row)


__all__ = ["JobStore", "JobStoreError", "UPDATABLE_FIELDS"]
