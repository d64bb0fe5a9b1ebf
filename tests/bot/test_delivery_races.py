"""A Cancel, a failover and the job's own completion reaching delivery at the same moment.

The delivery protocol (``discomfy.bot.delivery_protocol``) awaits four effects per path: it
reads the job, claims the delivery intent, sends, and writes the end. ``Interleaver`` holds
every path at each of those awaits and lets exactly one go at a time, in an order it chooses;
``every_interleaving`` replays the race once per distinct order (a depth-first walk over the
choices, each run recording which paths were waiting at every step), on the real job store.
Whatever the order: exactly one message is sent, exactly one path ends the job, and the job's
final state is the one that message shows.

Sending is replaced by a record of what would be sent (the Discord side of a send is tested
end to end elsewhere); everything else is the protocol's own code.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Any
from types import SimpleNamespace

import discord
import pytest

from discomfy.bot import delivery_protocol
from discomfy.bot.delivery import failure_outcome
from discomfy.bot.delivery_protocol import Outcome, deliver
from discomfy.core.jobs.job import Job, JobState
from discomfy.core.jobs.store import JobStore

path_name: contextvars.ContextVar[str] = contextvars.ContextVar("race_path")
NOW = 1_700_000_000.0


class Interleaver:
    """Runs several coroutines one gated effect at a time. ``prefix`` fixes the first choices;
    after it the first waiting path (by name) goes. ``trace`` records, per step, which paths
    were waiting and which one went, so the caller can try every other choice."""

    def __init__(self, prefix: list[str]) -> None:
        self.prefix = prefix
        self.trace: list[tuple[tuple[str, ...], str]] = []
        self.steps: list[str] = []  # "path: effect", in the order they happened
        self.waiting: dict[str, tuple[asyncio.Future[None], str]] = {}
        self.changed = asyncio.Event()

    async def gate(self, effect: str) -> None:
        """Wait here until chosen; called by a path right before ``effect`` happens."""
        turn = asyncio.get_running_loop().create_future()
        self.waiting[path_name.get()] = (turn, effect)
        self.changed.set()
        await turn

    async def run(self, paths: dict[str, Callable[[], Awaitable[Any]]]) -> dict[str, Any]:
        tasks = {name: asyncio.create_task(self._as(name, start)) for name, start in paths.items()}
        for task in tasks.values():
            task.add_done_callback(lambda _: self.changed.set())
        while True:
            while not all(task.done() or name in self.waiting for name, task in tasks.items()):
                self.changed.clear()
                await self.changed.wait()
            if not self.waiting:
                return {name: task.result() for name, task in tasks.items()}
            enabled = tuple(sorted(self.waiting))
            step = len(self.trace)
            chosen = self.prefix[step] if step < len(self.prefix) else enabled[0]
            self.trace.append((enabled, chosen))
            turn, effect = self.waiting.pop(chosen)
            self.steps.append(f"{chosen}: {effect}")
            turn.set_result(None)

    @staticmethod
    async def _as(name: str, start: Callable[[], Awaitable[Any]]) -> Any:
        path_name.set(name)
        return await start()


async def every_interleaving(play: Callable[[Interleaver], Awaitable[None]]) -> int:
    """Call ``play`` once per distinct order of the gated effects; returns how many orders."""
    pending: list[list[str]] = [[]]
    runs = 0
    while pending:
        prefix = pending.pop()
        interleaver = Interleaver(prefix)
        await play(interleaver)
        runs += 1
        for step in range(len(prefix), len(interleaver.trace)):
            enabled, chosen = interleaver.trace[step]
            done = [c for _, c in interleaver.trace[:step]]
            pending.extend([*done, other] for other in enabled if other != chosen)
    return runs


class GatedStore:
    """The job store, each call the protocol makes held at the interleaver's gate first."""

    def __init__(self, store: JobStore, interleaver: Interleaver) -> None:
        self._store, self._gate = store, interleaver.gate

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        await self._gate("read")
        return await self._store.get(*args, **kwargs)

    async def claim_intent(self, job_id: str, intent: str, outcome: str, **kwargs: Any) -> Any:
        await self._gate(f"claim {intent} for {outcome}")
        return await self._store.claim_intent(job_id, intent, outcome, **kwargs)

    async def finish(self, job_id: str, state: Any, **kwargs: Any) -> bool:
        await self._gate(f"finish {JobState(state).value}")
        return await self._store.finish(job_id, state, **kwargs)


class RaceBot:
    """What the protocol needs of the bot: the store, Discord's clock, and a record of sends."""

    def __init__(self, store: Any, interleaver: Interleaver) -> None:
        self.jobs = SimpleNamespace(store=store)  # the protocol reads the store as bot.jobs.store
        self.interleaver = interleaver
        self.sent: list[tuple[str, str]] = []  # (intent, outcome kind)

    def discord_clock(self) -> float:
        return NOW


@pytest.fixture
async def store(tmp_path):
    async with JobStore(str(tmp_path / "jobs.sqlite3")) as opened:
        yield opened


@pytest.fixture
def recorded_sends(monkeypatch):
    """Sending records what the message would show, after a gate of its own."""
    async def send(bot: Any, claim: Any, outcome: Outcome) -> int:
        await bot.interleaver.gate(f"send {outcome.kind}")
        bot.sent.append((claim.target, outcome.kind))
        return claim.job.progress_message_id

    monkeypatch.setattr(delivery_protocol, "_send", send)


def running_job(**fields: Any) -> Job:
    return Job(user_id=1, plugin="generate", command="generate", workflow="generate-flux", state=JobState.RUNNING,
               channel_id=2, interaction_token="tok", interaction_created_at=NOW - 60, progress_message_id=3,
               server="gpu1", prompt_id="p1", **fields)


def outcomes(job: Job) -> dict[str, Outcome]:
    """The three ways one running job can end at once: its result arrives, its owner presses
    Cancel, and its server dies so failover fails it with Retry."""
    result = Outcome("result", JobState.DELIVERED, discord.Embed(title="/generate · flux"), [("out.png", b"png")],
                     record={"prompt_id": "p1"})
    return {"completion": result,
            "cancel": failure_outcome(job, "Cancelled.", state="cancelled"),
            "failover": failure_outcome(job, "The image server went down.", retry=True)}


async def test_cancel_failover_and_completion_in_every_order_send_one_message_and_end_once(store, recorded_sends):
    winners: set[str] = set()

    async def play(interleaver: Interleaver) -> None:
        job = await store.add(running_job())
        bot = RaceBot(GatedStore(store, interleaver), interleaver)
        ends = outcomes(job)
        ended = await interleaver.run({name: (lambda o=o: deliver(bot, job, o)) for name, o in ends.items()})
        order = "\n  ".join(interleaver.steps)
        final = await store.get(job.id)
        assert len(bot.sent) == 1, f"{len(bot.sent)} messages sent:\n  {order}"
        (winner,) = [name for name, ok in ended.items() if ok] or [None]
        assert winner is not None, f"no path ended the job:\n  {order}"
        assert bot.sent[0][1] == ends[winner].kind and final.state is ends[winner].state, order
        assert final.delivery_outcome == ends[winner].kind
        winners.add(winner)

    orders = await every_interleaving(play)
    assert winners == {"completion", "cancel", "failover"}, winners
    assert orders >= 300, orders  # 396 distinct orders today


async def test_a_cancel_racing_recovery_of_a_recorded_delivery_never_sends_a_second_message(
        store, recorded_sends, monkeypatch):
    """The stopped bot recorded that the result goes to the job's message (its edit had not
    landed); after the restart recovery finishes that intent (``resume``) while the owner
    presses Cancel: the Cancel is refused in every order, because the job already has an intent."""
    async def not_shown(*args: Any) -> None:
        return None

    monkeypatch.setattr(delivery_protocol, "_shown_already", not_shown)

    async def play(interleaver: Interleaver) -> None:
        job = await store.add(running_job())
        assert await store.claim_intent(job.id, "edit:3", "result", at=NOW - 5)
        bot = RaceBot(GatedStore(store, interleaver), interleaver)
        ends = outcomes(job)
        ended = await interleaver.run({"recovery": lambda: deliver(bot, job, ends["completion"], resume=True),
                                       "cancel": lambda: deliver(bot, job, ends["cancel"])})
        order = "\n  ".join(interleaver.steps)
        assert ended == {"recovery": True, "cancel": False}, order
        assert bot.sent == [("edit:3", "result")], order
        assert (await store.get(job.id)).state is JobState.DELIVERED

    assert await every_interleaving(play) >= 5


async def test_a_finish_by_anyone_but_the_intents_holder_is_refused_while_the_job_is_open(store):
    """The store's own guard: the job stays open for its holder, whoever else tries to end it."""
    job = await store.add(running_job())
    assert await store.claim_intent(job.id, "edit:3", "result", at=NOW)
    assert not await store.finish(job.id, "failed", intent="post:discomfy-x", error_message="stale")
    assert not await store.finish(job.id, "cancelled", intent=None, error_message="no intent")
    assert (await store.get(job.id)).state is JobState.RUNNING
    assert await store.finish(job.id, "delivered", intent="edit:3", result_message_id=3)
