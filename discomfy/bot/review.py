"""Running the two review hooks: who asks (from the interaction), and acting on the decisions.

The review objects and their rules live in ``discomfy.core.review``; this module builds the
``Requester`` from what Discord sent and calls the plugins. Moderation fails closed: a plugin
that raises refuses the submission, or withholds the result, and the log names the plugin.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

import discord

from discomfy.core.review import Requester, ResultReview, SubmissionReview
from discomfy.exceptions import ValidationError

log = logging.getLogger(__name__)

REVIEW_FAILED = "The bot could not check your request right now; please try again in a minute."
RESULT_CHECK_FAILED = "Your result could not be checked before posting, so it was not posted. Please try again."


def requester_of(interaction: discord.Interaction) -> Requester:
    """Who asks and where, as Discord told the bot with this interaction."""
    user = interaction.user
    roles = frozenset(role.id for role in getattr(user, "roles", ()) if role.id != interaction.guild_id)
    permissions = getattr(interaction, "permissions", None)
    return Requester(
        user_id=user.id,
        guild_id=interaction.guild_id,
        channel_id=interaction.channel_id,
        role_ids=roles,
        permissions=permissions.value if permissions is not None else 0,
        channel_nsfw=channel_is_nsfw(interaction.channel),
    )


def channel_is_nsfw(channel: Any) -> bool:
    """Discord's age-restricted flag (threads inherit their parent's); False when unknown."""
    is_nsfw = getattr(channel, "is_nsfw", None)
    try:
        return bool(is_nsfw()) if callable(is_nsfw) else bool(getattr(channel, "nsfw", False))
    except AttributeError:  # a partial channel knows no more than its id
        return False


async def review_submission(bot: Any, review: SubmissionReview) -> None:
    """Let every plugin decide; raises ``ValidationError`` with the first refusal (after
    giving back whatever plugins reserved)."""
    try:
        pending = bot.plugins.manager.hook.discomfy_review_submission(review=review)
        for follow_up in pending:
            if review.refused:
                break
            if callable(follow_up):
                outcome = follow_up(review)
                if inspect.isawaitable(outcome):
                    await outcome
    except Exception:
        log.exception("a discomfy_review_submission hook failed for /%s (job %s); refusing it",
                      review.command, review.job_id)
        review.refuse(REVIEW_FAILED)
    if review.refused:
        drop(review)
        raise ValidationError(review.refusal, detail=f"job {review.job_id} (/{review.command}) refused by review")


def drop(review: SubmissionReview) -> None:
    """The submission will not become a job: plugins give back what they reserved."""
    for error in review.drop():
        log.error("an on_dropped callback failed for job %s", review.job_id, exc_info=error)


async def review_result(bot: Any, job: Any, files: list[tuple[str, bytes]]) -> ResultReview:
    """Let every plugin decide on a result before it is delivered."""
    review = ResultReview(job=job, files=files, channel_nsfw=channel_is_nsfw(job_channel(bot, job)))
    try:
        for follow_up in bot.plugins.manager.hook.discomfy_review_result(review=review):
            if callable(follow_up):
                outcome = follow_up(review)
                if inspect.isawaitable(outcome):
                    await outcome
    except Exception:
        log.exception("a discomfy_review_result hook failed for job %s; withholding its result", job.id)
        review.withhold(RESULT_CHECK_FAILED, "a result review failed")
    return review


def access_notes(bot: Any, interaction: discord.Interaction) -> list[str]:
    """What plugins say this member may use here (``discomfy_describe_access``), for /help and
    /status; a failing plugin is logged and left out, so the command still answers."""
    requester = requester_of(interaction)
    lines: list[str] = []
    for impl in bot.plugins.manager.hook.discomfy_describe_access.get_hookimpls():
        try:
            lines += impl.function(requester=requester) or []
        except Exception:
            log.exception("discomfy_describe_access of %s failed", impl.plugin_name)
    return lines


def job_channel(bot: Any, job: Any) -> Any:
    return bot.get_channel(job.channel_id) if job.channel_id else None


__all__ = ["access_notes", "channel_is_nsfw", "drop", "requester_of", "review_result", "review_submission"]
