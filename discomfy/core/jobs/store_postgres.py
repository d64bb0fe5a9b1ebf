"""The job store on a PostgreSQL server: ``jobs.store_url = "postgresql://user@host/db"``.

Why PostgreSQL: it is the one engine that lets several bot processes (and hosts) share the jobs,
their guarded transitions and the "which message carries this result" record in one
transactional store, which exactly-once delivery depends on; SQLite's file belongs to one
machine. It stays optional (``pip install 'discomfy[postgres]'``, which brings asyncpg): one
process needs nothing but SQLite.

Same API, same statements: :class:`~discomfy.core.jobs.store.JobStore` is the API on both, given
a ``postgresql://`` URL it runs on :class:`PostgresEngine` (:mod:`discomfy.core.jobs.engine`'s
primitives), so every check (the transition table, the delivery intent, the refusal log) is
the same code. Statements are written once in SQLite's dialect and translated
(:mod:`discomfy.core.jobs.dialect`). How the transitions map:

* a guarded write is one statement, ``UPDATE jobs SET ... WHERE id = $n AND state IN (...)
  [AND prompt_id IS NOT DISTINCT FROM $m] RETURNING *``: atomic on its own, and under READ
  COMMITTED a second writer waiting on the row lock re-checks the WHERE against the committed
  row, so of two racing transitions exactly one matches; ``RETURNING`` replaces SQLite's read
  back inside the same transaction;
* ``busy_timeout`` becomes the session's ``lock_timeout``: a row locked too long is an error
  quickly, as a locked SQLite file is;
* migrations are the same list (``postgres_ddl`` for the types), each in its own transaction
  under an advisory lock, so two processes starting together apply each one once; the version
  lives in the table ``discomfy_schema``.

Every driver or server failure becomes a ``JobStoreError`` naming the condition (for example
``UNIQUE_VIOLATION (23505)``), as SQLite's errors do.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from discomfy.core.jobs.dialect import postgres_ddl, to_postgres
from discomfy.core.jobs.engine import JobStoreError, newer_schema
from discomfy.core.jobs.migrations import Migration

#: ``pg_advisory_xact_lock`` key held while a migration runs ("discomfy" in ASCII)
MIGRATION_LOCK = 0x646973636F6D6679
POOL_SIZE = 8  # concurrent statements per process: jobs, preferences and probes at once


def is_postgres_url(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


def redacted(url: str) -> str:
    """The URL without its password, for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{netloc[-1]}"))


def condition(exc: BaseException) -> str:
    """``UniqueViolationError`` -> ``UNIQUE_VIOLATION (23505)``: the name PostgreSQL's manual uses."""
    name = re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__.removesuffix("Error")).upper()
    code = getattr(exc, "sqlstate", None)
    return f"{name} ({code})" if code else name


class PostgresEngine:
    """The job store's engine on a PostgreSQL database; see the module docstring."""

    def __init__(self, url: str, *, busy_timeout: float = 5.0, pool_size: int = POOL_SIZE) -> None:
        self.path = redacted(url)
        self.url = url
        self.busy_timeout = busy_timeout
        self.pool_size = pool_size
        self._pool: Any = None

    @property
    def is_open(self) -> bool:
        return self._pool is not None

    async def open(self, migrations: Sequence[Migration], latest: int) -> None:
        """Connect (a pool of up to ``pool_size`` connections) and apply missing migrations."""
        if self._pool is not None:
            return
        try:
            import asyncpg
        except ImportError as exc:
            raise JobStoreError(detail="jobs.store_url names a PostgreSQL server, which needs the postgres "
                                       "extra: pip install 'discomfy[postgres]'") from exc
        settings = {"lock_timeout": str(max(1, int(self.busy_timeout * 1000))), "application_name": "discomfy"}
        async with self._errors(need_open=False):
            pool = await asyncpg.create_pool(self.url, min_size=1, max_size=self.pool_size,
                                             server_settings=settings)
        try:
            async with self._errors(need_open=False):
                await self._migrate(pool, migrations, latest)
        except BaseException:
            await pool.close()
            raise
        self._pool = pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    # --- the engine primitives ----------------------------------------------------------

    async def rows(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        async with self._errors() as pool:
            return await pool.fetch(to_postgres(sql), *args)

    async def change(self, sql: str, args: tuple[Any, ...]) -> int:
        async with self._errors() as pool:
            status = await pool.execute(to_postgres(sql), *args)  # e.g. "DELETE 3", "INSERT 0 1"
        return int(status.rsplit(" ", 1)[-1]) if status[-1:].isdigit() else 0

    async def cas_row(self, sql: str, args: tuple[Any, ...], job_id: str) -> Any | None:
        """The guarded UPDATE and the row after it, in one statement (so one transaction)."""
        async with self._errors() as pool:
            return await pool.fetchrow(to_postgres(sql) + " RETURNING *", *args)

    async def execute(self, sql: str, args: tuple[Any, ...], write: bool) -> list[Any]:
        """SQLite's dialect, translated; one statement is one transaction here, write or not."""
        return await self.rows(sql, args)

    async def insert_checked(self, check: tuple[str, tuple[Any, ...]], refusal: Callable[[Any], Exception | None],
                             insert: tuple[str, tuple[Any, ...]], lock: tuple[int, int]) -> None:
        """Under READ COMMITTED each statement sees what committed before it began, so the
        check and the insert run after a transaction advisory lock (two 32-bit keys): the next
        admission under the same lock waits, then counts this one."""
        async with self._errors() as pool, pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", *lock)
            refused = refusal(await conn.fetchrow(to_postgres(check[0]), *check[1]))
            if refused is not None:
                raise refused
            await conn.execute(to_postgres(insert[0]), *insert[1])

    async def schema_version(self) -> int:
        rows = await self.rows("SELECT version FROM discomfy_schema", ())
        return int(rows[0]["version"])

    @asynccontextmanager
    async def _errors(self, *, need_open: bool = True) -> AsyncIterator[Any]:
        """Yield the pool; turn the driver's and the server's failures into ``JobStoreError``."""
        if need_open and self._pool is None:
            raise JobStoreError(detail=f"job store {self.path} used before open() or after close()")
        import asyncpg  # importable: open() checked
        try:
            yield self._pool
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            raise JobStoreError(detail=f"job store {self.path}: {condition(exc)}: {exc}") from exc

    # --- migrations ---------------------------------------------------------------------

    async def _migrate(self, pool: Any, migrations: Sequence[Migration], latest: int) -> None:
        async with pool.acquire() as conn:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
                await conn.execute("CREATE TABLE IF NOT EXISTS discomfy_schema (version INTEGER NOT NULL)")
                version = await conn.fetchval("SELECT version FROM discomfy_schema")
                if version is None:
                    await conn.execute("INSERT INTO discomfy_schema (version) VALUES (0)")
                    version = 0
            if version > latest:
                raise newer_schema(self.path, version, latest, "jobs.store_url")
            for migration in migrations:
                async with conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
                    if await conn.fetchval("SELECT version FROM discomfy_schema") >= migration.version:
                        continue  # applied before, or by another process that started with us
                    for statement in (*map(postgres_ddl, migration.statements), *migration.postgres_extra):
                        await conn.execute(statement)
                    await conn.execute("UPDATE discomfy_schema SET version = $1", migration.version)


__all__ = ["PostgresEngine", "is_postgres_url", "redacted"]
