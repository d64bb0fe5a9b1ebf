"""The delivery protocol: a job's outcome reaches its user exactly once, whenever the bot stops.

Three steps, each safe to repeat:

1. **Intent.** Before anything is sent, the store records which message will carry the outcome
   (``claim_intent``): ``edit:<id>`` (the job's own progress message), ``original`` (the
   interaction's first reply, when its id was never saved) or ``post:<nonce>`` (a new channel
   message, for a job that outlived its 15-minute interaction token; a private job's "channel"
   is its owner's direct messages, never the guild channel). Only one path can claim it, so a
   failover, a Cancel and the job's own run never both deliver.
2. **Send.** Every send is idempotent on Discord's side: an edit of a known message (doing it
   twice shows it once), or a channel post with ``nonce`` and ``enforce_nonce: true``, which
   Discord refuses to create twice within its nonce window. Past that window the bot first
   looks for its own earlier message (author = the bot, footer "Job <id>") before posting.
3. **Finish.** The final state is written by the intent's holder only (``finish``).

After a restart, recovery *finishes* a recorded intent (``resume=True``) instead of choosing a
new one, so whichever step the bot was stopped at, the user ends up with one message.
"""

from __future__ import annotations

import asyncio
import datetime
import io
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import discord

from discomfy.core.jobs.job import JobState
from discomfy.exceptions import DisComfyError

log = logging.getLogger(__name__)

TOKEN_LIFETIME = 15 * 60
TOKEN_MARGIN = 30  # do not start an edit that might land after the token died
GONE_CODES = {10015, 10062, 50027}  # unknown webhook, unknown interaction, invalid webhook token
UNKNOWN_MESSAGE = 10008
#: Discord checks ``enforce_nonce`` over "the past few minutes"; past this the bot looks first.
NONCE_TRUSTED_FOR = 120.0
PERSIST_PAUSES = (0.2, 0.5, 1.0, 2.0, 4.0)
SEND_PAUSES = (1.0, 2.0, 5.0, 10.0)  # a Discord outage at delivery time: try again, then leave it to recovery
WEBHOOK_ATTEMPTS = 2  # each is already up to five tries inside discord.py
RETRY_PAUSE = 1.0


@dataclass
class Outcome:
    """What a job ends with: ``kind`` is recorded with the intent ("result", "failed",
    "failed+retry", "cancelled"); ``record`` holds the fields written with the final state."""

    kind: str
    state: JobState
    embed: discord.Embed
    files: list[tuple[str, bytes]] = field(default_factory=list)
    view: discord.ui.View | None = None
    note: str | None = None  # the failure reason, kept with the intent for recovery
    record: dict[str, Any] = field(default_factory=dict)

    def discord_files(self) -> list[discord.File]:
        return [discord.File(io.BytesIO(data), name) for name, data in self.files]


class MessageGone(Exception):
    """The message an intent names no longer exists (deleted, or the interaction never answered)."""


def token_gone(exc: discord.HTTPException) -> bool:
    """Discord says the interaction token can no longer be used (expired or unknown)."""
    return exc.code in GONE_CODES or exc.status in (401, 404)


def token_usable(bot: Any, job: Any) -> bool:
    if not job.interaction_token:
        return False
    return bot.discord_clock() - (job.interaction_created_at or 0) < TOKEN_LIFETIME - TOKEN_MARGIN


def nonce_for(job: Any) -> str:
    """One nonce per job (Discord allows 25 characters): the same on every retry and restart."""
    return f"discomfy-{job.id}"


def intent_for(bot: Any, job: Any) -> str:
    if token_usable(bot, job):
        return f"edit:{job.progress_message_id}" if job.progress_message_id else "original"
    return f"post:{nonce_for(job)}"


async def persist(write: Callable[[], Awaitable[Any]], what: str) -> Any:
    """Run a store write, retrying while the store refuses it (locked, disk full) for up to
    about ``sum(PERSIST_PAUSES)`` seconds. Gives up with an error in the log: the job then
    stays open in the store and restart recovery ends it."""
    for pause in (*PERSIST_PAUSES, None):
        try:
            return await write()
        except DisComfyError as exc:
            if pause is None:
                log.error("could not %s: %s", what, exc.detail)
                return None
            log.warning("could not %s yet (%s); retrying in %.1f s", what, exc.detail, pause)
            await asyncio.sleep(pause)
    return None


async def deliver(bot: Any, job: Any, outcome: Outcome, *, resume: bool = False) -> bool:
    """Claim, send, finish (see the module docstring). True when this call ended the job.
    ``resume``: finish the intent a stopped bot recorded (recovery) instead of claiming anew."""
    current = await persist(lambda: bot.store.get(job.id), f"read job {job.id}")
    if current is None or current.is_final:
        log.info("job %s already ended (%s); not sending its %s", job.id, current and current.state.value, outcome.kind)
        return False
    if current.delivery_intent is not None and not resume:
        log.warning("job %s is already being delivered (%s); not sending its %s", job.id,
                    current.delivery_intent, outcome.kind)
        return False
    target = current.delivery_intent if resume and current.delivery_intent else intent_for(bot, current)
    claimed = await persist(lambda: bot.store.claim_intent(
        job.id, target, outcome.kind, expect_intent=current.delivery_intent, at=bot.discord_clock(),
        note=outcome.note), f"record how job {job.id} will be delivered")
    if claimed is None:
        return False
    shown = await _shown_already(bot, claimed, target, outcome) if resume and current.delivery_intent else None
    if shown is not None:  # the stopped bot's send landed: only its end was not recorded
        return bool(await persist(lambda: bot.store.finish(job.id, outcome.state, intent=target, result_message_id=shown,
                                                           **outcome.record), f"record the end of job {job.id}"))
    for pause in (*SEND_PAUSES, None):
        try:
            target, message_id = await _send(bot, claimed, target, outcome)
            break
        except _Abandoned:
            return False
        except (discord.HTTPException, OSError, asyncio.TimeoutError) as exc:
            if pause is None:
                log.error("job %s: could not deliver its %s (%s); the next start finishes it", job.id, outcome.kind, exc)
                return False
            log.warning("job %s: delivering failed (%s); retrying in %.0f s", job.id, exc, pause)
            await asyncio.sleep(pause)
    done = await persist(lambda: bot.store.finish(job.id, outcome.state, intent=target, result_message_id=message_id,
                                                  **outcome.record), f"record the end of job {job.id}")
    return bool(done)


async def _shown_already(bot: Any, job: Any, target: str, outcome: Outcome) -> int | None:
    """The id of the job's own message when it already shows ``outcome`` (an edit that landed
    before the bot stopped), so recovery does not upload it again. Posts need no look: their
    nonce, or the look-up past its window, already makes them once-only."""
    kind, _, ref = target.partition(":")
    if kind != "edit":
        return None
    try:
        message = await bot.get_partial_messageable(job.channel_id).fetch_message(int(ref))
    except discord.HTTPException as exc:
        log.info("job %s: could not look at its message (%s); sending again", job.id, exc)
        return None
    return message.id if shows(message, job.id, outcome) else None


def shows(message: discord.Message, job_id: str, outcome: Outcome) -> bool:
    """``message`` already carries this outcome of the job (a result, or this failure)."""
    if not carries_job(message, job_id):
        return False
    if outcome.kind == "result":
        return bool(message.attachments)
    return any(embed.title == outcome.embed.title and embed.description == outcome.embed.description
               for embed in message.embeds)


class _Abandoned(Exception):
    """Another path took the delivery over while this one switched targets."""


async def _send(bot: Any, job: Any, target: str, outcome: Outcome) -> tuple[str, int]:
    """Send ``outcome`` to ``target``; a vanished message moves the intent to a channel post."""
    kind, _, ref = target.partition(":")
    if kind in ("edit", "original"):
        try:
            return target, await _edit(bot, job, ref if kind == "edit" else "@original", outcome)
        except MessageGone:
            new = f"post:{nonce_for(job)}"
            log.info("job %s: its message is gone; posting the outcome in the channel instead", job.id)
            moved = await persist(lambda: bot.store.claim_intent(job.id, new, outcome.kind, expect_intent=target,
                                                                 at=bot.discord_clock(), note=outcome.note),
                                  f"move the delivery of job {job.id} to a channel post")
            if moved is None:
                raise _Abandoned from None
            # the gone message was the job's own: nothing is left to point at the outcome
            return new, await _post(bot, moved, nonce_for(job), outcome, retire=False)
    return target, await _post(bot, job, ref, outcome)


async def _edit(bot: Any, job: Any, message_id: str, outcome: Outcome) -> int:
    """Edit a known message: through the interaction webhook while its token lives, else (or
    when Discord keeps refusing the webhook) through the channel, which the bot may also do."""
    webhook = discord.Webhook.partial(bot.application_id, job.interaction_token or "-", client=bot)
    for attempt in range(WEBHOOK_ATTEMPTS if token_usable(bot, job) else 0):
        try:
            message = await webhook.edit_message(message_id, content=None, embed=outcome.embed,
                                                 attachments=outcome.discord_files(), view=outcome.view)
            return message.id
        except discord.HTTPException as exc:
            if exc.code == UNKNOWN_MESSAGE or (message_id == "@original" and exc.status == 404):
                raise MessageGone from exc
            if token_gone(exc):
                log.info("job %s: interaction token gone (%s); editing through the channel", job.id, exc.code)
                break
            log.warning("job %s: webhook edit failed (%s %s), attempt %d", job.id, exc.status, exc.code, attempt + 1)
            if attempt + 1 < WEBHOOK_ATTEMPTS:
                await asyncio.sleep(RETRY_PAUSE * (attempt + 1))
    if message_id == "@original" or job.private:
        raise MessageGone  # without the token the first reply (or an ephemeral one) cannot be reached
    partial = bot.get_partial_messageable(job.channel_id).get_partial_message(int(message_id))
    try:
        message = await partial.edit(content=None, embed=outcome.embed, attachments=outcome.discord_files(),
                                     view=outcome.view)
    except discord.NotFound as exc:
        raise MessageGone from exc
    return message.id


async def _post(bot: Any, job: Any, nonce: str, outcome: Outcome, *, retire: bool = True) -> int:
    """A channel post mentioning the user, once: Discord deduplicates by nonce within its
    window; past it, the bot's own earlier post is looked up first."""
    channel = await outcome_channel(bot, job)
    since = job.intent_at or bot.discord_clock()
    retire = retire and not job.private  # an ephemeral message cannot be edited without the token
    if bot.discord_clock() - since > NONCE_TRUSTED_FOR:
        earlier = await find_own_message(bot, job, since)
        if earlier is not None:
            log.info("job %s: found its earlier post %s; not posting again", job.id, earlier.id)
            if retire:
                await _retire_progress_message(bot, job, earlier)
            return earlier.id
    kwargs: dict[str, Any] = {"embed": outcome.embed, "files": outcome.discord_files(), "nonce": nonce}
    if not job.private:  # in a direct message the user needs no mention
        kwargs.update(content=f"<@{job.user_id}>", allowed_mentions=discord.AllowedMentions(users=True))
    if outcome.view is not None:
        kwargs["view"] = outcome.view
    message = await channel.send(**kwargs)  # discord.py sends enforce_nonce: true with a nonce
    if retire:
        await _retire_progress_message(bot, job, message)
    return message.id


async def outcome_channel(bot: Any, job: Any) -> discord.abc.Messageable:
    """Where a new message about ``job`` goes: its channel, or a private job's owner's DMs
    (opening a DM channel is idempotent on Discord's side: the same channel every time)."""
    if job.private:
        return await bot.create_dm(discord.Object(id=job.user_id))
    return bot.get_partial_messageable(job.channel_id)


def carries_job(message: discord.Message, job_id: str) -> bool:
    return any((embed.footer.text or "").split(" · ")[0] == f"Job {job_id}" for embed in message.embeds)


async def find_own_message(bot: Any, job: Any, since: float) -> discord.Message | None:
    """The bot's own channel message for ``job`` created after ``since`` (minus a minute of
    clock slack), if any."""
    after = datetime.datetime.fromtimestamp(since - 60, tz=datetime.timezone.utc)
    channel = await outcome_channel(bot, job)
    async for message in channel.history(after=after, limit=500):
        if message.author.id == bot.user.id and carries_job(message, job.id):
            return message
    return None


async def _retire_progress_message(bot: Any, job: Any, outcome: discord.Message) -> None:
    """Point the old progress message at the outcome and drop its Cancel button (through
    the channel: the token is gone). Best effort: the outcome itself was delivered."""
    if not job.progress_message_id or job.progress_message_id == outcome.id:
        return
    embed = discord.Embed(title=f"/{job.command} finished", description=f"The outcome is here: {outcome.jump_url}")
    try:
        await bot.get_partial_messageable(job.channel_id).get_partial_message(job.progress_message_id).edit(
            embed=embed, view=None)
    except discord.HTTPException as exc:
        log.info("job %s: could not update its old progress message: %s", job.id, exc)


__all__ = ["MessageGone", "Outcome", "carries_job", "deliver", "find_own_message", "intent_for", "nonce_for",
           "outcome_channel", "persist", "token_gone", "token_usable"]
