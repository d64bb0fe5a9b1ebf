"""Channel posts, once: how an outcome reaches its user once the interaction token is gone.

A post carries a per-job ``nonce`` with ``enforce_nonce: true``, which Discord refuses to create
twice within its nonce window; past that window the bot first looks for its own earlier post
(author = the bot, footer "Job <id>"). A private job's "channel" is its owner's direct
messages, never the guild channel. Used by ``delivery_protocol``, which decides when to post.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

import discord

log = logging.getLogger(__name__)

#: Discord checks ``enforce_nonce`` over "the past few minutes"; past this the bot looks first.
NONCE_TRUSTED_FOR = 120.0


async def post_once(bot: Any, job: Any, nonce: str, outcome: Any, *, retire: bool = True) -> int:
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


__all__ = ["NONCE_TRUSTED_FOR", "carries_job", "find_own_message", "outcome_channel", "post_once"]
