"""Issue 24 point 6: one bot process holding three shards versus three processes holding one each.

3,000 ``/generate`` interactions (``--interactions``) are sent by ``--in-flight`` members at a
time, each sending its next command once the last was acknowledged (a closed loop: the rate is
what the bots sustain), spread round-robin over ``--guilds`` guilds placed on three shards and
over ``--users`` users,
against the sharded Discord emulator and the zero-compute fake ComfyUI in this process
(``_stack.stage``). The bots are child processes started as ``discomfy run`` starts them
(``run_bot``), with ``discord.shard_count = 3`` and their ``discord.shard_ids``, all on one
PostgreSQL store: the test suite's throwaway server (tests/core/postgres_server.py, fsync off),
a fresh schema per layout. Each layout gets a fresh emulator and fake.

Printed per layout:

- acknowledgement p50 / p99 / max: ``INTERACTION_CREATE`` leaving the emulator's gateway to the
  interaction callback answered (what Discord holds to 3 s), and how many took longer;
- 429s Discord answered, and the busiest second of requests under the bot token (Discord's
  global limit is 50/s per bot, shared by all its processes; interaction callbacks and webhooks
  are exempt, so they are not counted);
- jobs per second accepted: interactions both acknowledged and stored as a job, over the time
  from the first interaction to the last acceptance;
- PostgreSQL round trips per job: every statement the bots' asyncpg connections sent (counted in
  each child at ``Connection.execute`` / ``Connection._execute``, the one place statements leave
  the driver), split into the store's statements, transaction BEGIN/COMMIT, and the pool's
  reset query asyncpg sends each time a connection goes back to the pool (``--skip-pool-reset``:
  the same run with pools that skip it, to size what the store would save);
- jobs delivered (the result posted) within ``--settle`` seconds after the last interaction,
  and the CPU seconds each bot process used.

    .venv/bin/python bench/shards.py                    # 3,000 interactions per layout, a few minutes
    .venv/bin/python bench/shards.py --interactions 600 --in-flight 48 --only three
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _stack import child_config, cpu_seconds, install_models, percentile, stage  # noqa: E402

SHARDS = 3
# name -> each process's shard_ids (None: unsharded, on today's default SQLite store)
LAYOUTS: dict[str, list[list[int] | None]] = {
    "before: one unsharded process, SQLite": [None],
    "one process, shards [0, 1, 2], PostgreSQL": [[0, 1, 2]],
    "three processes, [0] [1] [2], PostgreSQL": [[0], [1], [2]]}
DISCORD_GLOBAL_LIMIT = 50  # requests per second per bot token, all processes together
ACK_DEADLINE = 3.0


def settings_for(store_url: str | None, shard_ids: list[int] | None, *, queue: bool = False) -> dict[str, Any]:
    sharding = {} if shard_ids is None else {"discord.shard_count": SHARDS, "discord.shard_ids": shard_ids}
    # unless ``queue``, ComfyUI is handed every job at once (the fake runs them in no time), so the
    # bot's own queue stays short: a backlog of N waiting jobs costs N queue-position edits every
    # edit_interval, which would measure the backlog, not acceptance
    handed_over = {} if queue else {"comfyui.max_running_per_server": 1000}
    return {**sharding, **handed_over, **({"jobs.store_url": store_url} if store_url else {}),
            "discord.dev_guild_id": 0,  # global commands: offered in every guild
            # the load is many users at once: no user or global cap may refuse a job
            "limits.per_user": 1000, "limits.global_limit": 1000000, "limits.max_queued_per_user": 1000,
            "progress.edit_interval": 2.5}


class ShardProcess:
    """One ``discomfy run`` child on ``shard_ids``; its statement counts land in ``counts_path``."""

    def __init__(self, emu: Any, fake: Any, root: Path, store_url: str | None, shard_ids: list[int] | None, *,
                 skip_pool_reset: bool = False, queue: bool = False) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.counts_path = root / "round_trips.json"
        self.log_path = root / "bot.log"
        self.spec = {"root": str(root), "token": emu.token, "api_base": emu.api_base,
                     "gateway_url": emu.gateway_url, "guild_id": emu.guild_id, "comfyui_url": fake.url,
                     "settings": settings_for(store_url, shard_ids, queue=queue), "counts_path": str(self.counts_path),
                     "skip_pool_reset": skip_pool_reset}
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--child", json.dumps(self.spec), stdout=log, stderr=log)

    def cpu(self) -> float:
        assert self.proc is not None
        return cpu_seconds(self.proc.pid)

    async def stop(self) -> dict[str, int]:
        """SIGTERM (a graceful stop, as a deploy does); the child writes its counts as it exits."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 60)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if not self.counts_path.exists():
            raise RuntimeError(f"bot on {self.spec['settings']['discord.shard_ids']} wrote no counts; "
                               f"its log: {self.log_path}")
        return json.loads(self.counts_path.read_text())


# --- the child ---------------------------------------------------------------------------------

def kind_of(query: str) -> str:
    text = " ".join(query.split()).upper()
    if text.startswith("SELECT PG_ADVISORY_UNLOCK_ALL"):
        return "pool reset"
    if text.split(" ", 1)[0] in {"BEGIN", "BEGIN;", "COMMIT", "COMMIT;", "ROLLBACK", "ROLLBACK;"}:
        return "transaction"
    return "statement"


def count_round_trips(counts: collections.Counter) -> None:
    """Count every statement asyncpg sends: ``execute`` without arguments goes out as a simple
    query; everything else (fetch, fetchrow, execute with arguments) through ``_execute``."""
    from asyncpg.connection import Connection

    execute, private_execute = Connection.execute, Connection._execute

    async def counted_execute(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        if not args:
            counts[kind_of(query)] += 1
        return await execute(self, query, *args, **kwargs)

    async def counted_private_execute(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        counts[kind_of(query)] += 1
        return await private_execute(self, query, *args, **kwargs)

    Connection.execute = counted_execute  # type: ignore[method-assign]
    Connection._execute = counted_private_execute  # type: ignore[method-assign]


def skip_pool_reset() -> None:
    """What if: pools whose connections go back without asyncpg's reset query (the store keeps no
    session state on a pooled connection: its locks are transaction-scoped)."""
    import asyncpg

    create_pool = asyncpg.create_pool

    async def no_reset(connection: Any) -> None:
        return None

    def without_reset(*args: Any, **kwargs: Any) -> Any:
        return create_pool(*args, reset=no_reset, **kwargs)

    asyncpg.create_pool = without_reset


async def child_main(spec: dict[str, Any]) -> int:
    import logging

    from discomfy.bot.runner import run_bot
    from discomfy.config import override

    logging.basicConfig(level=os.environ.get("BENCH_LOG_LEVEL", "WARNING"), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    counts: collections.Counter = collections.Counter()
    count_round_trips(counts)
    if spec.get("skip_pool_reset"):
        skip_pool_reset()
    config = child_config(spec)
    override(config, "ops.port", 0)  # three bots on one machine
    try:
        return await run_bot(config)
    finally:
        Path(spec["counts_path"]).write_text(json.dumps(counts))


# --- the parent --------------------------------------------------------------------------------

async def wait_until(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def stored_jobs(store: str) -> list[Any]:
    """Every job's token, creation time and state, from the PostgreSQL URL or the SQLite file."""
    from discomfy.core.jobs.store import JobStore

    async with JobStore(store) as store:
        return await store.execute("SELECT interaction_token, created_at, state FROM jobs")


async def run_layout(name: str, layout: list[list[int] | None], server: Any,
                     args: argparse.Namespace) -> dict[str, Any]:
    async with stage({}, keep=args.keep) as (emu, fake, stamps, root):
        if args.keep:
            print(f"{name}: logs in {root}")
        guilds = [emu.add_guild(f"guild {i}", shard=(i % SHARDS, SHARDS)) for i in range(args.guilds)]
        users = [emu.make_user(f"user{i}") for i in range(args.users)]
        store_url = None if layout == [None] else await server.create_database()
        bots = [ShardProcess(emu, fake, root / f"bot{i}", store_url, ids, skip_pool_reset=args.skip_pool_reset,
                             queue=args.queue) for i, ids in enumerate(layout)]
        await install_models(fake, bots[0].spec)
        for bot in bots:
            await bot.start()
        await emu.gateway.wait_for_shards([None] if layout == [None] else [(s, SHARDS) for s in range(SHARDS)], 120)
        # the bots sync the same global commands; wait until the emulator holds /generate
        await wait_until(lambda: any(c["name"] == "generate" for c in emu.commands), 60)
        by_second: collections.Counter = collections.Counter()
        emu.observe_requests(lambda rec: by_second.update([int(time.monotonic())])
                             if "Authorization" in rec.headers else None)
        cpu_before = [bot.cpu() for bot in bots]
        offset = time.time() - time.perf_counter()
        tokens: list[str] = []
        numbers = iter(range(args.interactions))

        async def member() -> None:
            """One of ``--in-flight`` members: the next command once the last one was answered."""
            for i in numbers:
                guild, user = guilds[i % len(guilds)], users[i % len(users)]
                inter = await emu.invoke("generate", {"prompt": f"a lighthouse, take {i}"}, user=user,
                                         channel_id=guild.channel_id, wait=False)
                tokens.append(inter.token)
                with contextlib.suppress(AssertionError):  # unanswered: counted below, not fatal
                    await inter.wait_response(10)

        start = time.perf_counter()
        await asyncio.gather(*(member() for _ in range(args.in_flight)))
        sent = time.perf_counter()
        await wait_until(lambda: all(t in stamps.acked for t in tokens), 60)
        await wait_until(lambda: sum(1 for m in emu.messages.values() if m.attachments) >= len(tokens), args.settle)
        delivered = sum(1 for m in emu.messages.values() if m.attachments)
        jobs = await stored_jobs(store_url or str(bots[0].root / "jobs.sqlite3"))
        stored_tokens = {row["interaction_token"] for row in jobs}
        refusals = collections.Counter(what_was_seen(emu.interactions_by_token[t]) for t in tokens
                                       if t not in stored_tokens)
        cpu = [bot.cpu() - before for bot, before in zip(bots, cpu_before)]
        counts = collections.Counter()
        for bot in bots:
            counts.update(await bot.stop())
    acks = [stamps.acked[t] - stamps.interaction[t] for t in tokens if t in stamps.acked]
    stored = {row["interaction_token"]: float(row["created_at"]) for row in jobs}
    accepted_at = [max(stamps.acked[t] + offset, stored[t]) for t in tokens if t in stamps.acked and t in stored]
    first = stamps.interaction[tokens[0]] + offset
    return {
        "name": name, "interactions": len(tokens), "send_seconds": sent - start,
        "acked": len(acks), "ack_p50": percentile(acks, 50), "ack_p99": percentile(acks, 99), "ack_max": max(acks),
        "late": sum(1 for a in acks if a > ACK_DEADLINE), "violations": len(emu.violations),
        "status_429": sum(1 for entry in stamps.discord_log if entry[3] == 429),
        "routes": collections.Counter(f"{entry[1]} {entry[2]}" for entry in stamps.discord_log),
        "busiest_second": max(by_second.values(), default=0),
        "accepted": len(accepted_at), "accepted_per_s": len(accepted_at) / (max(accepted_at) - first),
        "stored": len(stored), "delivered": delivered, "refusals": refusals, "round_trips": dict(counts), "cpu": cpu,
    }


def what_was_seen(inter: Any) -> str:
    """The first words the member saw in answer to an interaction that made no job."""
    message = inter.original_message
    if message is None:
        return f"no message (callback {inter.response_type})"
    text = message.content or next((e.get("description") or e.get("title") or "" for e in message.embeds), "")
    return " ".join(text.split()[:12]) or "(empty)"


def show(figures: dict[str, Any]) -> None:
    jobs = max(1, figures["stored"])
    trips = figures["round_trips"]
    total = sum(trips.values())
    print(f"\n== {figures['name']}: {figures['interactions']} interactions acknowledged or given up "
          f"within {figures['send_seconds']:.1f} s")
    print(f"acknowledgement   p50 {figures['ack_p50'] * 1000:7.1f} ms   p99 {figures['ack_p99'] * 1000:7.1f} ms   "
          f"max {figures['ack_max'] * 1000:7.1f} ms   over 3 s: {figures['late']}   "
          f"acknowledged {figures['acked']}/{figures['interactions']}   emulator violations: {figures['violations']}")
    print(f"Discord 429s      {figures['status_429']}   busiest second under the bot token: "
          f"{figures['busiest_second']} requests (global limit {DISCORD_GLOBAL_LIMIT}/s)")
    print("Discord requests  " + ", ".join(f"{route} {count / figures['interactions']:.1f}"
                                           for route, count in figures["routes"].most_common(5)) + " per interaction")
    print(f"accepted          {figures['accepted']} (acknowledged and stored)   {figures['accepted_per_s']:.1f} jobs/s")
    for seen, count in figures["refusals"].most_common(5):
        print(f"  no job for {count}: {seen}")
    if total:
        print(f"PostgreSQL        {total / jobs:.1f} round trips per job: " + ", ".join(
            f"{kind} {count / jobs:.1f}" for kind, count in sorted(trips.items())))
    print(f"delivered         {figures['delivered']}/{figures['interactions']}   bot CPU seconds: "
          + " + ".join(f"{c:.1f}" for c in figures["cpu"]) + f" = {sum(figures['cpu']):.1f}")


async def main() -> None:
    from tests.core.postgres_server import PostgresServer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=3000)
    parser.add_argument("--in-flight", type=int, default=24,
                        help="interactions awaiting their acknowledgement at any time (members typing at once)")
    parser.add_argument("--guilds", type=int, default=6, help="guilds, spread evenly over the 3 shards")
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--settle", type=float, default=60.0, help="seconds to wait for deliveries")
    parser.add_argument("--only", choices=["before", "one", "three"], help="run one layout only")
    parser.add_argument("--keep", action="store_true", help="keep the bots' folders (logs, counts)")
    parser.add_argument("--queue", action="store_true",
                        help="keep the shipped max_running_per_server (1): jobs wait in the bot's queue")
    parser.add_argument("--skip-pool-reset", action="store_true",
                        help="what if the store's pool skipped asyncpg's reset query on every release")
    args = parser.parse_args()
    print(f"load average before: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    server = PostgresServer().start()
    try:
        for name, layout in LAYOUTS.items():
            if args.only is None or name.startswith(args.only):
                show(await run_layout(name, layout, server, args))
                print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        server.stop()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        status = 0
        try:
            status = asyncio.run(child_main(json.loads(sys.argv[2])))
        except KeyboardInterrupt:
            pass
        os._exit(status)
    asyncio.run(main())
