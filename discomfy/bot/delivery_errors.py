"""Discord's answers to a delivery, sorted: which refusals pass and which never will.

A 429 that discord.py's own retries did not get past, a 5xx, a lost connection or a timeout
may pass later: the delivery is retried, and a stop leaves it to the next start. Any other 4xx
is Discord's final word on that request: sending it again, now or after a restart, gets the
same answer. Some of those have a route that works (a gone message or token: see
``delivery_protocol``); the rest end the job at once. The table with Discord's codes, and what
the user sees for each, is docs/delivery-errors.md.
"""

from __future__ import annotations

from typing import TypeGuard

import discord

GONE_CODES = {10015, 10062, 50027}  # unknown webhook, unknown interaction, invalid webhook token
UNKNOWN_MESSAGE = 10008
TOO_LARGE = 40005
#: what the user is told when Discord refuses an outcome for good (any other 4xx: ``REFUSED``)
REFUSALS = {
    TOO_LARGE: "Discord refused the result: it is larger than this server accepts.",
    50035: "Discord refused the message carrying the outcome as malformed.",
    50006: "Discord refused the message carrying the outcome as empty.",
    50013: "The bot lacks a permission it needs to post here (Send Messages, Attach Files or Embed Links).",
    50001: "The bot has no access to this channel.",
    10003: "The channel this job was started in no longer exists.",
    50007: "Discord does not let the bot send you direct messages.",
}
REFUSED = "Discord refused to show the outcome (HTTP {status}, code {code})."


def token_gone(exc: discord.HTTPException) -> bool:
    """Discord says the interaction token can no longer be used (expired or unknown)."""
    return exc.code in GONE_CODES or exc.status in (401, 404)


def permanent(exc: BaseException) -> TypeGuard[discord.HTTPException]:
    """Discord refused the request for good: a 4xx other than 429. Anything else (a 429 or 5xx
    discord.py gave up on, a lost connection, a timeout) is transient."""
    return isinstance(exc, discord.HTTPException) and 400 <= exc.status < 500 and exc.status != 429


def refusal(exc: discord.HTTPException) -> str:
    """The user's words for a permanent refusal (a 413 from a proxy carries no Discord code)."""
    code = TOO_LARGE if exc.status == 413 else exc.code
    return REFUSALS.get(code) or REFUSED.format(status=exc.status, code=exc.code)


__all__ = ["GONE_CODES", "REFUSALS", "UNKNOWN_MESSAGE", "permanent", "refusal", "token_gone"]
