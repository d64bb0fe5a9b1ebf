"""Small per-user values plugins keep across restarts, in the job store's file.

A plugin that remembers something about a user (personal defaults, a favourite style...)
asks ``bot.preferences`` instead of opening a database of its own. Values live under the
plugin's ``namespace`` and are any JSON value. Reads are synchronous, from memory, because
hooks that need them (``discomfy_prepare_parameters``) cannot await: the table is read once
when the bot starts, and every write goes to the file first, then to memory, so what a user
saved survives a restart and a failed write changes nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

Key = tuple[int, str]  # (user id, namespace)


class PreferenceStore:
    """Per-user, per-namespace ``{name: JSON value}``; see the module docstring."""

    def __init__(self, store: Any, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._values: dict[Key, dict[str, Any]] = {}

    async def load(self) -> None:
        """Read every stored preference (call once the job store is open)."""
        rows = await self._store.execute("SELECT user_id, namespace, name, value FROM preferences")
        values: dict[Key, dict[str, Any]] = {}
        for row in rows:
            values.setdefault((int(row["user_id"]), row["namespace"]), {})[row["name"]] = json.loads(row["value"])
        self._values = values

    def get(self, user_id: int, namespace: str) -> dict[str, Any]:
        """A copy of this user's values in ``namespace`` (empty when none)."""
        return dict(self._values.get((int(user_id), namespace), {}))

    async def set(self, user_id: int, namespace: str, name: str, value: Any) -> None:
        """Store one value (JSON-serialisable); raises ``JobStoreError`` if the file refuses it."""
        encoded = json.dumps(value, separators=(",", ":"), allow_nan=False)
        await self._store.execute(
            "INSERT INTO preferences (user_id, namespace, name, value, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (user_id, namespace, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (int(user_id), namespace, name, encoded, self._clock()), write=True)
        self._values.setdefault((int(user_id), namespace), {})[name] = json.loads(encoded)

    async def delete(self, user_id: int, namespace: str, name: str | None = None) -> None:
        """Forget one value, or (``name=None``) every value of this user in ``namespace``."""
        sql, args = "DELETE FROM preferences WHERE user_id = ? AND namespace = ?", (int(user_id), namespace)
        if name is not None:
            sql, args = sql + " AND name = ?", (*args, name)
        await self._store.execute(sql, args, write=True)
        held = self._values.get((int(user_id), namespace), {})
        if name is None:
            held.clear()
        else:
            held.pop(name, None)
