"""Soak: 1,000 zero-compute /generate jobs through the emulator and the fake ComfyUI, faults on.

Users run in a closed loop (each starts a new job once the last one ended) while faults fire
on a schedule: the ComfyUI socket dropped every few seconds, ComfyUI restarted with its queue
lost now and then, Discord answering 429 on the routes the bot uses, and one gateway RECONNECT.
At the end every job is accounted for:

- completed: the user got the image;
- failed with a clear message: the user got a failure message (in the job's message, or an
  ephemeral refusal) -- the distinct texts are printed so their clarity can be judged;
- lost: the store still holds the job as accepted/queued/running, or the user never got either;
- duplicates: a job whose result was uploaded more than once.

With ``--kill-every N`` the bot process is also killed with SIGKILL about every N jobs started
(jittered, and a random fraction of a second later: at any
moment: mid-acknowledgement, mid-upload, mid-store-write) and started again on the same store;
users wait while it is down (Discord would not deliver their commands). Every interaction is
then judged by ``discomfy.testing.audit`` from what the emulator shows, with the store telling
which job an interaction created (a job killed before it answered shows up only as a channel
post): exactly one result or one clear failure, never two, never nothing.

With ``--term-every N`` the restarts are rolling restarts instead: SIGTERM, as a container stop
sends it, about every N jobs. The bot answers commands arriving meanwhile that it is restarting
(counted as refused), finishes the deliveries under way within ``ops.stop_grace``, exits 0 and
is started again; the jobs it left waiting or running are delivered by the next start. Goal
(issue 23): 0 lost, 0 delivered twice, every exit status 0.

With ``--processes N`` (issue 24) N bot processes share one PostgreSQL store (the test suite's
throwaway server), each holding one shard of the emulator with one guild, the users spread over
the guilds, so every process accepts commands while one schedules (``bench/_fleet.py``). The
SIGKILLs then hit a random process -- the scheduling one included -- and for each kill of the
scheduler the time from its death to the next job dispatched (the next ``POST /prompt`` the
fake ComfyUI receives, from the process elected after it) is reported; goal: <= 5 s. Users of the
killed process's guild wait while it is down; the others go on. ``--term-every`` with N
processes restarts them in turn, a rolling restart of all of them: goal 0 lost, 0 twice.

RSS of the bot process (its own interpreter, see ``bench/_stack.py``; with N processes, all of
them together) is read at start, after the warm-up jobs and at the end; goal (issue 7): growth
under 5 % after warm-up.

    .venv/bin/python bench/soak.py [--jobs 1000] [--users 25] [--running 1] [--kill-every 40 | --term-every 50]
                                   [--processes 3]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _stack import BotProcess, cpu_seconds, percentile, stage, stored_jobs, tally, wait_outcome  # noqa: E402

ROUTES_429 = ["PATCH /webhooks/*", "POST /interactions/*/callback", "POST /channels/*/messages", "PATCH /channels/*"]


def settings_for(args: argparse.Namespace) -> dict[str, Any]:
    from discomfy.config import get_config

    return {
        "comfyui.max_running_per_server": args.running,
        "progress.edit_interval": float(get_config(Path.cwd()).progress.edit_interval),  # shipped throttle
        "comfyui.job_deadline": args.deadline,  # a job ComfyUI forgot must still end, and soon
        "comfyui.health_interval": 1.0,
        "limits.per_user": args.jobs,  # the soak measures faults, not the rate limiter
        "limits.global_limit": 10 * args.jobs,
        "logging.level": "WARNING",
        "ops.stop_grace": args.stop_grace,
    }


class Soak:
    """The users, the faults and the restarts. ``bots[i]`` is process i (one, unless
    ``--processes``); ``guilds[i]`` the guild whose commands reach it (None: the emulator's own)."""

    def __init__(self, emu: Any, fake: Any, bots: list[BotProcess], args: argparse.Namespace,
                 guilds: list[Any] | None = None, scheduler: Any = None) -> None:
        self.emu, self.fake, self.bots, self.args = emu, fake, bots, args
        self.bot = bots[0]
        self.guilds = guilds or [None]
        self.scheduler = scheduler  # async () -> index of the scheduling process (several processes)
        self.started = 0
        self.ended = 0
        self.interactions: list[Any] = []
        self.outcomes: dict[str, tuple[str, str] | None] = {}  # interaction id -> outcome
        self.faults: Counter[str] = Counter()
        self.rss: dict[str, int] = {}
        self.timeline: list[tuple[int, int]] = []  # (jobs ended, RSS kB) every tenth of the run
        self.warmed = asyncio.Event()
        self.finished = asyncio.Event()
        self.up = [asyncio.Event() for _ in bots]  # process i takes commands
        for up in self.up:
            up.set()
        self.bot_up = self.up[0]
        self.kills = 0
        self.victims: Counter[str] = Counter()  # with several processes: "scheduler" / "follower"
        self.scheduler_deaths: list[float] = []  # perf_counter times the scheduling process was killed
        self.next_victim = 0
        self.exits: Counter[str] = Counter()  # SIGTERM variant: exit statuses ("killed" past the grace)
        self.every_jobs = args.term_every or args.kill_every
        self.kill_rng = random.Random("bot SIGKILL")
        self.next_kill = self._kill_gap()
        self.killing: asyncio.Task[None] | None = None

    def all_up(self) -> bool:
        return all(up.is_set() for up in self.up)

    def rss_kb(self) -> int:
        return sum(bot.memory()["VmRSS"] for bot in self.bots)

    async def user_loop(self, index: int) -> None:
        user = self.emu.make_user(f"soak{index}")
        home = index % len(self.bots)  # the process holding this user's guild
        channel = self.guilds[home].channel_id if self.guilds[home] is not None else None
        while self.started < self.args.jobs:
            await self.up[home].wait()
            self.started += 1
            if self.every_jobs and self.started >= self.next_kill and self.killing is None:
                self.next_kill = self.started + self._kill_gap()
                self.killing = asyncio.create_task(self.kill_bot())
            inter = await self.emu.invoke("generate", {"prompt": f"soak {self.started}"}, user=user, wait=False,
                                          channel_id=channel)
            self.interactions.append(inter)
            try:
                await inter.wait_response(10)
                outcome = await wait_outcome(self.emu, inter, self.args.deadline + 30)
            except AssertionError:  # never acknowledged: the user saw nothing
                outcome = None
            self.outcomes[inter.id] = outcome
            self.ended += 1
            if self.ended % max(1, self.args.jobs // 10) == 0 and self.all_up():
                self.timeline.append((self.ended, self.rss_kb()))
            if self.ended >= self.args.warmup and "after warm-up" not in self.rss and self.all_up():
                self.rss["after warm-up"] = self.rss_kb()  # the first moment every process is up
            if self.ended == self.args.warmup:
                self.warmed.set()
            if self.ended >= self.args.jobs:
                self.finished.set()

    async def every(self, seconds: float, name: str, action: Any) -> None:
        """Run ``action`` every ``seconds`` (jittered) until the soak ends."""
        rng = random.Random(name)
        while seconds > 0 and not self.finished.is_set():
            try:
                await asyncio.wait_for(self.finished.wait(), seconds * rng.uniform(0.7, 1.3))
                return
            except asyncio.TimeoutError:
                pass
            await action()
            self.faults[name] += 1

    async def drop_socket(self) -> None:
        await self.fake.drop_sockets()

    async def restart_comfyui(self) -> None:
        await self.fake.restart(lose_queue=True)

    async def discord_429(self) -> None:
        route = random.Random(self.faults["Discord 429 injected"]).choice(ROUTES_429)
        self.emu.inject_429(route, retry_after=0.3, times=2)

    async def reconnect_once(self) -> None:
        if len(self.bots) > 1:
            return  # op 7 goes to one session; the sharded soak's faults are the process kills
        await self.warmed.wait()
        await asyncio.sleep(2.0)
        await self.bot_up.wait()
        if not self.finished.is_set():
            await self.emu.request_reconnect(timeout=15)
            self.faults["gateway RECONNECT (op 7)"] += 1

    def _kill_gap(self) -> float:
        return max(1.0, self.every_jobs * self.kill_rng.uniform(0.7, 1.3))

    async def kill_bot(self) -> None:
        """SIGKILL the bot wherever it is (a random moment up to half a second after the job
        that triggered it started), or with ``--term-every`` SIGTERM it and let it stop (users
        go on sending commands meanwhile: it answers them that it restarts); then start it
        again on the same store. With several processes the victim is a random one for
        SIGKILL, the next in turn for SIGTERM (a rolling restart)."""
        if self.args.term_every:
            victim, self.next_victim = self.next_victim, (self.next_victim + 1) % len(self.bots)
        else:
            victim = self.kill_rng.randrange(len(self.bots))
        bot, up = self.bots[victim], self.up[victim]
        try:
            await asyncio.sleep(self.kill_rng.uniform(0.0, 0.5))
            leading = await self.scheduler() == victim if self.scheduler is not None else False
            if self.args.term_every:
                status = await bot.stop(timeout=self.args.stop_grace + 15)
                up.clear()
                self.exits["killed" if status is None else str(status)] += 1
                self.faults["bot SIGTERMed and restarted"] += 1
            else:
                up.clear()
                await bot.kill()
                self.faults["bot SIGKILLed and restarted"] += 1
            if leading:
                self.scheduler_deaths.append(time.perf_counter())
            if self.scheduler is not None:
                self.victims["scheduler" if leading else "follower"] += 1
            self.kills += 1
            await bot.start()
        finally:
            up.set()
            self.killing = None

    async def run(self) -> float:
        self.rss["start"] = self.rss_kb()
        began = time.perf_counter()
        faults = [
            asyncio.create_task(self.every(self.args.drop_every, "ComfyUI socket dropped", self.drop_socket)),
            asyncio.create_task(self.every(self.args.restart_every, "ComfyUI restarted, queue lost", self.restart_comfyui)),
            asyncio.create_task(self.every(self.args.throttle_every, "Discord 429 injected", self.discord_429)),
            asyncio.create_task(self.reconnect_once()),
        ]
        users = [asyncio.create_task(self.user_loop(i)) for i in range(self.args.users)]
        await asyncio.gather(*users)
        self.finished.set()
        await asyncio.gather(*faults)
        if self.killing is not None:
            await self.killing
        self.fake.clear_faults()
        for up in self.up:
            await up.wait()
        self.rss["end"] = self.rss_kb()
        return time.perf_counter() - began

    def takeovers(self, stamps: Any) -> list[float]:
        """Seconds from each death of the scheduling process to the next job dispatched (the
        next POST /prompt, which only the process elected after it can send)."""
        posts = sorted(t for t, method, path in stamps.comfy_log if method == "POST" and path == "/prompt")
        return [next((t for t in posts if t > death), float("inf")) - death for death in self.scheduler_deaths]


def deliveries_per_job(emu: Any) -> Counter[str]:
    """Successful uploads of a result, by the job id in the embed footer ("Job <id>")."""
    from discomfy.testing.audit import uploads_by_job

    return uploads_by_job(emu)


async def main_async(args: argparse.Namespace) -> None:
    if args.processes > 1:
        from _fleet import postgres_store

        async with postgres_store() as store_url:
            await soak_once(args, store_url)
    else:
        await soak_once(args, None)


async def soak_once(args: argparse.Namespace, store_url: str | None) -> None:
    settings = settings_for(args)
    async with stage(settings, keep=args.keep) as (emu, fake, stamps, root):
        if store_url is None:
            fleet = None
            bots, guilds, where = [BotProcess(emu, fake, root, settings)], None, None
        else:
            from _fleet import Fleet

            fleet = Fleet(emu, fake, root, settings, args.processes, store_url)
            bots, guilds, where = fleet.processes, fleet.guilds, store_url
        bot = bots[0]
        try:
            for one in bots:  # one after the other: the first started schedules
                await one.start()
            soak = Soak(emu, fake, bots, args, guilds, fleet.scheduler if fleet is not None else None)
            cpu_before = cpu_seconds(bot.proc.pid)
            wall = await soak.run()
            bot_cpu = cpu_seconds(bot.proc.pid) - cpu_before
            users = [u.id for u in emu.users.values() if u.name.startswith("soak")]
            where = where or bot.store_path
            jobs, unfinished = await stored_jobs(where, users, per_user=args.jobs)
            settle_until = time.perf_counter() + args.deadline + 60
            while unfinished and time.perf_counter() < settle_until:  # recovery ends the last jobs
                await asyncio.sleep(0.5)
                jobs, unfinished = await stored_jobs(where, users, per_user=args.jobs)
        finally:
            for one in bots:
                await one.stop()
        verdicts = judge_all(emu, soak.interactions, jobs)
        report(args, soak, jobs, unfinished, deliveries_per_job(emu), emu, wall, bot_cpu, bot, verdicts)
        if fleet is not None:
            report_fleet(args, soak, stamps)


def judge_all(emu: Any, interactions: list[Any], jobs: list[Any]) -> list[Any]:
    """Every interaction judged from what the emulator shows (see discomfy.testing.audit)."""
    from discomfy.testing.audit import judge_interaction

    by_token: dict[str, set[str]] = {}
    for job in jobs:
        by_token.setdefault(job.interaction_token, set()).add(job.id)
    return [judge_interaction(emu, inter, by_token.get(inter.token, set())) for inter in interactions]


def report(args, soak, jobs, unfinished, deliveries, emu, wall, bot_cpu, bot, verdicts) -> None:
    """Every figure from the judged interactions (discomfy.testing.audit), so the soak and the
    tests count "lost" and "duplicate" by the same rules."""
    judged = Counter(v.outcome for v in verdicts)
    failures = [v.detail for v in verdicts if v.outcome in ("failure+retry", "failure", "refused")]
    unclear = [v.detail for v in verdicts if v.outcome == "unexplained"]
    lost = [v for v in verdicts if v.outcome in ("lost", "conflicting")]
    duplicates = {job: n for job, n in deliveries.items() if n > 1}
    print(f"\n=== soak: {len(soak.interactions)} /generate jobs, {args.users} users in a closed loop, "
          + (f"{args.processes} processes on one PostgreSQL store, " if args.processes > 1 else "")
          + f"comfyui.max_running_per_server = {args.running}, {wall:.1f} s wall, "
          + (f"bot CPU {bot_cpu:.1f} s" if not soak.kills else "bot CPU n/a (the bot was restarted)") + " ===")
    print(f"faults injected: {dict(soak.faults)}")
    print(f"completed (image delivered):         {judged['result']}")
    print(f"failed with a clear message:         {len(failures)}  ({judged['failure+retry']} with Retry, "
          f"{judged['failure']} without, {judged['refused']} refused ephemerally)")
    if failures:
        print(f"  messages: {tally(failures, 6)}")
    print(f"failed with an unclear message:      {len(unclear)}" + (f"  ({tally(unclear, 3)})" if unclear else ""))
    print(f"not accepted (bot killed before it stored the job; Discord shows 'did not respond'): "
          f"{judged['not accepted']}")
    print(f"LOST: user got nothing final:        {len(lost)}"
          + (f"  {[(v.outcome, v.detail[:80]) for v in lost[:3]]}" if lost else ""))
    print(f"lost: store still accepted/queued/running: {len(unfinished)}"
          + (f"  ({tally([j.state.value for j in unfinished])})" if unfinished else ""))
    print(f"DUPLICATES (result in two messages): {len(duplicates) + judged['duplicate']}"
          + (f"  {duplicates}" if duplicates else "")
          + f"  ({sum(deliveries.values())} result messages for {len(deliveries)} jobs)")
    if args.term_every:
        print(f"bot SIGTERMed and restarted:         {soak.kills}  (exit statuses: {dict(soak.exits)})")
    else:
        print(f"bot SIGKILLed and restarted:         {soak.kills}")
    print(f"store: {len(jobs)} jobs, states {dict(Counter(j.state.value for j in jobs))}")
    print(f"Discord: {len(emu.requests)} requests, {sum(1 for r in emu.requests if r.status == 429)} answered 429, "
          f"violations {len(emu.violations)}, unhandled {len(emu.unhandled)}")
    rss = soak.rss
    warm, end = rss.get("after warm-up"), rss["end"]
    growth = f"{100 * (end - warm) / warm:+.1f}% after warm-up" if warm else "n/a (warm-up never finished)"
    goal = "meets goal (< 5%)" if warm and (end - warm) / warm < 0.05 else "MISSES goal (< 5%)"
    print(f"bot RSS: start {rss['start'] / 1024:.1f} MB, after {args.warmup} warm-up jobs "
          f"{(warm or 0) / 1024:.1f} MB, end {end / 1024:.1f} MB -> {growth} {goal}")
    print("  RSS by jobs ended: " + ", ".join(f"{n}: {kb / 1024:.1f}" for n, kb in soak.timeline) + " MB")
    if emu.violations:
        print(f"  first violations: {[str(v) for v in emu.violations[:3]]}")
    print(f"bot log: {bot.log_path}" + ("" if args.keep else " (removed; keep it with --keep)"))


def report_fleet(args: argparse.Namespace, soak: Soak, stamps: Any) -> None:
    """Several processes: who was killed, and how long the fleet went without a scheduler."""
    verb = "stopped by SIGTERM" if args.term_every else "killed"
    print(f"processes {verb}: {dict(soak.victims)} (of {args.processes}; the first started schedules)")
    took = soak.takeovers(stamps)
    if took:
        worst = max(took)
        goal = "meets goal (<= 5 s)" if worst <= 5.0 else "MISSES goal (<= 5 s)"
        print(f"scheduler's death -> next job dispatched: p50 {percentile(took, 50):.2f} s, max {worst:.2f} s "
              f"over {len(took)} deaths -> {goal}")
        print("  each: " + ", ".join(f"{t:.2f}" for t in took) + " s")
    else:
        print("scheduler's death -> next job dispatched: the scheduler was never killed in this run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--users", type=int, default=25, help="users running jobs at the same time")
    parser.add_argument("--warmup", type=int, default=None, help="jobs before the warm-up RSS reading (default: 10%%)")
    parser.add_argument("--running", type=int, default=1, help="comfyui.max_running_per_server (shipped default: 1)")
    parser.add_argument("--deadline", type=float, default=20.0, help="comfyui.job_deadline for the soak, seconds")
    parser.add_argument("--drop-every", type=float, default=3.0, help="seconds between socket drops")
    parser.add_argument("--restart-every", type=float, default=15.0, help="seconds between ComfyUI restarts")
    parser.add_argument("--throttle-every", type=float, default=2.0, help="seconds between injected Discord 429s")
    parser.add_argument("--kill-every", type=int, default=0,
                        help="jobs started between SIGKILLs of the bot process, about (0: never)")
    parser.add_argument("--term-every", type=int, default=0,
                        help="jobs started between rolling restarts by SIGTERM, about (0: never)")
    parser.add_argument("--stop-grace", type=float, default=5.0, help="ops.stop_grace for the SIGTERM restarts, seconds")
    parser.add_argument("--processes", type=int, default=1,
                        help="bot processes sharing one PostgreSQL store, one shard each (1: one process, SQLite)")
    parser.add_argument("--keep", action="store_true", help="keep the project folder (bot log, job store)")
    args = parser.parse_args()
    if args.kill_every and args.term_every:
        parser.error("--kill-every and --term-every are two soaks: choose one")
    args.warmup = args.warmup or max(1, args.jobs // 10)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
