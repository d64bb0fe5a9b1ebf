"""The job store's engines for the store tests: ``engine`` runs a test once on an SQLite file and
once in a fresh schema of a real PostgreSQL server, started once per test process
(``postgres_server``, tests/core/postgres_server.py) and thrown away at its end."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from discomfy.core.jobs.store import JobStore
from tests.core.postgres_server import postgres_server  # noqa: F401 - the session's server

ENGINES = ["sqlite", "postgresql"]


class StoreTarget:
    """Where a test's store lives, and a way around the store to look at it (as another
    process or an older DisComfy would): ``sql``, ``version``, ``columns``, ``lock_writes``."""

    def __init__(self, name: str, where: str) -> None:
        self.name, self.where = name, where
        self.sqlite = name == "sqlite"
        #: how a write refused for a lock held past busy_timeout is named in JobStoreError.detail
        self.busy_code = "SQLITE_BUSY" if self.sqlite else "LOCK_NOT_AVAILABLE"

    def store(self, **kwargs: Any) -> JobStore:
        return JobStore(self.where, **kwargs)

    async def sql(self, statement: str) -> list[Any]:
        """One statement on a connection of its own, outside any JobStore."""
        if self.sqlite:
            with sqlite3.connect(self.where) as conn:
                return conn.execute(statement).fetchall()
        import asyncpg

        conn = await asyncpg.connect(self.where)
        try:
            return await conn.fetch(statement)
        finally:
            await conn.close()

    async def version(self) -> int:
        if self.sqlite:
            return (await self.sql("PRAGMA user_version"))[0][0]
        return (await self.sql("SELECT version FROM discomfy_schema"))[0][0]

    async def set_version(self, version: int) -> None:
        if self.sqlite:
            await self.sql(f"PRAGMA user_version = {version}")
        else:
            await self.sql("CREATE TABLE discomfy_schema (version INTEGER NOT NULL)")
            await self.sql(f"INSERT INTO discomfy_schema VALUES ({version})")

    async def columns(self, table: str) -> list[str]:
        if self.sqlite:
            return [r[1] for r in await self.sql(f"PRAGMA table_info({table})")]
        return [r[0] for r in await self.sql(
            f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}' "
            "AND table_schema = current_schema()")]

    @asynccontextmanager
    async def lock_writes(self) -> AsyncIterator[None]:
        """Another process holds the write lock (readers still read) until the block ends."""
        if self.sqlite:
            blocker = sqlite3.connect(self.where, isolation_level=None)
            blocker.execute("BEGIN EXCLUSIVE")
            try:
                yield
            finally:
                blocker.execute("ROLLBACK")
                blocker.close()
            return
        import asyncpg

        conn = await asyncpg.connect(self.where)
        try:
            await conn.execute("BEGIN")
            await conn.execute("LOCK TABLE jobs IN EXCLUSIVE MODE")
            yield
            await conn.execute("ROLLBACK")
        finally:
            await conn.close()

    def refuse_updates(self, table: str) -> list[str]:
        """Statements (through ``store.execute``) after which every UPDATE of ``table`` fails
        with 'read only'."""
        if self.sqlite:
            return [f"CREATE TRIGGER no_writes BEFORE UPDATE ON {table} BEGIN SELECT RAISE(ABORT, 'read only'); END"]
        return ["CREATE FUNCTION no_writes() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'read only'; END $$",
                f"CREATE TRIGGER no_writes BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION no_writes()"]


@pytest.fixture(params=ENGINES)
async def engine(request, tmp_path) -> StoreTarget:
    """A test's store target: an SQLite file in ``tmp_path``, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        return StoreTarget("sqlite", str(tmp_path / "jobs" / "store.sqlite3"))
    server = request.getfixturevalue("postgres_server")
    return StoreTarget("postgresql", await server.create_database())
