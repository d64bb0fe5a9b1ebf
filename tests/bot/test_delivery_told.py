"""What a delivery leaves behind, beyond the one message: the words an operator reads in the
log at each turn, what the store keeps for the next start when a delivery cannot finish,
and the details of the message a user gets (its file's bytes, its buttons, its colour, no
stale text, the right message edited).

Same stage as tests/bot/test_delivery_guards.py (real discord.py, the Discord emulator, a bot
that only answers ``/go``). Written to kill the mutants of ``delivery_protocol.py`` that
those tests let live (bench/mutation.py, docs/mutation.md); each test says what an operator or
user would see go wrong. Pauses between tries are recorded, not slept (``paused``).
"""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import discord
import pytest

from discomfy.bot import delivery_protocol
from discomfy.bot.delivery import failure_outcome
from discomfy.bot.delivery_errors import REFUSALS
from discomfy.bot.delivery_protocol import PERSIST_PAUSES, SEND_PAUSES, Outcome, deliver, token_usable
from discomfy.bot.views import retry_view
from discomfy.core.jobs.job import JobState
from discomfy.exceptions import DisComfyError
from tests.bot.test_delivery_guards import PAST_TOKEN, PNG, bot, queued, result, showing, store  # noqa: F401 - fixtures

LOGGER = "discomfy.bot.delivery_protocol"
WORDS = "The image server went down."


@pytest.fixture
def paused(monkeypatch) -> list[float]:
    """The pauses the protocol asks for between tries, recorded instead of slept."""
    pauses: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(delivery_protocol, "asyncio", SimpleNamespace(sleep=sleep, TimeoutError=asyncio.TimeoutError))
    return pauses


def logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def refused(status: int, code: int, text: str) -> discord.HTTPException:
    return discord.HTTPException(SimpleNamespace(status=status, reason="refused"), {"code": code, "message": text})


def failing_sends(monkeypatch, *first: BaseException) -> None:
    """``_send`` raises each of ``first`` in turn, then loses the connection on every try."""
    errors = list(first)

    async def send(*args: Any) -> int:
        raise errors.pop(0) if errors else OSError("Connection reset by peer")

    monkeypatch.setattr(delivery_protocol, "_send", send)


def with_buttons(job: Any) -> Outcome:
    outcome = result(job)
    outcome.view = retry_view(job)
    return outcome


# --- what the operator reads -------------------------------------------------------------


async def test_a_job_already_ended_or_being_delivered_is_not_sent_again_and_the_log_says_which(
        bot, discord_emulator, store, caplog):
    job, _ = await queued(discord_emulator, store)
    other, _ = await queued(discord_emulator, store)
    assert await store.claim_intent(other.id, f"edit:{other.progress_message_id}", "result", at=discord_emulator.clock.now())
    assert await deliver(bot, job, result(job))
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert not await deliver(bot, job, result(job))
        assert not await deliver(bot, other, failure_outcome(other, WORDS))
    assert logged(caplog) == [
        f"job {job.id} already ended (delivered); not sending its result",
        f"job {other.id} is already being delivered (edit:{other.progress_message_id}); not sending its failed"]


async def test_a_token_discord_says_is_gone_is_logged_with_its_code(bot, discord_emulator, store, caplog):
    job, _ = await queued(discord_emulator, store)
    discord_emulator.inject_error("PATCH /webhooks/*", 401, 50027, "token gone")
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert await deliver(bot, job, result(job))
    assert logged(caplog) == [f"job {job.id}: interaction token gone (50027); editing through the channel"]


async def test_a_webhook_edit_discord_could_not_serve_waits_a_second_once_then_uses_the_channel(
        bot, discord_emulator, store, monkeypatch, paused, caplog):
    """Two tries of the webhook, one second apart (not hammering Discord, not waiting after the
    last), each logged with Discord's status, then the channel edit; one message."""
    job, inter = await queued(discord_emulator, store)

    async def unavailable(self: discord.Webhook, *args: Any, **kwargs: Any) -> Any:
        raise discord.DiscordServerError(SimpleNamespace(status=503, reason="Service Unavailable"), "unavailable")

    monkeypatch.setattr(discord.Webhook, "edit_message", unavailable)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert await deliver(bot, job, result(job))
    assert paused == [1.0]
    assert logged(caplog) == [f"job {job.id}: webhook edit failed (503 0), attempt 1",
                              f"job {job.id}: webhook edit failed (503 0), attempt 2"]
    assert inter.original_message.attachments and len(showing(discord_emulator, job)) == 1


@pytest.mark.parametrize(("step", "words"), [
    ("get", "read job {id}"),
    ("finish", "record the end of job {id}"),
    ("switch", "record that job {id} ends with a failure"),
    ("move", "move the delivery of job {id} to a channel post"),
])
async def test_a_store_that_keeps_refusing_is_retried_then_logged_naming_the_step(
        bot, discord_emulator, store, monkeypatch, paused, caplog, step, words):
    """Every store write of a delivery is tried again after each pause, and when the store
    still refuses, the log names which step could not be recorded (the job stays open for the
    next start, which finishes it)."""
    job, inter = await queued(discord_emulator, store)
    locked = DisComfyError("locked", detail="database is locked")
    outcome = result(job)
    if step == "switch":  # Discord refuses the result for good; recording the plain failure fails
        discord_emulator.inject_error(lambda r: r.method == "PATCH" and bool(r.files), 400, 40005, "too large")
    if step == "move":  # the reply is gone; recording the move to a channel post fails
        inter.original_message.deleted = True
        discord_emulator.inject_error("PATCH /webhooks/*", 404, 10008, "Unknown Message")
    name = {"get": "get", "finish": "finish"}.get(step, "claim_intent")
    real = getattr(store, name)

    async def refusing(*args: Any, **kwargs: Any) -> Any:
        if name == "claim_intent" and kwargs.get("expect_intent") is None:
            return await real(*args, **kwargs)  # the first claim goes through
        raise locked

    monkeypatch.setattr(store, name, refusing)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert not await deliver(bot, job, outcome)
    what = words.format(id=job.id)
    warnings = [f"could not {what} yet (database is locked); retrying in {p:.1f} s" for p in PERSIST_PAUSES]
    assert [line for line in logged(caplog) if line.startswith("could not")] == [*warnings, f"could not {what}: database is locked"]
    assert paused[:len(PERSIST_PAUSES)] == list(PERSIST_PAUSES)
    monkeypatch.undo()  # the store answers again, as at the next start
    assert (await store.get(job.id)).state is JobState.RUNNING


# --- what the next start finds ----------------------------------------------------------


async def test_a_delivery_discord_cannot_take_now_is_retried_then_left_with_its_words_for_the_next_start(
        bot, discord_emulator, store, monkeypatch, paused, caplog):
    """Discord unreachable at delivery time: tried again after each pause, then left open with
    the intent, its kind, its words and Discord's time recorded, so the next start sends that
    very failure, Retry button and all."""
    discord_emulator.clock.advance(300)  # Discord's clock, not this machine's, times the intent
    job, inter = await queued(discord_emulator, store)
    failing_sends(monkeypatch)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert not await deliver(bot, job, failure_outcome(job, WORDS, retry=True))
    assert paused == list(SEND_PAUSES)
    retries = [f"job {job.id}: delivering failed (Connection reset by peer); retrying in {p:.0f} s" for p in SEND_PAUSES]
    assert logged(caplog) == [*retries, f"job {job.id}: could not deliver its failed+retry (Connection reset by peer); "
                                        "the next start finishes it"]
    kept = await store.get(job.id)
    assert kept.state is JobState.RUNNING and kept.delivery_intent == f"edit:{job.progress_message_id}"
    assert (kept.delivery_outcome, kept.error_message) == ("failed+retry", WORDS)
    assert kept.intent_at == pytest.approx(discord_emulator.clock.now(), abs=30)
    assert [e["title"] for e in inter.original_message.embeds] == ["Queued"]


async def test_a_result_refused_for_good_whose_failure_cannot_be_sent_yet_leaves_the_failure_for_the_next_start(
        bot, discord_emulator, store, monkeypatch, paused):
    """The stopped bot's next start must send the plain failure naming why, not the refused
    result again and not a generic "lost"."""
    job, _ = await queued(discord_emulator, store)
    failing_sends(monkeypatch, refused(400, 40005, "Request entity too large"))
    assert not await deliver(bot, job, result(job))
    kept = await store.get(job.id)
    assert kept.state is JobState.RUNNING
    assert (kept.delivery_outcome, kept.error_message) == ("failed", REFUSALS[40005])


async def test_a_reply_gone_while_discord_is_unreachable_leaves_the_channel_post_for_the_next_start(
        bot, discord_emulator, store, monkeypatch, paused):
    discord_emulator.clock.advance(300)
    job, inter = await queued(discord_emulator, store)
    inter.original_message.deleted = True
    discord_emulator.inject_error("PATCH /webhooks/*", 404, 10008, "Unknown Message")

    async def unreachable(*args: Any, **kwargs: Any) -> int:
        raise OSError("Connection reset by peer")

    monkeypatch.setattr(delivery_protocol, "post_once", unreachable)
    assert not await deliver(bot, job, failure_outcome(job, WORDS, retry=True))
    kept = await store.get(job.id)
    assert kept.delivery_intent == f"post:discomfy-{job.id}" and kept.delivery_outcome == "failed+retry"
    assert kept.intent_at == pytest.approx(discord_emulator.clock.now(), abs=30)  # the nonce window is Discord's


async def test_a_delivery_another_process_took_over_while_moving_to_the_channel_sends_nothing(
        bot, discord_emulator, store, monkeypatch):
    job, inter = await queued(discord_emulator, store)
    inter.original_message.deleted = True
    discord_emulator.inject_error("PATCH /webhooks/*", 404, 10008, "Unknown Message")
    real = store.claim_intent

    async def taken_over(job_id: str, intent: str, *args: Any, **kwargs: Any) -> Any:
        if intent.startswith("post:"):  # the other process's recovery ended the job meanwhile
            assert await store.finish(job_id, "failed", intent=f"edit:{job.progress_message_id}")
        return await real(job_id, intent, *args, **kwargs)

    monkeypatch.setattr(store, "claim_intent", taken_over)
    assert not await deliver(bot, job, result(job))
    assert showing(discord_emulator, job) == []
    assert not [r for r in discord_emulator.requests if r.method == "POST" and r.path.startswith("/channels/")]


async def test_recovery_that_finds_its_edit_landed_records_which_message_shows_it(bot, discord_emulator, store):
    job, inter = await queued(discord_emulator, store)
    assert await deliver(bot, job, result(job))
    await store.execute("UPDATE jobs SET state = 'running', delivered = 0, result_message_id = NULL WHERE id = ?",
                        (job.id,), write=True)
    assert await deliver(bot, await store.get(job.id), result(job), resume=True)
    assert (await store.get(job.id)).result_message_id == int(inter.original_message.id)


# --- what the user gets -----------------------------------------------------------------


@pytest.mark.parametrize("route", ["webhook", "channel"])
async def test_the_result_carries_its_file_and_buttons_and_nothing_of_the_queued_text(
        bot, discord_emulator, store, route):
    job, inter = await queued(discord_emulator, store)
    inter.original_message.content = "Queued: a lighthouse"
    if route == "channel":
        discord_emulator.inject_error("PATCH /webhooks/*", 401, 50027, "token gone")
    assert await deliver(bot, job, with_buttons(job))
    (message,) = showing(discord_emulator, job)
    assert [a.data for a in message.attachments] == [PNG]
    assert [c["custom_id"] for row in message.components for c in row["components"]] == [f"discomfy:retry:{job.id}"]
    assert message.content == ""


async def test_a_result_for_a_followup_message_goes_into_that_message(bot, discord_emulator, store):
    """A job whose message is not the interaction's first reply (a followup) gets its result
    there; the first reply is left alone."""
    job, inter = await queued(discord_emulator, store)
    hook = discord.Webhook.partial(bot.application_id, inter.token, client=bot)
    followup = await hook.send(embed=discord.Embed(title="Queued again"), wait=True)
    await store.update(job.id, expect="running", progress_message_id=followup.id)
    assert await deliver(bot, await store.get(job.id), result(job))
    assert discord_emulator.messages[str(followup.id)].attachments
    assert [e["title"] for e in inter.original_message.embeds] == ["Queued"]
    assert not [r for r in discord_emulator.requests if r.path.endswith("/messages/@original")]


async def test_a_reply_gone_gets_one_post_and_no_edit_of_the_gone_reply(bot, discord_emulator, store, caplog):
    job, inter = await queued(discord_emulator, store)
    inter.original_message.deleted = True
    discord_emulator.inject_error("PATCH /webhooks/*", 404, 10008, "Unknown Message")
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert await deliver(bot, job, result(job))
    assert logged(caplog) == [f"job {job.id}: its message is gone; posting the outcome in the channel instead"]
    assert len(showing(discord_emulator, job)) == 1
    assert len([r for r in discord_emulator.requests if r.method == "PATCH"]) == 1  # the webhook's, refused


async def test_a_result_refused_for_good_is_sent_once_and_its_plain_failure_is_red_and_keeps_the_seed(
        bot, discord_emulator, store):
    job, inter = await queued(discord_emulator, store)
    discord_emulator.inject_error(lambda r: r.method == "PATCH" and bool(r.files), 400, 40005, "too large", times=5)
    assert await deliver(bot, job, result(job))
    assert len([r for r in discord_emulator.requests if r.method == "PATCH" and r.files]) == 1  # not tried again
    (message,) = showing(discord_emulator, job)
    assert message.embeds[0]["color"] == discord.Colour.red().value
    assert (await store.get(job.id)).seed == 7


@pytest.mark.parametrize(("state", "title"), [("failed", "/generate failed"), ("cancelled", "/generate cancelled")])
async def test_a_failure_whose_buttons_discord_refuses_is_shown_plain_with_its_own_words(
        bot, discord_emulator, store, monkeypatch, caplog, state, title):
    """Discord refuses the Retry button for good: the same failure is shown without it, in
    the same words (cut where the failure's embed cut them), and a cancelled job stays
    cancelled; the log says what Discord refused."""
    job, inter = await queued(discord_emulator, store)
    words = "The image server went down. " * 200  # longer than an embed's 4000 characters
    real = delivery_protocol._send
    first = [refused(400, 50035, "Invalid Form Body")]

    async def send(*args: Any) -> int:
        if first:
            raise first.pop()
        return await real(*args)

    monkeypatch.setattr(delivery_protocol, "_send", send)
    outcome = failure_outcome(job, words, retry=True, state=state)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert await deliver(bot, job, outcome)
    embed = inter.original_message.embeds[0]
    assert (embed["title"], embed["description"]) == (title, words[:4000])
    assert not inter.original_message.components
    assert (await store.get(job.id)).state is JobState(state)
    assert logged(caplog) == [f"job {job.id}: Discord refused its {outcome.kind} for good (400 50035: Invalid Form Body); "
                              "showing a plain failure instead"]


async def test_when_even_the_plain_failure_is_refused_the_log_says_what_discord_answered(
        bot, discord_emulator, store, caplog):
    job, _ = await queued(discord_emulator, store)
    discord_emulator.inject_error("PATCH *", 403, 50013, "Missing Permissions", times=20)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        assert await deliver(bot, job, result(job))
    assert logged(caplog) == [f"job {job.id}: Discord refused its failed for good (403 50013: Missing Permissions); "
                              "ending it without a message"]


async def test_a_recorded_failure_is_sent_when_the_reply_shows_another_failure_with_the_same_title(
        bot, discord_emulator, store):
    job, inter = await queued(discord_emulator, store)
    failure = failure_outcome(job, WORDS)
    assert await store.claim_intent(job.id, f"edit:{job.progress_message_id}", failure.kind,
                                    at=discord_emulator.clock.now(), note=WORDS)
    inter.original_message.embeds = [failure_outcome(job, "Something else went wrong.").embed.to_dict()]
    assert await deliver(bot, await store.get(job.id), failure, resume=True)
    assert inter.original_message.embeds[0]["description"] == WORDS


# --- the interaction token ----------------------------------------------------------------


async def test_a_job_without_an_interaction_token_gets_a_channel_post(bot, discord_emulator, store):
    """Recovered from another process, say: no token to edit with, so a post, never a webhook call."""
    job, inter = await queued(discord_emulator, store)
    await store.execute("UPDATE jobs SET interaction_token = NULL WHERE id = ?", (job.id,), write=True)
    assert await deliver(bot, await store.get(job.id), result(job))
    (message,) = showing(discord_emulator, job)
    assert message.id != inter.original_message.id and message.nonce == f"discomfy-{job.id}"
    assert not [r for r in discord_emulator.requests if r.path.startswith("/webhooks/") and r.method == "PATCH"]


async def test_recovery_past_the_token_finishes_the_recorded_edit_through_the_channel(bot, discord_emulator, store):
    """An edit was recorded while the token lived; the next start comes after it died: the
    reply itself gets the result (through the channel, no call with the dead token), no post."""
    job, inter = await queued(discord_emulator, store)
    assert await store.claim_intent(job.id, f"edit:{job.progress_message_id}", "result", at=discord_emulator.clock.now())
    discord_emulator.clock.advance(PAST_TOKEN)
    assert await deliver(bot, await store.get(job.id), result(job), resume=True)
    (message,) = showing(discord_emulator, job)
    assert message.id == inter.original_message.id and message.attachments
    assert not [r for r in discord_emulator.requests if r.path.startswith("/webhooks/") and r.method == "PATCH"]


@pytest.mark.parametrize(("age", "usable"), [(0, True), (869.5, True), (870, False), (900, False)])
def test_no_edit_starts_in_the_tokens_last_30_seconds(age, usable):
    """An upload started 29 s before the token dies may land after it: from 870 s on, a post."""
    bot = SimpleNamespace(discord_clock=lambda: 1_700_000_000.0 + age)
    job = SimpleNamespace(interaction_token="token", interaction_created_at=1_700_000_000.0)
    assert token_usable(bot, job) is usable
