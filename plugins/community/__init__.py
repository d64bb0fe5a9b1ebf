"""Running the bot in a public community: per-server rules, word lists, strikes and bans, NSFW
gating, quotas, and an audit channel -- all through the host's generic hooks.

The host knows nothing of moderation. This plugin answers ``discomfy_review_submission``
(blocks, channel and role limits, refused and stripped words, the forced negative prompt,
quotas), ``discomfy_review_result`` (the NSFW output classifier where the server does not
allow NSFW), ``discomfy_job_finished`` (quota units given back), ``discomfy_private_results``
(a server's default visibility) and ``discomfy_describe_access`` (what ``/help`` and
``/status`` tell a member about this server). A server's admins edit its rules with
``/server``; members see their quota with ``/usage``. The modules: ``rules`` (a server's rules
over ``[community]`` in settings.toml), ``words`` (robust word matching), ``strikes``,
``quotas``, ``nsfw`` (the classifier, optional extra ``discomfy[nsfw]``), ``audit``, ``gate``
(the decisions), ``admin`` (``/server``) and ``usage`` (``/usage``).
"""

from __future__ import annotations

import importlib.util
import logging
import time
from typing import Any

from discord.ext import commands

from discomfy import hookimpl

from .admin import NsfwPolicySelect, ServerAdminCog
from .audit import AuditLog, channel_sender
from .gate import Gate, blocked_message, mentions
from .nsfw import OutputClassifier
from .quotas import QuotaLedger
from .rules import NSFW_ACTIONS, NSFW_POLICIES, QUOTA_UNITS, RuleBook
from .strikes import NAMESPACE as MODERATION, Moderation
from .usage import UsageCog
from .words import check_rule

log = logging.getLogger(__name__)
#: why the NSFW classifier cannot run here (None: its package is installed)
CLASSIFIER_OFF = None if importlib.util.find_spec("nudenet") else "NudeNet is not installed: pip install 'discomfy[nsfw]'"


class CommunityCog(commands.Cog, name="community"):
    """The hooks; the state they share is built in ``setup``."""

    def __init__(self, bot: Any, rulebook: RuleBook, gate: Gate, audit: AuditLog) -> None:
        self.bot, self.rulebook, self.gate, self.audit = bot, rulebook, gate, audit

    async def cog_load(self) -> None:
        await self.audit.start()

    async def cog_unload(self) -> None:
        await self.gate.moderation.settle()
        await self.audit.stop()

    @hookimpl
    def discomfy_review_submission(self, review: Any) -> None:
        self.gate.review_submission(review)

    @hookimpl
    def discomfy_review_result(self, review: Any) -> Any:
        return self.gate.review_result(review)

    @hookimpl
    def discomfy_job_finished(self, job: Any) -> None:
        self.gate.quotas.finished(job)

    @hookimpl
    def discomfy_private_results(self, guild_id: int | None) -> bool | None:
        return True if guild_id is not None and self.rulebook.for_guild(guild_id).visibility == "private" else None

    @hookimpl
    def discomfy_describe_access(self, requester: Any) -> list[str]:
        if requester.guild_id is None:
            return []
        rules = self.rulebook.for_guild(requester.guild_id)
        now = time.time()
        block = self.gate.moderation.block_of(requester.guild_id, requester.user_id, now)
        lines = [blocked_message(block)] if block is not None else []
        for command, ids in sorted(rules.channels.items()):
            if ids:
                here = "works here" if requester.channel_id in ids else "not in this channel"
                lines.append(f"/{command}: only in {mentions(ids, 'channel')} ({here})")
        for command, ids in sorted(rules.roles.items()):
            if ids:
                mine = "you have one" if requester.role_ids & set(ids) else "you have none of them"
                lines.append(f"/{command}: only for {mentions(ids, 'role')} ({mine})")
        if rules.checks_results_in(requester.channel_nsfw):
            lines.append("NSFW results are not allowed here: results are checked before they are posted"
                         if CLASSIFIER_OFF is None else
                         "NSFW results are not allowed here (the automatic image checker is off on this bot, "
                         "so results are not checked)")
        usage = self.gate.quotas.usage(requester.guild_id, requester.user_id, requester.role_ids, rules.quotas, now)
        if usage.limit is not None:
            lines.append(f"Quota: {usage.left:g} of {usage.limit:g} {rules.quotas.unit.replace('_', ' ')} left "
                         f"(resets <t:{int(usage.resets_at)}:R>)" if usage.resets_at else
                         f"Quota: {usage.left:g} of {usage.limit:g} {rules.quotas.unit.replace('_', ' ')} left")
        return lines


def operator_problems(defaults: dict[str, Any]) -> list[str]:
    """What is wrong with the operator's ``[community]`` settings, each naming the key and the fix."""
    problems = [f"[community] {kind}: {rule!r} cannot be used: {reason}"
                for kind in ("refuse", "strip") for rule in defaults[kind] if (reason := check_rule(str(rule)))]
    for key, allowed in (("nsfw_policy", NSFW_POLICIES), ("nsfw_action", NSFW_ACTIONS), ("quota_unit", QUOTA_UNITS)):
        if defaults[key] not in allowed:
            problems.append(f"[community] {key} = {defaults[key]!r}: use one of {', '.join(allowed)}")
    return problems


async def setup(bot: Any) -> None:
    rulebook = RuleBook(bot)
    problems = operator_problems(rulebook.defaults)
    if problems:  # moderation that silently misreads its rules is worse than none: refuse to load
        raise ValueError("; ".join(problems))
    moderation = Moderation(lambda guild, name, value: (
        bot.jobs.guild_preferences.delete(guild, MODERATION, name) if value is None
        else bot.jobs.guild_preferences.set(guild, MODERATION, name, value)))
    quotas = QuotaLedger()
    if bot.jobs.store.is_open:  # not in `discomfy check`, which loads plugins without the store
        moderation.load(bot.jobs.guild_preferences.owners(MODERATION))
        await quotas.load(bot.jobs.store, time.time())
    section = bot.config.get("community", {}) or {}
    audit = AuditLog(channel_sender(bot), lambda guild: rulebook.for_guild(guild).audit_channel,
                     # at most a few messages per batch: Discord allows about 5 per 5 s in a channel
                     batch_seconds=float(section.get("audit_batch_seconds", 5.0)), max_pending=100)
    classifier = OutputClassifier()
    if CLASSIFIER_OFF is not None:  # the model itself loads on first need, off the event loop
        log.warning("community: the NSFW classifier is off (%s). Results are posted unchecked; word lists, strikes, "
                    "bans, channel and role rules and quotas still apply.", CLASSIFIER_OFF)
    gate = Gate(rulebook, moderation, quotas, audit, classifier)
    await bot.add_cog(CommunityCog(bot, rulebook, gate, audit))
    admin = ServerAdminCog(bot, rulebook, moderation, audit, CLASSIFIER_OFF)
    NsfwPolicySelect.cog = admin
    bot.add_dynamic_items(NsfwPolicySelect)
    await bot.add_cog(admin)
    await bot.add_cog(UsageCog(bot, quotas, rulebook))
