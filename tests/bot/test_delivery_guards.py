"""The delivery protocol's Discord side, each route as the user sees it, fast.

``deliver()`` runs against real discord.py and the Discord emulator, with a bot that does one
thing: answer ``/go`` with a "Queued" reply, the message a job's outcome later replaces. No
ComfyUI, no job run: each test stores the job as the run would have left it and hands
``deliver()`` its outcome, so a whole route (edit, channel edit, channel post, refusal,
recovery's look before resending) takes a fraction of a second. What is asserted is what the
channel shows and what the store ends with: one message carrying the outcome, one final state.

Written to kill the mutants of ``delivery_protocol.py`` that the race tests (which replace the
send) cannot reach (bench/mutation.py, docs/mutation.md).
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from discomfy.bot import delivery_protocol
from discomfy.bot.delivery import failure_outcome
from discomfy.bot.delivery_errors import REFUSALS
from discomfy.bot.delivery_protocol import Outcome, deliver
from discomfy.core.jobs.job import Job, JobState
from discomfy.core.jobs.store import JobStore
from discomfy.exceptions import DisComfyError

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
PAST_TOKEN = 16 * 60


class QueueBot(commands.Bot):
    """Answers ``/go`` with a "Queued" embed (or, ``/quiet``, not at all), like the generation
    flow before a job runs; ``deliver()`` reads the store as ``bot.jobs.store``."""

    def __init__(self, emulator: Any, store: JobStore) -> None:
        super().__init__(command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05)
        self.jobs = SimpleNamespace(store=store)
        self.discord_clock = emulator.clock.now

        @app_commands.command(description="queue a job")
        async def go(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(embed=discord.Embed(title="Queued"))

        @app_commands.command(description="queue a job and stop before answering")
        async def quiet(interaction: discord.Interaction) -> None:
            return None

        self.tree.add_command(go)
        self.tree.add_command(quiet)

    async def setup_hook(self) -> None:
        await self.tree.sync()


@pytest.fixture
async def store(tmp_path):
    async with JobStore(str(tmp_path / "jobs.sqlite3")) as opened:
        yield opened


@pytest.fixture
async def bot(discord_emulator, store):
    logging.getLogger("discord").setLevel(logging.ERROR)
    queue_bot = QueueBot(discord_emulator, store)
    async with discord_emulator.run_bot(queue_bot):
        yield queue_bot


async def queued(emu: Any, store: JobStore, *, answered: bool = True, **fields: Any) -> tuple[Job, Any]:
    """A running job started by ``/go`` (its reply is the job's message, its id saved), or by
    ``/quiet`` (never answered, no message id: the bot stopped first)."""
    inter = await emu.invoke("go" if answered else "quiet", wait=answered)
    job = Job(user_id=int(inter.user_id), plugin="generate", command="generate", workflow="flux",
              state=JobState.RUNNING, channel_id=int(emu.channel_id), interaction_token=inter.token,
              interaction_created_at=inter.created_at, server="gpu1", prompt_id="p1",
              progress_message_id=int(inter.original_message.id) if answered else None, **fields)
    return await store.add(job), inter


def result(job: Job) -> Outcome:
    embed = discord.Embed(title="/generate · flux").set_footer(text=f"Job {job.id}")
    return Outcome("result", JobState.DELIVERED, embed, [("out.png", PNG)], record={"seed": 7})


def showing(emu: Any, job: Job) -> list[Any]:
    """Every live message, anywhere, whose embed names the job (what its user can see)."""
    return [m for m in emu.messages.values()
            if not m.deleted and any((e.get("footer") or {}).get("text", "").startswith(f"Job {job.id}") for e in m.embeds)]


async def test_a_result_replaces_the_jobs_reply_once(bot, discord_emulator, store):
    job, inter = await queued(discord_emulator, store)
    assert await deliver(bot, job, result(job))
    (message,) = showing(discord_emulator, job)
    assert message.id == inter.original_message.id and [a.filename for a in message.attachments] == ["out.png"]
    ended = await store.get(job.id)
    assert ended.state is JobState.DELIVERED and ended.delivered and ended.seed == 7
    assert ended.delivery_intent == f"edit:{job.progress_message_id}"
    assert ended.result_message_id == job.progress_message_id
    assert not await deliver(bot, job, result(job))  # a second call finds it ended
    assert len(showing(discord_emulator, job)) == 1 and message.edits == 1


async def test_a_job_that_outlived_its_token_gets_its_result_in_one_channel_post(bot, discord_emulator, store):
    """15 minutes after /go the interaction cannot be used: the result is a channel post
    mentioning the user (with the job's nonce), and the old reply points at it."""
    job, inter = await queued(discord_emulator, store)
    discord_emulator.clock.advance(PAST_TOKEN)
    assert await deliver(bot, job, result(job))
    (message,) = showing(discord_emulator, job)
    assert message.id != inter.original_message.id and message.attachments
    assert message.content == f"<@{job.user_id}>" and message.nonce == f"discomfy-{job.id}"
    assert inter.original_message.embeds[0]["title"] == "/generate finished"
    assert not [r for r in discord_emulator.requests if r.path.startswith("/webhooks/") and r.method == "PATCH"]
    assert (await store.get(job.id)).delivery_intent == f"post:discomfy-{job.id}"


@pytest.mark.parametrize(("status", "code"), [(401, 50027), (404, 10015)])
async def test_when_discord_says_the_token_is_gone_the_reply_is_edited_through_the_channel(
        bot, discord_emulator, store, status, code):
    job, inter = await queued(discord_emulator, store)
    discord_emulator.inject_error("PATCH /webhooks/*", status, code, "token gone")
    assert await deliver(bot, job, result(job))
    (message,) = showing(discord_emulator, job)
    assert message.id == inter.original_message.id and message.attachments and message.edits == 1
    assert [r.method for r in discord_emulator.requests if r.path == f"/channels/{message.channel_id}/messages/{message.id}"] \
        == ["PATCH"]
    assert len([r for r in discord_emulator.requests if r.path.startswith("/webhooks/") and r.method == "PATCH"]) == 1


@pytest.mark.parametrize("failures", [1, 2])
async def test_a_webhook_edit_discord_could_not_serve_is_tried_again_then_made_through_the_channel(
        bot, discord_emulator, store, monkeypatch, failures):
    """A 5xx that discord.py already retried (its ``DiscordServerError``): the webhook edit is
    tried once more, then the reply is edited through the channel; one message either way."""
    job, inter = await queued(discord_emulator, store)
    real = discord.Webhook.edit_message
    left = [failures]

    async def unavailable(self: discord.Webhook, *args: Any, **kwargs: Any) -> Any:
        if left[0]:
            left[0] -= 1
            raise discord.DiscordServerError(SimpleNamespace(status=503, reason="Service Unavailable"), "unavailable")
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(discord.Webhook, "edit_message", unavailable)
    assert await deliver(bot, job, result(job))
    assert inter.original_message.attachments and inter.original_message.edits == 1
    assert len(showing(discord_emulator, job)) == 1
    through_channel = [r for r in discord_emulator.requests if r.method == "PATCH" and r.path.startswith("/channels/")]
    assert len(through_channel) == (failures == 2)


async def test_a_private_job_whose_token_is_gone_gets_its_result_by_direct_message(bot, discord_emulator, store):
    """An ephemeral reply cannot be reached without the token: the result goes to its owner's
    direct messages, never to the guild channel."""
    job, inter = await queued(discord_emulator, store, private=True)
    discord_emulator.inject_error("PATCH /webhooks/*", 401, 50027, "token gone")
    assert await deliver(bot, job, result(job))
    (message,) = showing(discord_emulator, job)
    assert message.channel_id != discord_emulator.channel_id and message.guild_id is None
    assert message.attachments and message.content == ""
    assert [e["title"] for e in inter.original_message.embeds] == ["Queued"]


async def test_a_deleted_reply_gets_the_result_in_one_channel_post(bot, discord_emulator, store):
    job, inter = await queued(discord_emulator, store)
    inter.original_message.deleted = True
    discord_emulator.inject_error("PATCH /webhooks/*", 404, 10008, "Unknown Message")
    assert await deliver(bot, job, result(job))
    (message,) = showing(discord_emulator, job)
    assert message.channel_id == discord_emulator.channel_id and message.attachments
    assert message.nonce == f"discomfy-{job.id}"
    ended = await store.get(job.id)
    assert ended.delivery_intent == f"post:discomfy-{job.id}" and ended.result_message_id == int(message.id)


async def test_a_reply_never_sent_is_looked_up_not_edited_and_the_outcome_is_posted(bot, discord_emulator, store):
    """The bot stopped before answering: intent ``original``, the look-up finds no reply, so the
    failure goes to the channel and no edit of a reply that does not exist is tried."""
    job, _ = await queued(discord_emulator, store, answered=False)
    assert await deliver(bot, job, failure_outcome(job, "The bot restarted.", retry=True))
    (message,) = showing(discord_emulator, job)
    assert message.embeds[0]["description"] == "The bot restarted." and message.components
    assert not [r for r in discord_emulator.requests if r.method == "PATCH"]
    assert (await store.get(job.id)).state is JobState.FAILED


@pytest.mark.parametrize("code", [40005, 50035])
async def test_a_result_discord_refuses_for_good_becomes_a_plain_failure_naming_why(
        bot, discord_emulator, store, code):
    job, inter = await queued(discord_emulator, store)
    discord_emulator.inject_error(lambda r: r.method == "PATCH" and bool(r.files), 400, code, "refused", times=5)
    assert await deliver(bot, job, result(job))
    (message,) = showing(discord_emulator, job)
    assert message.id == inter.original_message.id and not message.attachments and not message.components
    assert message.embeds[0]["title"] == "/generate failed"
    assert message.embeds[0]["description"] == REFUSALS[code]
    ended = await store.get(job.id)
    assert ended.state is JobState.FAILED and not ended.delivered and ended.error_message == REFUSALS[code]
    assert ended.delivery_outcome == "failed"


async def test_when_even_the_plain_failure_is_refused_the_job_ends_unseen_not_left_open(
        bot, discord_emulator, store, caplog):
    job, inter = await queued(discord_emulator, store)
    discord_emulator.inject_error("PATCH *", 403, 50013, "Missing Permissions", times=20)
    discord_emulator.inject_error("POST /channels/*", 403, 50013, "Missing Permissions", times=20)
    with caplog.at_level(logging.ERROR):
        assert await deliver(bot, job, result(job))
    assert [e["title"] for e in inter.original_message.embeds] == ["Queued"]
    assert (await store.get(job.id)).state is JobState.FAILED
    assert f"job {job.id}: Discord refused its failed for good" in caplog.text


async def test_recovery_that_finds_its_edit_landed_records_it_without_uploading_again(bot, discord_emulator, store):
    """The stopped bot's edit reached Discord, its end was not recorded: recovery looks at the
    message, sees the result there, and only records the end."""
    job, inter = await queued(discord_emulator, store)
    assert await deliver(bot, job, result(job))  # the first bot's send, then its end is undone:
    await store.execute("UPDATE jobs SET state = 'running', delivered = 0 WHERE id = ?", (job.id,), write=True)
    edits = inter.original_message.edits
    resumed = await store.get(job.id)
    assert await deliver(bot, resumed, result(job), resume=True)  # ... and the next start
    assert inter.original_message.edits == edits
    assert (await store.get(job.id)).state is JobState.DELIVERED


async def test_recovery_of_a_failure_edit_that_did_not_land_sends_it(bot, discord_emulator, store):
    job, inter = await queued(discord_emulator, store)
    failure = failure_outcome(job, "The image server went down.")
    assert await store.claim_intent(job.id, f"edit:{job.progress_message_id}", failure.kind,
                                    at=discord_emulator.clock.now(), note=failure.note)
    assert await deliver(bot, await store.get(job.id), failure, resume=True)
    assert inter.original_message.embeds[0]["description"] == "The image server went down."
    assert (await store.get(job.id)).state is JobState.FAILED


async def test_a_store_that_refuses_for_a_moment_only_delays_the_delivery(bot, discord_emulator, store, monkeypatch):
    """Locked by another process for two tries: the result still arrives, once."""
    monkeypatch.setattr(delivery_protocol, "PERSIST_PAUSES", (0.0, 0.0, 0.0))
    job, _ = await queued(discord_emulator, store)
    real = store.claim_intent
    refusals = iter([DisComfyError("locked", detail="database is locked")] * 2)

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        failure = next(refusals, None)
        if failure is not None:
            raise failure
        return await real(*args, **kwargs)

    monkeypatch.setattr(store, "claim_intent", flaky)
    assert await deliver(bot, job, result(job))
    assert len(showing(discord_emulator, job)) == 1
    assert (await store.get(job.id)).state is JobState.DELIVERED


async def test_a_store_that_keeps_refusing_leaves_the_job_open_for_the_next_start(
        bot, discord_emulator, store, monkeypatch, caplog):
    monkeypatch.setattr(delivery_protocol, "PERSIST_PAUSES", (0.0, 0.0))
    job, inter = await queued(discord_emulator, store)

    async def locked(*args: Any, **kwargs: Any) -> Any:
        raise DisComfyError("locked", detail="database is locked")

    monkeypatch.setattr(store, "claim_intent", locked)
    with caplog.at_level(logging.WARNING):
        assert not await deliver(bot, job, result(job))
    assert [e["title"] for e in inter.original_message.embeds] == ["Queued"]
    assert (await store.get(job.id)).state is JobState.RUNNING
    assert f"could not record how job {job.id} will be delivered: database is locked" in caplog.text
    assert caplog.text.count("retrying in 0.0 s") == 2


async def test_a_reply_sent_but_never_recorded_is_found_and_edited_not_duplicated(bot, discord_emulator, store):
    """The bot answered /go but stopped before saving the reply's id (intent ``original``):
    the reply is looked up and edited, so the user still has one message."""
    job, inter = await queued(discord_emulator, store)
    await store.update(job.id, expect="running", progress_message_id=None)
    assert await deliver(bot, await store.get(job.id), result(job))
    (message,) = showing(discord_emulator, job)
    assert message.id == inter.original_message.id and message.attachments
    assert (await store.get(job.id)).delivery_intent == "original"
    assert [r.method for r in discord_emulator.requests if r.path.endswith("/messages/@original")] == ["GET"]
    assert [r.method for r in discord_emulator.requests if r.path.endswith(f"/messages/{message.id}")] == ["PATCH"]


async def test_recovery_of_a_failure_that_already_shows_does_not_send_it_again(bot, discord_emulator, store):
    job, inter = await queued(discord_emulator, store)
    failure = failure_outcome(job, "The image server went down.")
    assert await deliver(bot, job, failure)
    await store.execute("UPDATE jobs SET state = 'running' WHERE id = ?", (job.id,), write=True)
    edits = inter.original_message.edits
    assert await deliver(bot, await store.get(job.id), failure, resume=True)
    assert inter.original_message.edits == edits
    assert (await store.get(job.id)).state is JobState.FAILED


async def test_a_reply_showing_the_results_caption_without_its_file_still_gets_the_file(bot, discord_emulator, store):
    """A result counts as shown only when its file is there, whatever the caption says."""
    job, inter = await queued(discord_emulator, store)
    outcome = result(job)
    assert await store.claim_intent(job.id, f"edit:{job.progress_message_id}", "result", at=discord_emulator.clock.now())
    inter.original_message.embeds = [outcome.embed.to_dict()]
    assert await deliver(bot, await store.get(job.id), outcome, resume=True)
    assert [a.filename for a in inter.original_message.attachments] == ["out.png"]


async def test_when_the_reply_cannot_be_looked_at_recovery_sends_again_and_says_why(
        bot, discord_emulator, store, caplog):
    job, inter = await queued(discord_emulator, store)
    assert await store.claim_intent(job.id, f"edit:{job.progress_message_id}", "result", at=discord_emulator.clock.now())
    discord_emulator.inject_error("GET /channels/*/messages/*", 403, 50001, "Missing Access")
    with caplog.at_level(logging.INFO, logger="discomfy.bot.delivery_protocol"):
        assert await deliver(bot, await store.get(job.id), result(job), resume=True)
    assert inter.original_message.attachments
    (line,) = [r.getMessage() for r in caplog.records if "could not look" in r.getMessage()]
    assert line.startswith(f"job {job.id}: could not look at its message (403 Forbidden (error code: 50001)")
    assert line.endswith("); sending again")
