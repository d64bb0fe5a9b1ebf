"""The community plugin's decisions: which submissions a server lets through, which results it posts.

A submission passes, in order: the member is not blocked or banned here; the command works in
this channel and for the member's roles; no prompt contains a refused word (each refusal is a
strike, enough strikes a block); strip-listed words are cut out and the server's forced
negative prompt added; a quota unit is reserved last, so a refusal for any other reason
never costs one. A result going to a channel where the server does not allow NSFW passes the
output classifier first. Everything refused, blocked, stripped or withheld goes to the
server's audit channel. Users read plain sentences naming the rule that applied.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from discord.utils import escape_markdown

from .audit import AuditEntry
from .rules import GuildRules, RuleBook
from .strikes import Block, Moderation
from .words import WordRules

WORD_LIST = "this server's word list"
SERVER_RULES = "this server's rules"
WITHHELD = ("Your result was not posted: the image checker found it is not safe for this channel.{where} "
            "Job `{job}`.")


@lru_cache(maxsize=256)
def word_rules(refuse: tuple[str, ...], strip: tuple[str, ...]) -> WordRules:
    """Compiled once per distinct pair of lists (they change only when an admin edits them)."""
    return WordRules(refuse=refuse, strip=strip)


def texts_of(review: Any) -> list[str]:
    """The free-text parameters a word list applies to: every prompt a command takes."""
    return [name for name in review.workflow.parameters if "prompt" in name and isinstance(review.value(name), str)]


def when(at: float | None) -> str:
    return "for good" if at is None else f"until <t:{int(at)}:f> (<t:{int(at)}:R>)"


def blocked_message(block: Block) -> str:
    if block.kind == "banned":
        return f"You are banned from using this bot on this server {when(block.until)}. Reason: {block.reason}"
    return f"You are blocked from using this bot on this server {when(block.until)}: {block.reason}."


def mentions(ids: list[int], kind: str) -> str:
    mark = "#" if kind == "channel" else "@&"
    return ", ".join(f"<{mark}{i}>" for i in ids)


class Gate:
    """Reviews submissions and results for every server; see the module docstring."""

    def __init__(self, rulebook: RuleBook, moderation: Moderation, quotas: Any, audit: Any, classifier: Any,
                 clock: Callable[[], float] = time.time) -> None:
        self.rulebook, self.moderation, self.quotas = rulebook, moderation, quotas
        self.audit, self.classifier, self.clock = audit, classifier, clock

    def note(self, guild_id: int | None, kind: str, text: str) -> None:
        if guild_id is not None:
            self.audit.record(AuditEntry(int(guild_id), kind, text, self.clock()))

    # --- submissions ----------------------------------------------------------------------

    def review_submission(self, review: Any) -> None:
        asker, command = review.requester, review.command
        rules = self.rulebook.for_guild(asker.guild_id)
        now = self.clock()
        guild = asker.guild_id
        block = self.moderation.block_of(guild, asker.user_id, now) if guild is not None else None
        if block is not None:
            review.refuse(blocked_message(block))
            return
        if not rules.command_allowed_in(command, asker.channel_id):
            review.refuse(f"/{command} can't be used in this channel on this server; "
                          f"use it in {mentions(rules.channels[command], 'channel')}.")
            self.note(guild, "refused", f"<@{asker.user_id}> /{command} in <#{asker.channel_id}>: not allowed there")
            return
        if not rules.command_allowed_for(command, asker.role_ids):
            review.refuse(f"/{command} is only for members with {mentions(rules.roles[command], 'role')} on this server.")
            self.note(guild, "refused", f"<@{asker.user_id}> /{command}: lacks the role it needs")
            return
        if self._refused_words(review, rules, now) or self._stripped_to_nothing(review, rules):
            return
        if rules.negative_prompt and review.takes("negative_prompt"):
            own = str(review.value("negative_prompt") or "").strip()
            forced = rules.negative_prompt if not own else f"{own}, {rules.negative_prompt}"
            review.rewrite("negative_prompt", forced, by=SERVER_RULES)
        refusal = self.quotas.reserve(review, rules.quotas, now)
        if refusal is not None:
            review.refuse(refusal)
            self.note(guild, "quota", f"<@{asker.user_id}> /{command}: over quota")

    def _refused_words(self, review: Any, rules: GuildRules, now: float) -> bool:
        words = word_rules(rules.refuse, rules.strip)
        asker = review.requester
        for name in texts_of(review):
            match = words.refused_by(review.value(name))
            if match is None:
                continue
            message = f"Your {name.replace('_', ' ')} was refused: \u201c{match.rule}\u201d is on {WORD_LIST}."
            typed = escape_markdown(review.value(name)[match.start:match.end])  # a user's text, quoted: no formatting
            self.note(asker.guild_id, "refused", f"<@{asker.user_id}> /{review.command}: rule \u201c{match.rule}\u201d "
                                                  f"matched \u201c{typed}\u201d")
            if asker.guild_id is not None:
                block = self.moderation.strike(asker.guild_id, asker.user_id, f"\u201c{match.rule}\u201d",
                                               rules.strikes, now)
                left = rules.strikes.count - self.moderation.strikes_of(asker.guild_id, asker.user_id, rules.strikes, now)
                if block is not None:
                    message += f" That was too many refusals: you are blocked on this server {when(block.until)}."
                    self.note(asker.guild_id, "blocked", f"<@{asker.user_id}> blocked {when(block.until)}: {block.reason}")
                elif rules.strikes.count > 0:
                    message += f" ({left} more and you will be blocked for a while.)"
            review.refuse(message)
            return True
        return False

    def _stripped_to_nothing(self, review: Any, rules: GuildRules) -> bool:
        words = word_rules(rules.refuse, rules.strip)
        for name in texts_of(review):
            kept, hit = words.strip(review.value(name))
            if not hit:
                continue
            if not kept.strip() and name == "prompt":
                review.refuse(f"Nothing is left of your prompt once the words on {WORD_LIST} are removed.")
                return True
            review.rewrite(name, kept, by=WORD_LIST)
            self.note(review.requester.guild_id, "stripped",
                      f"<@{review.requester.user_id}> /{review.command}: removed {', '.join(hit)} from the {name}")
        return False

    # --- results --------------------------------------------------------------------------

    def review_result(self, review: Any) -> Callable[[Any], Any] | None:
        job = review.job
        rules = self.rulebook.for_guild(job.guild_id)
        if not rules.checks_results_in(review.channel_nsfw):
            return None

        async def check(review: Any) -> None:
            if not await self.classifier.load():  # loaded on first need, off the event loop
                return  # not installed: /status and `discomfy check` say so
            finding = await self.classifier.check(review.files)
            if finding is None:
                return
            reason = f"NSFW classifier: {finding.label} {finding.score:.2f} in {finding.filename}"
            if rules.nsfw_action == "spoiler":
                review.spoiler(reason)
                self.note(job.guild_id, "spoilered", f"job `{job.id}` of <@{job.user_id}> posted as a spoiler ({reason})")
                return
            where = " Age-restricted channels of this server allow it." if rules.nsfw_policy == "nsfw_channels" else ""
            review.withhold(WITHHELD.format(where=where, job=job.id), reason)
            self.note(job.guild_id, "withheld", f"job `{job.id}` of <@{job.user_id}> withheld ({reason})")

        return check


__all__ = ["Gate", "blocked_message", "texts_of", "word_rules"]
