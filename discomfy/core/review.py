"""What a plugin sees and decides when it reviews a submission or a result.

Two hooks (``discomfy_review_submission``, ``discomfy_review_result``) let plugins moderate
without the host knowing what moderation is: the host hands each a review object, plugins
record their decision on it, and the host acts on the decision. Decisions are recorded, not
returned, so several plugins compose: a quota plugin and a word filter both look at the same
submission, the first refusal is the one the user reads, and whatever a plugin reserved for a
submission that does not become a job is released through ``on_dropped``.

Nothing here knows Discord: who asks is a ``Requester`` of plain ids and flags, built by the
bot from the interaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Discord's permission bits the host itself names (plugins may read any bit of ``permissions``)
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5


@dataclass(frozen=True)
class Requester:
    """Who asks, and where: what Discord tells the bot with every interaction."""

    user_id: int
    guild_id: int | None = None
    channel_id: int | None = None
    role_ids: frozenset[int] = frozenset()
    #: the member's permissions in this channel (Discord's bitfield; ADMINISTRATOR means all)
    permissions: int = 0
    #: the channel is age-restricted (Discord's ``nsfw`` flag)
    channel_nsfw: bool = False

    def has_permission(self, bit: int) -> bool:
        return bool(self.permissions & (bit | ADMINISTRATOR))


@dataclass
class SubmissionReview:
    """One submission before it is accepted; see the module docstring.

    ``parameters`` are the validated values (defaults filled in); a plugin changes one only
    through ``rewrite``, so the host can validate the result again and name who changed it."""

    requester: Requester
    job_id: str
    command: str
    workflow: Any
    parameters: dict[str, Any]
    refusal: str | None = None
    rewrites: dict[str, Any] = field(default_factory=dict)
    #: parameter -> who rewrote it ("this server's word list"), shown with the result
    rewritten_by: dict[str, str] = field(default_factory=dict)
    _on_dropped: list[Callable[[], None]] = field(default_factory=list, repr=False)

    @property
    def refused(self) -> bool:
        return self.refusal is not None

    def value(self, name: str) -> Any:
        """The parameter's value as the job will run it (after earlier plugins' rewrites)."""
        return self.rewrites.get(name, self.parameters.get(name))

    def takes(self, name: str) -> bool:
        """Whether this command has the parameter (a forced negative prompt needs one)."""
        return name in getattr(self.workflow, "parameters", {})

    def refuse(self, message: str) -> None:
        """Refuse the submission; ``message`` is what the user reads. The first refusal wins."""
        if self.refusal is None:
            self.refusal = message

    def rewrite(self, name: str, value: Any, *, by: str) -> None:
        """Run the job with ``value`` for ``name`` instead; ``by`` names who changed it."""
        if not self.takes(name):
            raise KeyError(f"/{self.command} has no parameter {name!r}")
        self.rewrites[name] = value
        self.rewritten_by[name] = by

    def on_dropped(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` if this submission does not become a job (refused by any plugin,
        or by the host afterwards): what a plugin reserved for it is given back."""
        self._on_dropped.append(callback)

    def drop(self) -> list[BaseException]:
        """The submission will not become a job: run every ``on_dropped`` callback once.
        Returns what the callbacks raised (the host logs it; the user already has an answer)."""
        callbacks, self._on_dropped = self._on_dropped, []
        errors: list[BaseException] = []
        for callback in callbacks:
            try:
                callback()
            except Exception as exc:
                errors.append(exc)
        return errors


DELIVER, SPOILER, WITHHOLD = "deliver", "spoiler", "withhold"
_SEVERITY = {DELIVER: 0, SPOILER: 1, WITHHOLD: 2}


@dataclass
class ResultReview:
    """One finished result before it is delivered. ``files`` are ``(filename, bytes)`` as
    ComfyUI made them; ``channel_nsfw`` is whether the channel it goes to is age-restricted.
    The strictest decision of all plugins wins: withhold over spoiler over deliver."""

    job: Any
    files: list[tuple[str, bytes]]
    channel_nsfw: bool = False
    decision: str = DELIVER
    #: what the job's owner reads when the result is withheld
    message: str | None = None
    #: why, for operators and audit logs (e.g. "nsfw classifier: FEMALE_BREAST_EXPOSED 0.91")
    reasons: list[str] = field(default_factory=list)

    def spoiler(self, reason: str) -> None:
        """Deliver the result behind Discord's spoiler blur."""
        self._decide(SPOILER, reason)

    def withhold(self, message: str, reason: str) -> None:
        """Never post the result; the owner reads ``message`` instead (the job ends withheld)."""
        if _SEVERITY[self.decision] < _SEVERITY[WITHHOLD] or self.message is None:
            self.message = message
        self._decide(WITHHOLD, reason)

    def _decide(self, decision: str, reason: str) -> None:
        self.reasons.append(reason)
        if _SEVERITY[decision] > _SEVERITY[self.decision]:
            self.decision = decision


__all__ = ["ADMINISTRATOR", "DELIVER", "MANAGE_GUILD", "Requester", "ResultReview", "SPOILER", "SubmissionReview",
           "WITHHOLD"]
