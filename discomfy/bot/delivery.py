"""Getting a job's outcome to its user, however long the job took.

A job's message is edited through the interaction's webhook while its token lives (15 min);
after that, or when Discord says the token is gone, the outcome goes to the channel as a new
message mentioning the user (a private job's goes to the user as a direct message). Images and
videos above the guild's upload limit are re-encoded to fit.
The store's ``mark_delivered`` is atomic, so no result is ever delivered twice.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from discomfy.bot.views import result_view, retry_view
from discomfy.core.media.fit import fit_media
from discomfy.exceptions import DisComfyError

log = logging.getLogger(__name__)

TOKEN_LIFETIME = 15 * 60
TOKEN_MARGIN = 30  # do not start an edit that might land after the token died
GONE_CODES = {10015, 10062, 50027}  # unknown webhook, unknown interaction, invalid webhook token
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024
PERSIST_PAUSES = (0.2, 0.5, 1.0, 2.0, 4.0)
WEBHOOK_ATTEMPTS = 2  # each is already up to five tries inside discord.py
RETRY_PAUSE = 1.0


def token_gone(exc: discord.HTTPException) -> bool:
    """Discord says the interaction token can no longer be used (expired or unknown)."""
    return exc.code in GONE_CODES or exc.status in (401, 404)


class JobMessenger:
    """Edits one job's message, falling back to the channel when the token can't be used."""

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

    async def send_final(self, *, content: str | None, embed: discord.Embed, files: list[discord.File], view: discord.ui.View | None) -> int | None:
        """Replace the progress message, or post to the channel; returns the result message id.

        A webhook edit that keeps failing (discord.py gives up on a 429 after five tries, or
        Discord answers 5xx) is tried again after a pause, then sent through the channel, which
        is another rate-limit bucket: an outcome that exists is never thrown away."""
        for attempt in range(WEBHOOK_ATTEMPTS if self.token_alive() else 0):
            try:
                message = await self._webhook().edit_message(
                    self.job.progress_message_id, content=content, embed=embed, attachments=files, view=view
                )
                return message.id
            except discord.HTTPException as exc:
                for file in files:
                    file.reset()
                if token_gone(exc):
                    log.info("job %s: interaction token gone (%s); delivering through the channel", self.job.id, exc.code)
                    break
                log.warning("job %s: delivering failed (%s %s), attempt %d", self.job.id, exc.status, exc.code, attempt + 1)
                if attempt + 1 < WEBHOOK_ATTEMPTS:
                    await asyncio.sleep(RETRY_PAUSE * (attempt + 1))
        if self.job.private:  # shown only to its owner: never to the channel
            dm = await self.bot.create_dm(discord.Object(id=self.job.user_id))
            message = await dm.send(content=content, embed=embed, files=files, **({"view": view} if view else {}))
            return message.id  # the ephemeral progress message cannot be edited without the token
        channel = self.bot.get_partial_messageable(self.job.channel_id)
        mention = f"<@{self.job.user_id}>"
        text = f"{mention} {content}" if content else mention
        kwargs: dict[str, Any] = {"content": text, "embed": embed, "files": files,
                                  "allowed_mentions": discord.AllowedMentions(users=True)}
        if view is not None:
            kwargs["view"] = view
        message = await channel.send(**kwargs)
        await self._retire_progress_message(message)
        return message.id

    async def _retire_progress_message(self, outcome: discord.Message) -> None:
        """Point the old progress message at the outcome and drop its Cancel button (through
        the channel: the token is gone). Best effort: the outcome itself was delivered."""
        if not self.job.progress_message_id:
            return
        embed = discord.Embed(title=f"/{self.job.command} finished", description=f"The outcome is here: {outcome.jump_url}")
        try:
            await self.bot.get_partial_messageable(self.job.channel_id).get_partial_message(
                self.job.progress_message_id).edit(embed=embed, view=None)
        except discord.HTTPException as exc:
            log.info("job %s: could not update its old progress message: %s", self.job.id, exc)


def notify_finished(bot: Any, job: Any) -> None:
    """Tell plugins a job ended. A plugin's crash is logged, never turned into the job's
    failure: the user already has their outcome."""
    try:
        bot.plugin_manager.hook.discomfy_job_finished(job=job)
    except Exception:
        log.exception("a discomfy_job_finished hook failed for job %s", job.id)


def guild_upload_limit(bot: Any, guild_id: int | None) -> int:
    """The guild's upload limit as discord.py knows it (boosts raise it), when the job's own
    interaction is gone, e.g. after a restart."""
    guild = bot.get_guild(guild_id) if guild_id else None
    return guild.filesize_limit if guild is not None else DEFAULT_UPLOAD_LIMIT


def job_messenger(bot: Any, job: Any) -> JobMessenger:
    return JobMessenger(bot, job)


def result_embed(job: Any, spec: Any, note: str | None = None) -> discord.Embed:
    params = job.parameters
    embed = discord.Embed(title=f"/{job.command} · {spec.model}", colour=discord.Colour.green())
    if params.get("prompt"):
        embed.description = str(params["prompt"])[:4000]
    if job.seed is not None:
        embed.add_field(name="Seed", value=f"`{job.seed}`", inline=True)
    for key in ("steps", "guidance", "cfg", "width", "height", "aspect_ratio", "lora", "denoise", "factor"):
        if params.get(key) not in (None, ""):
            embed.add_field(name=key.replace("_", " ").title(), value=str(params[key])[:1024], inline=True)
    for source, names in sources_by_origin(job).items():
        embed.add_field(name=f"From {source}"[:256], value=", ".join(names)[:1024], inline=False)
    footer = f"Job {job.id}"
    if note:
        footer += f" · {note}"
    embed.set_footer(text=footer[:2048])
    return embed


def sources_by_origin(job: Any) -> dict[str, list[str]]:
    """``{"your defaults": ["aspect_ratio", "lora"]}``: which values a plugin supplied, by who."""
    grouped: dict[str, list[str]] = {}
    for name, source in sorted((getattr(job, "parameter_sources", None) or {}).items()):
        grouped.setdefault(str(source), []).append(name)
    return grouped


async def deliver_result(bot: Any, job: Any, spec: Any, result: Any) -> None:
    limit = bot.generation.runs.upload_limit(job.id) or guild_upload_limit(bot, job.guild_id)
    # re-encoding a large image or video takes seconds of CPU: off the event loop
    fitted = await asyncio.to_thread(fit_media, [(img.filename, img.data) for img in result.images], limit)
    outputs = [{"filename": i.source.filename, "subfolder": i.source.subfolder, "type": i.source.type}
               for i in result.images if i.source is not None]
    if not fitted.files:
        await deliver_failure(bot, job, fitted.note or "The result is too large to upload here.")
        return
    current = await bot.store.get(job.id)
    if current is None or current.is_final:
        log.warning("job %s was already delivered, cancelled or failed; not sending its result", job.id)
        return
    files = [discord.File(io.BytesIO(data), name) for name, data in fitted.files]
    embed = result_embed(job, spec, fitted.note)
    view = result_view(bot.result_actions.for_result(job, spec), job, len(files))
    # sent first, claimed after: if the bot stops in between, recovery sends it again, which
    # (an edit of the job's own message) the user sees once; the claim is atomic, so two
    # paths racing in one process cannot both report it
    message_id = await job_messenger(bot, job).send_final(content=None, embed=embed, files=files, view=view)
    # the user has the result now: a store that refuses the write (locked, full) must not turn
    # it into a failure message, so the record is retried until it lands
    claimed = await persist(lambda: bot.store.mark_delivered(job.id), f"mark job {job.id} delivered")
    if claimed is False:
        log.warning("job %s ended elsewhere while its result was being sent", job.id)
        return
    await persist(lambda: bot.store.update(job.id, result_message_id=message_id, outputs=outputs,
                                           prompt_id=result.prompt_id, parameters=job.parameters),
                  f"record the result of job {job.id}")
    notify_finished(bot, job)


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


async def deliver_failure(bot: Any, job: Any, message: str, *, retry: bool = False, state: str = "failed") -> None:
    """End a job with a clear failure message in its own message (and never leave it open)."""
    # the user hears first; a store that is locked right now gets the record when it frees up
    record = asyncio.ensure_future(persist(lambda: bot.store.update(job.id, state=state, error_message=message),
                                           f"record the failure of job {job.id}"))
    title = f"/{job.command} cancelled" if state == "cancelled" else f"/{job.command} failed"
    embed = discord.Embed(title=title, description=message[:4000], colour=discord.Colour.red())
    embed.set_footer(text=f"Job {job.id}")
    try:
        await job_messenger(bot, job).send_final(content=None, embed=embed, files=[], view=retry_view(job) if retry else None)
    except Exception as exc:  # the job is ended in the store either way
        log.error("job %s: could not tell the user it failed: %s", job.id, exc)
    await record
    notify_finished(bot, job)
