"""Getting a job's outcome to its user, however long the job took.

Progress is edited into the job's own message through the interaction's webhook while its
token lives (15 min). The outcome -- a result, or a failure naming its reason -- goes through
the delivery protocol (``discomfy.bot.delivery_protocol``): intent recorded, idempotent send,
final state written by the intent's holder, so no outcome is ever delivered twice or lost to
a restart. Past the token the outcome goes to the channel mentioning the user (a private job's
to the user as a direct message). Images and videos above the guild's upload limit are
re-encoded to fit.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord

from discomfy.bot.delivery_errors import token_gone
from discomfy.bot.delivery_protocol import TOKEN_LIFETIME, TOKEN_MARGIN, Outcome, deliver, persist
from discomfy.bot.review import review_result
from discomfy.bot.value_origins import by_origin
from discomfy.bot.views import result_view, retry_view
from discomfy.core.jobs.job import JobState
from discomfy.core.media.fit import fit_media
from discomfy.core.review import SPOILER, WITHHOLD
from discomfy.ops.deliveries import delivering

log = logging.getLogger(__name__)

DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024
WITHHELD_MESSAGE = "Your result was not posted: it breaks this server's rules."


class JobMessenger:
    """Edits one job's progress message while the interaction token lives (best effort)."""

    def __init__(self, bot: Any, job: Any) -> None:
        self.bot = bot
        self.job = job
        self.token_dead = False

    def token_alive(self) -> bool:
        if self.token_dead or not self.job.interaction_token or not self.job.progress_message_id:
            return False
        now = self.bot.discord_clock()
        return now - (self.job.interaction_created_at or 0) < TOKEN_LIFETIME - TOKEN_MARGIN

    def _webhook(self) -> discord.Webhook:
        return discord.Webhook.partial(self.bot.application_id, self.job.interaction_token, client=self.bot)

    async def edit_progress(self, embed: discord.Embed, files: list[discord.File]) -> None:
        if not self.token_alive():
            return  # progress is best-effort; the final outcome still reaches the channel
        try:
            await self._webhook().edit_message(self.job.progress_message_id, embed=embed, attachments=files)
        except discord.HTTPException as exc:
            if token_gone(exc):
                self.token_dead = True
            raise


async def notify_finished(bot: Any, job: Any) -> None:
    """Tell plugins a job ended, showing them the job as stored at its end (final state, end
    time), not this process's working copy. A plugin's crash is logged, never turned into the
    job's failure: the user already has their outcome."""
    try:
        ended = await bot.jobs.store.get(job.id)
    except Exception as exc:  # the store refused a read right now
        log.warning("job %s: could not read its end back (%s); telling plugins from memory", job.id, exc)
        ended = None
    try:
        bot.plugins.manager.hook.discomfy_job_finished(job=ended or job)
    except Exception:
        log.exception("a discomfy_job_finished hook failed for job %s", job.id)


def guild_upload_limit(bot: Any, guild_id: int | None) -> int:
    """The guild's upload limit as discord.py knows it (boosts raise it), when the job's own
    interaction is gone, e.g. after a restart."""
    guild = bot.get_guild(guild_id) if guild_id else None
    return guild.filesize_limit if guild is not None else DEFAULT_UPLOAD_LIMIT


def job_messenger(bot: Any, job: Any) -> JobMessenger:
    return JobMessenger(bot, job)


#: the job's values a result shows (``denoise`` and other hidden options never: users cannot set them)
SHOWN = ("steps", "guidance", "cfg", "width", "height", "aspect_ratio", "lora", "factor")


def result_embed(job: Any, spec: Any, note: str | None = None, *, scaled: bool = False) -> discord.Embed:
    """The result's embed; ``scaled``: a file was scaled down to fit, so the requested width
    and height are not what was delivered (the note says what was)."""
    params = job.parameters
    embed = discord.Embed(title=f"/{job.command} · {spec.model}", colour=discord.Colour.green())
    if params.get("prompt"):
        embed.description = str(params["prompt"])[:4000]
    if job.seed is not None:
        embed.add_field(name="Seed", value=f"`{job.seed}`", inline=True)
    for key in SHOWN:
        if scaled and key in ("width", "height"):
            continue
        if params.get(key) not in (None, ""):
            embed.add_field(name=key.replace("_", " ").title(), value=str(params[key])[:1024], inline=True)
    sources = getattr(job, "parameter_sources", None) or {}
    for source, names in by_origin(((name, name) for name in sorted(sources)), sources).items():
        embed.add_field(name=f"From {source}"[:256], value=", ".join(names)[:1024], inline=False)
    footer = f"Job {job.id}"
    if note:
        footer += f" · {note}"
    embed.set_footer(text=footer[:2048])
    return embed


@delivering  # its log lines name the job; a graceful stop waits for it; timed for /metrics
async def deliver_result(bot: Any, job: Any, spec: Any, result: Any, *, resume: bool = False) -> None:
    limit = bot.jobs.generation.runs.upload_limit(job.id) or guild_upload_limit(bot, job.guild_id)
    files = [(img.filename, img.data) for img in result.images]
    review = await review_result(bot, job, files)
    if review.decision == WITHHOLD:
        log.info("job %s: result withheld (%s)", job.id, "; ".join(review.reasons))
        await deliver_failure(bot, job, review.message or WITHHELD_MESSAGE, state="withheld", resume=resume)
        return
    if all(len(data) <= limit for _, data in files):  # the usual case: nothing to re-encode
        fitted = fit_media(files, limit)
    else:  # re-encoding a large image or video takes seconds of CPU: off the event loop
        fitted = await asyncio.to_thread(fit_media, files, limit)
    outputs = [{"filename": i.source.filename, "subfolder": i.source.subfolder, "type": i.source.type}
               for i in result.images if i.source is not None]
    if not fitted.files:
        await deliver_failure(bot, job, fitted.note or "The result is too large to upload here.", resume=resume)
        return
    shown = list(fitted.files)
    if review.decision == SPOILER:  # Discord blurs attachments whose name starts with SPOILER_
        shown = [(f"SPOILER_{name}", data) for name, data in shown]
    outcome = Outcome("result", JobState.DELIVERED, result_embed(job, spec, fitted.note, scaled=fitted.scaled), shown,
                      result_view(bot.result_actions.for_result(job, spec), job, len(fitted.files)),
                      record={"outputs": outputs, "prompt_id": result.prompt_id, "parameters": job.parameters})
    if await deliver(bot, job, outcome, resume=resume):
        await notify_finished(bot, job)


def failure_outcome(job: Any, message: str, *, retry: bool = False, state: str = "failed") -> Outcome:
    ending = state if state in ("cancelled", "withheld") else "failed"
    embed = discord.Embed(title=f"/{job.command} {ending}", description=message[:4000], colour=discord.Colour.red())
    embed.set_footer(text=f"Job {job.id}")
    kind = "failed+retry" if ending == "failed" and retry else ending
    return Outcome(kind, JobState(state), embed, view=retry_view(job) if retry else None, note=message,
                   record={"error_message": message})


@delivering
async def deliver_failure(bot: Any, job: Any, message: str, *, retry: bool = False, state: str = "failed",
                          resume: bool = False) -> None:
    """End a job with a clear failure message (in its own message, or the channel), once.
    ``state`` is "failed", "cancelled" or "withheld" (a result a review plugin kept back)."""
    if await deliver(bot, job, failure_outcome(job, message, retry=retry, state=state), resume=resume):
        await notify_finished(bot, job)


__all__ = ["JobMessenger", "deliver_failure", "deliver_result", "failure_outcome", "guild_upload_limit",
           "job_messenger", "notify_finished", "persist", "result_embed", "token_gone"]
