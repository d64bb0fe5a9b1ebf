"""The durable job ledger: by default one SQLite file, so no job is lost when the bot stops.

Why SQLite: embedded (nothing to install), transactional (a failed write leaves every
existing row as it was), and WAL mode lets readers run while a write is in progress. It is
the default (``jobs.store_path``). ``jobs.store_url = "postgresql://..."`` puts the same jobs
on a PostgreSQL server instead (:mod:`discomfy.core.jobs.store_postgres`, which says why).

:class:`JobStore` is the one API (add, update, claim_intent, finish, get, unfinished,
jobs_for_user, prune, execute): it validates every call against the transition table and
builds its SQL once, in SQLite's dialect; an engine (:mod:`discomfy.core.jobs.engine`) only
runs the statements. The SQLite engine lives here: the event loop never blocks on disk, as its
one connection lives in one dedicated thread and every call is handed to it, which also
serialises writes without locks of our own. Every SQLite failure (locked by another process,
disk full, damaged file) becomes a ``JobStoreError`` whose user message is safe to show and
whose detail names the SQLite error.

Over 300 lines on purpose: every statement against the job table is a guarded transition, kept
beside the one connection and thread that run them (row encoding lives in ``rows.py``).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from discomfy.config import resolve_path
from discomfy.core.jobs.admission import Admission
from discomfy.core.jobs.engine import Engine, JobStoreError, newer_schema
from discomfy.core.jobs.job import FINAL_STATES, JOB_FIELDS, UNFINISHED_STATES, Job, JobState
from discomfy.core.jobs.migrations import LATEST_VERSION, MIGRATIONS, Migration
from discomfy.core.jobs.rows import ANY, encode, from_row, guard, pragma_value, run_cas, to_row
from discomfy.core.jobs.store_postgres import PostgresEngine, is_postgres_url
from discomfy.core.jobs.transitions import TRANSITIONS, IllegalTransition, check_transition, may_write, states

T = TypeVar("T")
log = logging.getLogger(__name__)

#: Fields ``update`` may change; ``id`` and ``created_at`` are fixed, ``updated_at`` automatic,
#: ``delivered`` belongs to ``finish`` and the intent fields to ``claim_intent`` (the once-only
#: guarantee).
UPDATABLE_FIELDS = frozenset(JOB_FIELDS) - {"id", "created_at", "updated_at", "delivered", "delivery_intent",
                                            "delivery_outcome", "intent_at"}

_FINAL = tuple(s.value for s in FINAL_STATES)
_UNFINISHED = tuple(s.value for s in UNFINISHED_STATES)


class JobStore:
    """The job store's API over an engine: an SQLite file, or with a ``postgresql://`` URL for
    ``path``, a PostgreSQL database. See the module docstring.

    ``busy_timeout`` is how long a write waits for a lock another process holds (PostgreSQL:
    the session's ``lock_timeout``). ``pragmas`` are extra SQLite ``PRAGMA name = value``
    settings applied on open (tuning, or ``max_page_count`` to cap the file size)."""

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
        pragmas: Mapping[str, int | str] | None = None,
    ) -> None:
        self._engine: Engine
        if is_postgres_url(str(path)):
            if pragmas:
                raise ValueError("pragmas are SQLite settings; a PostgreSQL store takes none")
            self._engine = PostgresEngine(str(path), busy_timeout=busy_timeout)
        else:
            self._engine = SqliteEngine(str(path), busy_timeout=busy_timeout, pragmas=pragmas)
        self.path = self._engine.path
        self._clock = clock

    @classmethod
    def from_config(cls, config: Any, **kwargs: Any) -> JobStore:
        """The store of ``jobs.store_url`` when set, else the file at ``jobs.store_path``
        (relative to the project root)."""
        url = str(config.jobs.get("store_url") or "")
        return cls(url or resolve_path(config, config.jobs.store_path), **kwargs)

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def engine(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return "postgresql" if isinstance(self._engine, PostgresEngine) else "sqlite"

    @property
    def is_open(self) -> bool:
        """Open for reads and writes (``discomfy check`` loads plugins without opening it)."""
        return self._engine.is_open

    async def open(self) -> None:
        """Open (creating the file and folders, or connecting) and apply missing migrations."""
        await self._engine.open(MIGRATIONS, LATEST_VERSION)

    async def close(self) -> None:
        await self._engine.close()

    async def __aenter__(self) -> JobStore:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- the API ------------------------------------------------------------------------

    async def add(self, job: Job, *, admission: Admission | None = None) -> Job:
        """Store a new job. Call before telling the user it is queued. With ``admission``
        (several processes share the store), the per-user cap and rate limits are counted in
        the store in the same transaction, raising ``QueueFullError`` or ``RateLimitError``."""
        row = to_row(job)
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        insert = (f"INSERT INTO jobs ({names}) VALUES ({marks})", tuple(row.values()))
        if admission is None:
            await self._engine.change(*insert)
        else:
            now = job.created_at
            await self._engine.insert_checked(admission.counts(job.user_id, now),
                                              lambda counted: admission.refusal(job.user_id, counted, now),
                                              insert, admission.lock(job.user_id))
        return job

    async def update(self, job_id: str, *, expect: Any, expect_prompt: Any = ANY, **changes: Any) -> Job | None:
        """Compare-and-set: change some fields of a job that is in one of the ``expect`` states
        (and, with ``expect_prompt``, has that prompt id); ``updated_at`` is set for you.
        Returns the job as stored, or ``None`` when it was not in the expected state (the
        refusal is logged with both states). A state change must be allowed by
        ``TRANSITIONS`` from every expected state. Raises ``KeyError`` for an unknown id,
        ``TypeError`` for unknown fields."""
        expected = states(expect)
        unknown = set(changes) - UPDATABLE_FIELDS
        if unknown:
            raise TypeError(
                f"cannot update {', '.join(sorted(unknown))} of a job; "
                f"updatable fields: {', '.join(sorted(UPDATABLE_FIELDS))}"
            )
        if "state" in changes:
            changes["state"] = JobState(changes["state"])
            if changes["state"] in FINAL_STATES:
                raise IllegalTransition("a job ends only through finish(), by the holder of its delivery intent")
            check_transition(expected, changes["state"])
        elif not all(may_write(s) for s in expected):
            raise IllegalTransition("a finished job is never written again")
        row = {name: encode(name, value) for name, value in changes.items()}
        where, args = guard(expected, expect_prompt)
        job = await self._cas(job_id, row, where, args)
        if job is None:
            await self._refused(job_id, f"update {sorted(changes)}", expected, expect_prompt)
        return job

    async def claim_intent(self, job_id: str, intent: str, outcome: str, *, expect_intent: str | None = None,
                           at: float | None = None, note: str | None = None) -> Job | None:
        """Record which message will carry the job's outcome, before anything is sent: only
        on an unfinished job whose current intent is ``expect_intent`` (``None``: no intent
        yet), so two paths never both deliver, and recovery finishes the one recorded.
        Keeping the same intent keeps its ``intent_at`` (Discord's nonce window counts from
        the first send; ``at`` is the time to record, by Discord's clock). ``note`` is kept as
        the job's ``error_message`` (a failure's reason, so recovery can still send it).
        Returns the job, or ``None`` when refused (logged)."""
        now = self._clock() if at is None else at
        where, args = guard(UNFINISHED_STATES, ANY)
        where += " AND delivery_intent IS ?"
        sql = ("UPDATE jobs SET delivery_intent = ?, delivery_outcome = ?, updated_at = ?, "
               "error_message = COALESCE(?, error_message), "
               "intent_at = COALESCE(CASE WHEN delivery_intent = ? THEN intent_at END, ?) "
               f"WHERE id = ? AND {where}")
        params = (intent, outcome, self._clock(), note, intent, now, job_id, *args, expect_intent)
        job = await self._cas_row(sql, params, job_id)
        if job is None:
            await self._refused(job_id, f"claim delivery intent {intent} ({outcome})", UNFINISHED_STATES, ANY,
                                expect_intent=expect_intent)
        return job

    async def finish(self, job_id: str, state: JobState | str, *, intent: str | None, **changes: Any) -> bool:
        """End a job: delivered, failed or cancelled, by the holder of delivery intent
        ``intent`` only, and only from a state ``TRANSITIONS`` allows (delivered: from
        running). True for exactly one caller, ever; a refusal is logged with both states."""
        target = JobState(state)
        if target not in FINAL_STATES:
            raise IllegalTransition(f"finish() ends a job; {target.value} is not a final state")
        unknown = set(changes) - UPDATABLE_FIELDS  # ``state`` is the argument, so never among ``changes``
        if unknown:
            raise TypeError(f"cannot set {', '.join(sorted(unknown))} while finishing a job")
        expected = tuple(s for s in JobState if target in TRANSITIONS[s])
        row = {name: encode(name, value) for name, value in changes.items()}
        row.update(state=target.value, delivered=int(target is JobState.DELIVERED))
        where, args = guard(expected, ANY)
        job = await self._cas(job_id, row, where + " AND delivery_intent IS ?", (*args, intent))
        if job is None:
            await self._refused(job_id, f"finish as {target.value}", expected, ANY, expect_intent=intent)
        return job is not None

    async def _cas(self, job_id: str, row: dict[str, Any], where: str, args: tuple[Any, ...]) -> Job | None:
        row = {**row, "updated_at": self._clock()}
        assignments = ", ".join(f"{name} = ?" for name in row)
        sql = f"UPDATE jobs SET {assignments} WHERE id = ? AND {where}"
        return await self._cas_row(sql, (*row.values(), job_id, *args), job_id)

    async def _refused(self, job_id: str, what: str, expected: Any, expect_prompt: Any, **more: Any) -> None:
        """Log a refused compare-and-set with what was expected and what the job holds."""
        current = await self.get(job_id)
        if current is None:
            raise KeyError(f"no job {job_id!r} in the job store")
        wanted = "/".join(sorted(JobState(s).value for s in expected))  # a set's order varies by process
        if expect_prompt is not ANY:
            wanted += f" with prompt {expect_prompt}"
        for name, value in more.items():
            wanted += f", {name} {value}"
        log.warning("job %s: refused to %s: expected %s, found %s (prompt %s, intent %s)", job_id, what, wanted,
                    current.state.value, current.prompt_id, current.delivery_intent)

    async def get(self, job_id: str) -> Job | None:
        rows = await self._engine.rows("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return from_row(rows[0]) if rows else None

    async def unfinished(self) -> list[Job]:
        """Every job accepted, queued or running, oldest first: what restart recovery resumes."""
        marks = ", ".join("?" for _ in _UNFINISHED)
        sql = f"SELECT * FROM jobs WHERE state IN ({marks}) ORDER BY created_at, rowid"
        return [from_row(r) for r in await self._engine.rows(sql, _UNFINISHED)]

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
        return [from_row(r) for r in await self._engine.rows(sql, tuple(args))]

    async def prune(self, older_than_days: float) -> int:
        """Delete finished jobs not updated for ``older_than_days``; 0 or less keeps all.
        Returns how many were deleted. Unfinished jobs are never pruned."""
        if older_than_days <= 0:
            return 0
        cutoff = self._clock() - older_than_days * 86400
        marks = ", ".join("?" for _ in _FINAL)
        sql = f"DELETE FROM jobs WHERE state IN ({marks}) AND updated_at < ?"
        return await self._engine.change(sql, (*_FINAL, cutoff))

    async def execute(self, sql: str, args: tuple[Any, ...] = (), *, write: bool = False) -> list[Any]:
        """Run one statement on the store, for sibling tables its migrations create (e.g.
        :class:`discomfy.core.preferences.PreferenceStore`); a write is its own transaction.
        Written in SQLite's dialect with ``?`` placeholders on either engine (PostgreSQL
        translates it, see :mod:`discomfy.core.jobs.dialect`). Returns the rows read, each
        indexable by column name."""
        return await self._engine.execute(sql, tuple(args), write)

    async def schema_version(self) -> int:
        return await self._engine.schema_version()

    async def _cas_row(self, sql: str, args: tuple[Any, ...], job_id: str) -> Job | None:
        row = await self._engine.cas_row(sql, args, job_id)
        return None if row is None else from_row(row)


class SqliteEngine:
    """The SQLite file: one connection, in one thread (see the module docstring)."""

    def __init__(self, path: str, *, busy_timeout: float, pragmas: Mapping[str, int | str] | None) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self._pragmas = dict(pragmas or {})
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None

    @property
    def is_open(self) -> bool:
        return self._conn is not None and self._executor is not None

    async def open(self, migrations: Sequence[Migration], latest: int) -> None:
        """Open (creating the file and folders if needed), enable WAL, apply migrations."""
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="discomfy-jobstore")
        try:
            await self._call(lambda: self._open_in_thread(migrations, latest), need_open=False)
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

    async def rows(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        return await self._call(lambda c: c.execute(sql, args).fetchall())

    async def change(self, sql: str, args: tuple[Any, ...]) -> int:
        return await self._call(lambda c: self._write(c, lambda: c.execute(sql, args).rowcount))

    async def cas_row(self, sql: str, args: tuple[Any, ...], job_id: str) -> sqlite3.Row | None:
        """The guarded UPDATE and the read back of the row, in one IMMEDIATE transaction."""
        return await self._call(lambda c: self._write(c, lambda: run_cas(c, sql, args, job_id)))

    async def execute(self, sql: str, args: tuple[Any, ...], write: bool) -> list[sqlite3.Row]:
        def work(conn: sqlite3.Connection) -> list[sqlite3.Row]:
            if write:
                return self._write(conn, lambda: conn.execute(sql, args).fetchall())
            return conn.execute(sql, args).fetchall()

        return await self._call(work)

    async def insert_checked(self, check: tuple[str, tuple[Any, ...]], refusal: Callable[[Any], Exception | None],
                             insert: tuple[str, tuple[Any, ...]], lock: tuple[int, int]) -> None:
        """The check and the insert in one IMMEDIATE transaction (the file's write lock
        serialises them; ``lock`` is for PostgreSQL)."""
        def work(conn: sqlite3.Connection) -> None:
            refused = refusal(conn.execute(*check).fetchone())
            if refused is not None:
                raise refused
            conn.execute(*insert)

        await self._call(lambda c: self._write(c, lambda: work(c)))

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

    def _open_in_thread(self, migrations: Sequence[Migration], latest: int) -> None:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)  # ":memory:"'s parent is "."
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
                conn.execute(f"PRAGMA {name} = {pragma_value(value)}")
            self._migrate(conn, migrations, latest)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _close_in_thread(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _migrate(self, conn: sqlite3.Connection, migrations: Sequence[Migration], latest: int) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > latest:
            raise newer_schema(self.path, version, latest, "jobs.store_path")
        for migration in migrations:
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


__all__ = ["ANY", "JobStore", "JobStoreError", "SqliteEngine", "UPDATABLE_FIELDS"]
