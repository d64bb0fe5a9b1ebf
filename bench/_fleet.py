"""Several bot processes on one PostgreSQL store, for ``bench/soak.py --processes N``.

Each process is a :class:`BotProcess` (bench/_stack.py) in its own project folder, holding shard
``i`` of ``N`` (``discord.shard_ids``), all with ``jobs.store_url`` on one throwaway PostgreSQL
server (tests/core/postgres_server.py, as the tests use). There is one guild per shard and the
soak's users are spread over them, so every process accepts commands, while one schedules.
:meth:`Fleet.scheduler` asks PostgreSQL which process holds the scheduling lock
(``LEADER_SQL``), so the soak knows when it kills the scheduler.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' PostgreSQL server

from _stack import BotProcess  # noqa: E402

from discomfy.core.jobs.leadership_postgres import LEADER_SQL  # noqa: E402
from tests.core.postgres_server import PostgresServer  # noqa: E402


class Fleet:
    """``count`` bot processes; ``processes[i]`` connects shard ``i`` and serves ``guilds[i]``."""

    def __init__(self, emu: Any, fake: Any, root: Path, settings: dict[str, Any], count: int, store_url: str) -> None:
        self.store_url = store_url
        self.guilds = [emu.add_guild(f"soak guild on shard {i}", shard=(i, count)) for i in range(count)]
        self.processes = []
        for i in range(count):
            (root / f"process{i}").mkdir()
            self.processes.append(BotProcess(emu, fake, root / f"process{i}", {
                **settings, "jobs.store_url": store_url, "discord.shard_count": count, "discord.shard_ids": [i],
                "discord.dev_guild_id": 0}))  # global commands: offered in every guild
        self.up = [asyncio.Event() for _ in range(count)]  # set while process i takes commands

    async def start(self) -> None:
        """One after the other: the first started is elected to schedule."""
        for process, up in zip(self.processes, self.up):
            await process.start()
            up.set()

    async def scheduler(self) -> int | None:
        """The index of the process that schedules now, or None while none does."""
        import asyncpg

        conn = await asyncpg.connect(self.store_url)
        try:
            rows = await conn.fetch(LEADER_SQL)
        finally:
            await conn.close()
        pids = {int(row["application_name"].rsplit(" ", 1)[1]) for row in rows}
        return next((i for i, p in enumerate(self.processes) if p.proc and p.proc.pid in pids), None)

    def memory_kb(self) -> int:
        """RSS of every process together, in kB."""
        return sum(p.memory()["VmRSS"] for p in self.processes)

    async def stop(self) -> None:
        for process in self.processes:
            await process.stop()


@contextlib.asynccontextmanager
async def postgres_store() -> AsyncIterator[str]:
    """A fresh store on a throwaway PostgreSQL server, removed at the end; yields its URL."""
    server = await asyncio.to_thread(lambda: PostgresServer().start())
    try:
        yield await server.create_database()
    finally:
        await asyncio.to_thread(server.stop)
