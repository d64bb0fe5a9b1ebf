"""Small per-user and per-server values plugins keep across restarts, in the job store's file.

A plugin that remembers something about a user (personal defaults, a favourite style...)
asks ``bot.jobs.preferences``; one that remembers something about a Discord server (its word
lists, quotas, which channels a command works in) asks ``bot.jobs.guild_preferences``. Neither
opens a database of its own. Values live under the plugin's ``namespace`` and are any JSON
value; the two differ only in the table and the id they are keyed by. Reads are synchronous, from memory, because
hooks that need them (``discomfy_prepare_parameters``) cannot await: the table is read once
when the bot starts, and every write goes to the file first, then to memory, so what a user
saved survives a restart and a failed write changes nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

Key = tuple[int, str]  # (user or guild id, namespace)

#: table -> the column holding the id its values belong to (both created by the store's migrations)
TABLES = {"preferences": "user_id", "guild_preferences": "guild_id"}


class PreferenceStore:
    """Per-owner, per-namespace ``{name: JSON value}``; see the module docstring. ``table``
    is ``preferences`` (owners are users) or ``guild_preferences`` (owners are guilds)."""

    def __init__(self, store: Any, *, table: str = "preferences", clock: Callable[[], float] = time.time) -> None:
        if table not in TABLES:
            raise ValueError(f"no preference table {table!r}; known: {', '.join(TABLES)}")
        self._store = store
        self._table, self._owner = table, TABLES[table]
        self._clock = clock
        self._values: dict[Key, dict[str, Any]] = {}

    async def load(self) -> None:
        """Read every stored preference (call once the job store is open)."""
        rows = await self._store.execute(f"SELECT {self._owner} AS owner, namespace, name, value FROM {self._table}")
        values: dict[Key, dict[str, Any]] = {}
        for row in rows:
            values.setdefault((int(row["owner"]), row["namespace"]), {})[row["name"]] = json.loads(row["value"])
        self._values = values

    def get(self, owner_id: int, namespace: str) -> dict[str, Any]:
        """A copy of this user's (or guild's) values in ``namespace`` (empty when none)."""
        return dict(self._values.get((int(owner_id), namespace), {}))

    def owners(self, namespace: str) -> dict[int, dict[str, Any]]:
        """``{owner id: values}`` of everyone with values in ``namespace`` (copies), for a
        plugin that rebuilds its own state at start."""
        return {owner: dict(values) for (owner, space), values in self._values.items() if space == namespace and values}

    async def set(self, owner_id: int, namespace: str, name: str, value: Any) -> None:
        """Store one value (JSON-serialisable); raises ``JobStoreError`` if the file refuses it."""
        encoded = json.dumps(value, separators=(",", ":"), allow_nan=False)
        await self._store.execute(
            f"INSERT INTO {self._table} ({self._owner}, namespace, name, value, updated_at) VALUES (?, ?, ?, ?, ?) "
            f"ON CONFLICT ({self._owner}, namespace, name) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            (int(owner_id), namespace, name, encoded, self._clock()), write=True)
        self._values.setdefault((int(owner_id), namespace), {})[name] = json.loads(encoded)

    async def delete(self, owner_id: int, namespace: str, name: str | None = None) -> None:
        """Forget one value, or (``name=None``) every value of this owner in ``namespace``."""
        sql = f"DELETE FROM {self._table} WHERE {self._owner} = ? AND namespace = ?"
        args: tuple[Any, ...] = (int(owner_id), namespace)
        if name is not None:
            sql, args = sql + " AND name = ?", (*args, name)
        await self._store.execute(sql, args, write=True)
        held = self._values.get((int(owner_id), namespace), {})
        if name is None:
            held.clear()
        else:
            held.pop(name, None)
