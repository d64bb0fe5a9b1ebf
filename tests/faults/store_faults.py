"""A job store that cannot write, made so on each engine the way a real one gets there.

``StoreFaults`` is what test_store_faults.py does to the store, so its scenarios run unchanged
on SQLite and on PostgreSQL:

* **disk full.** SQLite: the file is filled with finished jobs until a store capped at its
  size (``max_page_count``) refuses, and the bot opens it with that cap. PostgreSQL: the
  server answers every new row with the error a full disk gives (SQLSTATE 53100,
  ``disk_full``, "could not extend file"), raised by the server itself from a trigger;
  freeing space drops the trigger.
* **locked by another process** (a backup tool, a second bot): SQLite: another connection
  holds the write lock (``BEGIN IMMEDIATE``). PostgreSQL: another session holds ``LOCK TABLE
  jobs IN EXCLUSIVE MODE``, which blocks writes and lets reads through.
* **intact.** SQLite's ``PRAGMA integrity_check``; PostgreSQL keeps its own tables consistent
  whatever a client does, so there a full read of the jobs table must answer.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from discomfy.core.jobs.job import Job
from discomfy.core.jobs.store import JobStore, JobStoreError

FILLER_USER = 1
DISK_FULL = """
CREATE FUNCTION discomfy_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full';
END $$;
CREATE TRIGGER discomfy_disk_full BEFORE INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION discomfy_disk_full();
"""
FREE_DISK = "DROP TRIGGER discomfy_disk_full ON jobs; DROP FUNCTION discomfy_disk_full();"


def old_job(words: int = 1) -> Job:
    return Job(user_id=FILLER_USER, plugin="old", state="delivered", parameters={"prompt": "an old job " * words})


class StoreFaults:
    """Faults of the store at ``config`` (SQLite or PostgreSQL, as its settings say)."""

    def __init__(self, config: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.config = config
        self.monkeypatch = monkeypatch
        self.store = JobStore.from_config(config)
        self.postgres = self.store.engine == "postgresql"
        self._lock: Any = None

    # --- disk full --------------------------------------------------------------------------

    async def fill_disk(self) -> None:
        """Old finished jobs first; then no new row fits, for the bot and for anyone."""
        if self.postgres:
            async with JobStore.from_config(self.config) as store:
                for _ in range(3):
                    await store.add(old_job())
            await self._session(DISK_FULL)
            return
        pages = await self._fill_sqlite_file()

        class FullDisk(JobStore):
            @classmethod
            def from_config(cls, config: Any, **kwargs: Any) -> JobStore:
                return super().from_config(config, pragmas={"max_page_count": pages}, **kwargs)

        self.monkeypatch.setattr("discomfy.bot.job_runner.JobStore", FullDisk)

    async def free_disk(self) -> None:
        if self.postgres:
            await self._session(FREE_DISK)
        else:
            self.monkeypatch.undo()

    async def _fill_sqlite_file(self) -> int:
        """Write finished jobs until a store capped at its current size refuses; return the cap."""
        async with JobStore.from_config(self.config):
            pass  # creates the file with its schema
        with sqlite3.connect(self.store.path) as conn:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
        rows = 0
        async with JobStore.from_config(self.config, pragmas={"max_page_count": pages}) as capped:
            for words in (40, 8, 1, 0):  # big rows first, then ever smaller ones into the gaps
                with pytest.raises(JobStoreError):
                    while True:
                        await capped.add(old_job(words))
                        rows += 1
        assert rows >= 1, "the cap must leave room for some rows, so the file is really full afterwards"
        return pages

    # --- another process's lock -------------------------------------------------------------

    async def _connect(self) -> Any:
        """A session of another process on the store's database (and its schema)."""
        import asyncpg  # the postgres extra: only where a PostgreSQL store is under test

        return await asyncpg.connect(str(self.config.jobs.store_url))

    async def _session(self, sql: str) -> None:
        conn = await self._connect()
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def lock(self) -> None:
        if self.postgres:
            self._lock = await self._connect()
            await self._lock.execute("BEGIN; LOCK TABLE jobs IN EXCLUSIVE MODE")
        else:
            self._lock = sqlite3.connect(self.store.path, isolation_level=None)
            self._lock.execute("BEGIN IMMEDIATE")

    async def unlock(self) -> None:
        lock, self._lock = self._lock, None
        if self.postgres:
            await lock.execute("ROLLBACK")
            await lock.close()
        else:
            lock.execute("ROLLBACK")
            lock.close()

    # --- afterwards ---------------------------------------------------------------------------

    async def intact(self) -> str:
        """"ok" when the store's data is whole."""
        if self.postgres:
            async with JobStore.from_config(self.config) as store:
                await store.execute("SELECT * FROM jobs")
            return "ok"
        with sqlite3.connect(self.store.path) as conn:
            return conn.execute("PRAGMA integrity_check").fetchone()[0]


__all__ = ["FILLER_USER", "StoreFaults"]
