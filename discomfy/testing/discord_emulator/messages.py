"""Messages the bot created, as the emulator stores them (the test's view of the channel).

A ``StoredMessage`` is both what tests assert on (content, embeds, components, attachment
bytes) and the source of the Discord message payload returned to discord.py and embedded in
component interactions (views are keyed by message id, so clicks must carry this exact message).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterator

from . import payloads

LOADING_FLAG = 1 << 7
EPHEMERAL_FLAG = 1 << 6


@dataclasses.dataclass
class StoredAttachment:
    id: str
    filename: str
    content_type: str
    data: bytes
    url: str
    description: str | None = None

    def to_payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "filename": self.filename,
            "size": len(self.data),
            "url": self.url,
            "proxy_url": self.url,
            "content_type": self.content_type,
            "description": self.description,
        }


@dataclasses.dataclass
class StoredMessage:
    """One message; mutated in place on edits so references held by tests stay current."""

    id: str
    channel_id: str
    guild_id: str | None
    author: dict[str, Any]
    created_at: float
    content: str = ""
    embeds: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    components: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    attachments: list[StoredAttachment] = dataclasses.field(default_factory=list)
    flags: int = 0
    edited_at: float | None = None
    deleted: bool = False
    interaction_id: str | None = None  # set for interaction responses and followups
    webhook_id: str | None = None
    edits: int = 0
    nonce: str | None = None  # as sent on creation (see nonces.py)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL_FLAG)

    @property
    def loading(self) -> bool:
        """True while this is a deferred "thinking" placeholder not yet edited."""
        return bool(self.flags & LOADING_FLAG)

    def iter_components(self) -> Iterator[dict[str, Any]]:
        """Every component, depth first (action rows, their children, containers...)."""
        stack = list(reversed(self.components))
        while stack:
            comp = stack.pop()
            yield comp
            children = list(comp.get("components") or [])
            if "component" in comp:
                children.append(comp["component"])
            if "accessory" in comp:
                children.append(comp["accessory"])
            stack.extend(reversed(children))

    @property
    def custom_ids(self) -> list[str]:
        return [c["custom_id"] for c in self.iter_components() if "custom_id" in c]

    def component(self, custom_id: str | None = None, *, label: str | None = None) -> dict[str, Any]:
        """The component with this custom_id or label; a clear failure names what exists."""
        for comp in self.iter_components():
            if custom_id is not None and comp.get("custom_id") == custom_id:
                return comp
            if label is not None and comp.get("label") == label:
                return comp
        wanted = f"custom_id={custom_id!r}" if custom_id is not None else f"label={label!r}"
        found = [(c.get("custom_id"), c.get("label")) for c in self.iter_components() if c.get("type") != 1]
        raise AssertionError(f"message {self.id} has no component with {wanted}; it has {found}")

    def attachment(self, filename: str) -> StoredAttachment:
        for att in self.attachments:
            if att.filename == filename:
                return att
        raise AssertionError(f"message {self.id} has no attachment {filename!r}; it has "
                             f"{[a.filename for a in self.attachments]}")

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": self.id,
            "type": 0 if self.interaction_id is None else 20,
            "channel_id": self.channel_id,
            "author": self.author,
            "content": self.content,
            "timestamp": payloads.iso_time(self.created_at),
            "edited_timestamp": payloads.iso_time(self.edited_at) if self.edited_at else None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [a.to_payload() for a in self.attachments],
            "embeds": self.embeds,
            "components": self.components,
            "pinned": False,
            "flags": self.flags,
        }
        if self.guild_id:
            payload["guild_id"] = self.guild_id
        if self.nonce is not None:
            payload["nonce"] = self.nonce
        if self.webhook_id:
            payload["webhook_id"] = self.webhook_id
            payload["application_id"] = self.webhook_id
        return payload

    def __repr__(self) -> str:
        return (f"<StoredMessage id={self.id} content={self.content[:40]!r} embeds={len(self.embeds)} "
                f"components={self.custom_ids} attachments={[a.filename for a in self.attachments]}"
                f"{' deleted' if self.deleted else ''}>")
