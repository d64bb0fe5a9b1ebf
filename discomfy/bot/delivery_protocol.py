"""The delivery protocol: a job's outcome reaches its user exactly once, whenever the bot stops.

Three steps, each safe to repeat:

1. **Intent.** Before anything is sent, the store records which message will carry the outcome
   (``claim_intent``): ``edit:<id>`` (the job's own progress message), ``original`` (the
   interaction's first reply, when its id was never saved; looked up before it is edited, as
   the bot may have stopped before answering) or ``post:<nonce>`` (a new channel message, for
   a job that outlived its 15-minute interaction token; a private job's "channel" is its
   owner's direct messages, never the guild channel). Only one path can claim it, so a
   failover, a Cancel and the job's own run never both deliver.
2. **Send.** Every send is idempotent on Discord's side: an edit of a known message (doing it
   twice shows it once), or a channel post with ``nonce`` and ``enforce_nonce: true``, which
   Discord refuses to create twice within its nonce window. Past that window the bot first
   looks for its own earlier message (author = the bot, footer "Job <id>") before posting.
3. **Finish.** The final state is written by the intent's holder only (``finish``).

Discord's refusals are sorted (``delivery_errors``, table in docs/delivery-errors.md): a 429, a
5xx or a lost connection is retried; any other 4xx gets the same answer however often it is
sent, so the job ends at once -- with a plain failure naming why in place of the refused
outcome, or unseen (logged) when even that is refused -- instead of being left open for the
next start, which would be refused the same way.

After a restart, recovery *finishes* a recorded intent (``resume=True``) instead of choosing a
new one, so whichever step the bot was stopped at, the user ends up with one message.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import discord

from discomfy.bot.delivery_errors import UNKNOWN_MESSAGE, permanent, refusal, token_gone
from discomfy.bot.delivery_posts import carries_job, post_once
from discomfy.core.jobs.job import JobState
from discomfy.exceptions import DisComfyError

log = logging.getLogger(__name__)

TOKEN_LIFETIME = 15 * 60
TOKEN_MARGIN = 30  # do not start an edit that might land after the token died
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

    def plain(self, job: Any, reason: str) -> Outcome | None:
        """What to show instead when Discord refuses this outcome for good: a failure with no
        files and no buttons (what Discord refuses is almost always one of those), naming why;
        None when this outcome is already that plain."""
        if not self.files and self.view is None:
            return None
        state = JobState.FAILED if self.state is JobState.DELIVERED else self.state
        message = reason if self.kind == "result" else self.note or reason
        embed = discord.Embed(title=f"/{job.command} {state.value}", description=message[:4000],
                              colour=discord.Colour.red())
        embed.set_footer(text=f"Job {job.id}")
        return Outcome(state.value, state, embed, note=message, record={**self.record, "error_message": message})


class MessageGone(Exception):
    """The message an intent names no longer exists (deleted, or the interaction never answered)."""


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
    current = await persist(lambda: bot.jobs.store.get(job.id), f"read job {job.id}")
    if current is None or current.is_final:
        log.info("job %s already ended (%s); not sending its %s", job.id, current and current.state.value, outcome.kind)
        return False
    if current.delivery_intent is not None and not resume:
        log.warning("job %s is already being delivered (%s); not sending its %s", job.id,
                    current.delivery_intent, outcome.kind)
        return False
    target = current.delivery_intent if resume and current.delivery_intent else intent_for(bot, current)
    claimed = await persist(lambda: bot.jobs.store.claim_intent(
        job.id, target, outcome.kind, expect_intent=current.delivery_intent, at=bot.discord_clock(),
        note=outcome.note), f"record how job {job.id} will be delivered")
    if claimed is None:
        return False
    shown = await _shown_already(bot, claimed, target, outcome) if resume and current.delivery_intent else None
    if shown is not None:  # the stopped bot's send landed: only its end was not recorded
        return await _finish(bot, _Claim(claimed, target), outcome, shown)
    return await _send_and_finish(bot, _Claim(claimed, target), outcome)


@dataclass
class _Claim:
    """The job as this delivery claimed it, and the intent it holds (moved by ``_send`` when
    the job's message turns out to be gone)."""

    job: Any
    target: str


async def _send_and_finish(bot: Any, claim: _Claim, outcome: Outcome) -> bool:
    for pause in (*SEND_PAUSES, None):
        try:
            message_id = await _send(bot, claim, outcome)
            break
        except _Abandoned:
            return False
        except (discord.HTTPException, OSError, asyncio.TimeoutError) as exc:
            if permanent(exc):
                return await _refused(bot, claim, outcome, exc)
            if pause is None:
                log.error("job %s: could not deliver its %s (%s); the next start finishes it", claim.job.id,
                          outcome.kind, exc)
                return False
            log.warning("job %s: delivering failed (%s); retrying in %.0f s", claim.job.id, exc, pause)
            await asyncio.sleep(pause)
    return await _finish(bot, claim, outcome, message_id)


async def _finish(bot: Any, claim: _Claim, outcome: Outcome, message_id: int | None) -> bool:
    return bool(await persist(lambda: bot.jobs.store.finish(claim.job.id, outcome.state, intent=claim.target,
                                                       result_message_id=message_id, **outcome.record),
                              f"record the end of job {claim.job.id}"))


async def _refused(bot: Any, claim: _Claim, outcome: Outcome, exc: discord.HTTPException) -> bool:
    """Discord refused ``outcome`` for good. Show a plain failure naming why in its place,
    recorded with the intent first so a restart sends that and not the refused outcome; when
    even that is refused, end the job unseen (logged): any later attempt would be refused too."""
    job, reason = claim.job, refusal(exc)
    plain = outcome.plain(job, reason)
    if plain is None:
        log.error("job %s: Discord refused its %s for good (%s %s: %s); ending it without a message",
                  job.id, outcome.kind, exc.status, exc.code, exc.text)
        return await _finish(bot, claim, outcome, None)
    log.warning("job %s: Discord refused its %s for good (%s %s: %s); showing a plain failure instead",
                job.id, outcome.kind, exc.status, exc.code, exc.text)
    switched = await persist(lambda: bot.jobs.store.claim_intent(job.id, claim.target, plain.kind, expect_intent=claim.target,
                                                            at=bot.discord_clock(), note=plain.note),
                             f"record that job {job.id} ends with a failure")
    if switched is None:
        return False
    return await _send_and_finish(bot, _Claim(switched, claim.target), plain)


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


async def _send(bot: Any, claim: _Claim, outcome: Outcome) -> int:
    """Send ``outcome`` to the claimed target; a vanished message moves the intent to a
    channel post (``claim`` then holds the new intent, which a retry continues)."""
    job = claim.job
    kind, _, ref = claim.target.partition(":")
    if kind in ("edit", "original"):
        try:
            return await _edit(bot, job, ref if kind == "edit" else await _original_id(bot, job), outcome)
        except MessageGone:
            new = f"post:{nonce_for(job)}"
            log.info("job %s: its message is gone; posting the outcome in the channel instead", job.id)
            moved = await persist(lambda: bot.jobs.store.claim_intent(job.id, new, outcome.kind, expect_intent=claim.target,
                                                                 at=bot.discord_clock(), note=outcome.note),
                                  f"move the delivery of job {job.id} to a channel post")
            if moved is None:
                raise _Abandoned from None
            claim.job, claim.target = moved, new
            job, ref = moved, nonce_for(job)
        # the gone message was the job's own: nothing is left to point at the outcome
        return await post_once(bot, job, ref, outcome, retire=False)
    return await post_once(bot, job, ref, outcome)


async def _original_id(bot: Any, job: Any) -> str:
    """The id of the interaction's first reply, looked up before it is edited: an interaction
    the bot never answered (stopped between storing the job and replying, which is where
    recovery meets this intent) has none, and an edit of it would only be refused (10008)."""
    if not token_usable(bot, job):
        raise MessageGone  # without the token the first reply cannot be reached
    webhook = discord.Webhook.partial(bot.application_id, job.interaction_token, client=bot)
    try:
        return str((await webhook.fetch_message("@original")).id)  # type: ignore[arg-type]
    except discord.NotFound as exc:
        raise MessageGone from exc


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
            if exc.code == UNKNOWN_MESSAGE:
                raise MessageGone from exc
            if token_gone(exc):
                log.info("job %s: interaction token gone (%s); editing through the channel", job.id, exc.code)
                break
            if permanent(exc):
                raise
            log.warning("job %s: webhook edit failed (%s %s), attempt %d", job.id, exc.status, exc.code, attempt + 1)
            if attempt + 1 < WEBHOOK_ATTEMPTS:
                await asyncio.sleep(RETRY_PAUSE * (attempt + 1))
    if job.private:
        raise MessageGone  # without the token an ephemeral message cannot be reached
    partial = bot.get_partial_messageable(job.channel_id).get_partial_message(int(message_id))
    try:
        message = await partial.edit(content=None, embed=outcome.embed, attachments=outcome.discord_files(),
                                     view=outcome.view)
    except discord.NotFound as exc:
        raise MessageGone from exc
    return message.id


__all__ = ["MessageGone", "Outcome", "deliver", "intent_for", "nonce_for", "persist", "token_usable"]
