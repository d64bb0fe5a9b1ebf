"""One Discord server's rules: what its admins set in Discord, over the operator's defaults.

Admins edit their server's rules with ``/server`` (``admin.py``); the values live in
``bot.jobs.guild_preferences`` under this plugin's namespace, one JSON value per setting, so a
restart keeps them and one server never reads another's. Anything a server has not set comes
from the ``[community]`` section of ``settings.toml``, which is therefore the policy of every
server that sets nothing. ``GuildRules`` is the read-only view every part of the plugin asks;
it is rebuilt from memory on every use (reads are synchronous and cheap), so a change made
with ``/server`` applies to the very next job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NAMESPACE = "community"
NSFW_POLICIES = ("off", "nsfw_channels", "everywhere")
NSFW_ACTIONS = ("withhold", "spoiler")
QUOTA_UNITS = ("jobs", "gpu_seconds")
VISIBILITIES = ("public", "private")
DAY = 86400.0


@dataclass(frozen=True)
class QuotaRules:
    """How much each member may use: ``limit`` per ``period_seconds`` (``DAY``: per calendar
    day, UTC) in ``unit``. ``roles`` and ``users`` raise or lower it for some members: a
    member's own limit wins, else the most generous of their roles', else ``default``.
    A limit of ``None`` means unlimited."""

    unit: str = "jobs"
    period_seconds: float = DAY
    default: float | None = None
    roles: dict[int, float | None] = field(default_factory=dict)
    users: dict[int, float | None] = field(default_factory=dict)

    def limit_for(self, user_id: int, role_ids: frozenset[int]) -> float | None:
        if user_id in self.users:
            return self.users[user_id]
        granted = [self.roles[r] for r in role_ids if r in self.roles]
        if not granted:
            return self.default
        if any(limit is None for limit in granted):
            return None  # a role with no limit is the most generous of all
        return max(limit for limit in granted if limit is not None)

    @property
    def active(self) -> bool:
        return self.default is not None or bool(self.roles) or bool(self.users)


@dataclass(frozen=True)
class StrikeRules:
    """``count`` refusals within ``window_seconds`` block a member for ``block_seconds``
    (``count`` 0: strikes off)."""

    count: int = 3
    window_seconds: float = 3600.0
    block_seconds: float = 3600.0


@dataclass(frozen=True)
class GuildRules:
    """Everything one server decided (or inherits); see the module docstring."""

    guild_id: int
    #: command -> channel ids it works in (a command not listed works everywhere)
    channels: dict[str, list[int]] = field(default_factory=dict)
    #: command -> role ids that may use it (a command not listed: everyone)
    roles: dict[str, list[int]] = field(default_factory=dict)
    nsfw_policy: str = "nsfw_channels"
    nsfw_action: str = "withhold"
    refuse: tuple[str, ...] = ()
    strip: tuple[str, ...] = ()
    negative_prompt: str = ""
    strikes: StrikeRules = field(default_factory=StrikeRules)
    quotas: QuotaRules = field(default_factory=QuotaRules)
    audit_channel: int | None = None
    visibility: str | None = None  # None: each user's own choice (/settings)

    def command_allowed_in(self, command: str, channel_id: int | None) -> bool:
        allowed = self.channels.get(command)
        return not allowed or channel_id in allowed

    def command_allowed_for(self, command: str, role_ids: frozenset[int]) -> bool:
        allowed = self.roles.get(command)
        return not allowed or bool(role_ids & set(allowed))

    def checks_results_in(self, channel_nsfw: bool) -> bool:
        """Whether results going to such a channel pass the NSFW classifier."""
        if self.nsfw_policy == "everywhere":
            return False
        return self.nsfw_policy == "off" or not channel_nsfw


def _ids(values: Any) -> list[int]:
    return [int(v) for v in values or ()]


def _limits(values: Any) -> dict[int, float | None]:
    return {int(k): (None if v is None else float(v)) for k, v in (values or {}).items()}


def _optional_limit(value: Any) -> float | None:
    """Operators write 0 (or nothing) for "no quota"; stored values keep None for that."""
    return None if value in (None, "", 0) else float(value)


def defaults_from(config: Any) -> dict[str, Any]:
    """The ``[community]`` settings as the values a server that set nothing has."""
    section = config.get("community", {}) or {}
    return {
        "nsfw_policy": section.get("nsfw_policy", "nsfw_channels"),
        "nsfw_action": section.get("nsfw_action", "withhold"),
        "refuse": list(section.get("refuse", [])),
        "strip": list(section.get("strip", [])),
        "negative_prompt": section.get("negative_prompt", ""),
        "strikes": int(section.get("strikes", 3)),
        "strike_window_minutes": float(section.get("strike_window_minutes", 60)),
        "block_minutes": float(section.get("block_minutes", 60)),
        "quota_unit": section.get("quota_unit", "jobs"),
        "quota_period_hours": float(section.get("quota_period_hours", 24)),
        "quota_default": _optional_limit(section.get("quota_default", 0)),
        "audit_channel": int(section.get("audit_channel", 0)) or None,
    }


def rules_for(guild_id: int, saved: dict[str, Any], defaults: dict[str, Any]) -> GuildRules:
    """A server's rules from what its admins saved over the operator's ``defaults``."""
    values = {**defaults, **saved}
    hours = float(values["quota_period_hours"])
    return GuildRules(
        guild_id=guild_id,
        channels={c: _ids(v) for c, v in (values.get("channels") or {}).items()},
        roles={c: _ids(v) for c, v in (values.get("roles") or {}).items()},
        nsfw_policy=values["nsfw_policy"],
        nsfw_action=values["nsfw_action"],
        # the operator's words always apply; a server adds its own
        refuse=tuple(dict.fromkeys([*defaults["refuse"], *saved.get("refuse", [])])),
        strip=tuple(dict.fromkeys([*defaults["strip"], *saved.get("strip", [])])),
        negative_prompt=values["negative_prompt"],
        strikes=StrikeRules(int(values["strikes"]), float(values["strike_window_minutes"]) * 60,
                            float(values["block_minutes"]) * 60),
        quotas=QuotaRules(values["quota_unit"], DAY if hours == 24 else hours * 3600, values["quota_default"],
                          _limits(values.get("quota_roles")), _limits(values.get("quota_users"))),
        audit_channel=int(values["audit_channel"]) if values.get("audit_channel") else None,
        visibility=values.get("visibility"),
    )


class RuleBook:
    """Every server's rules, read from ``bot.jobs.guild_preferences`` on each use."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot

    @property
    def defaults(self) -> dict[str, Any]:
        return defaults_from(self.bot.config)

    def saved(self, guild_id: int) -> dict[str, Any]:
        return self.bot.jobs.guild_preferences.get(guild_id, NAMESPACE)

    def for_guild(self, guild_id: int | None) -> GuildRules:
        """The rules of ``guild_id``; direct messages (no guild) follow the operator's defaults."""
        if guild_id is None:
            return rules_for(0, {}, self.defaults)
        return rules_for(int(guild_id), self.saved(guild_id), self.defaults)

    async def set(self, guild_id: int, name: str, value: Any) -> None:
        await self.bot.jobs.guild_preferences.set(int(guild_id), NAMESPACE, name, value)

    async def reset(self, guild_id: int, name: str) -> None:
        await self.bot.jobs.guild_preferences.delete(int(guild_id), NAMESPACE, name)


__all__ = ["DAY", "GuildRules", "NAMESPACE", "NSFW_ACTIONS", "NSFW_POLICIES", "QUOTA_UNITS", "QuotaRules",
           "RuleBook", "StrikeRules", "VISIBILITIES", "defaults_from", "rules_for"]
