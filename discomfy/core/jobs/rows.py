"""Rows of the ``jobs`` table <-> ``Job`` objects, and the compare-and-set guard of a write.

Kept apart from ``store`` (which owns the API and the SQLite engine) so each stays small:
pure functions, shared by both engines (``from_row`` reads an ``sqlite3.Row`` or an asyncpg
``Record`` alike, both indexed by column name); only ``run_cas`` is SQLite's.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from typing import Any

from discomfy.core.jobs.job import JOB_FIELDS, Job, JobState

_JSON_FIELDS = ("parameters", "outputs", "parameter_sources", "input_urls")
_FLAGS = ("delivered", "private")
#: "do not check this" for an optional guard (``None`` is a value a guard can expect)
ANY: Any = object()


def pragma_value(value: int | str) -> str:
    """``value`` as it may follow ``PRAGMA name =``: an integer or one plain word (FULL, WAL,
    MEMORY...); anything else could smuggle a second statement in, so it is refused by name."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"pragma values must be int or str, got {value!r}")
    if isinstance(value, str) and not value.isalnum():
        raise ValueError(f"not a plain pragma value: {value!r}")
    return str(value)


def encode(name: str, value: Any) -> Any:
    if name in _JSON_FIELDS:
        try:
            return json.dumps(value, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"job {name} must be JSON-serialisable: {exc}") from exc
    if name == "seed":
        return None if value is None else str(int(value))
    if name == "state":
        return JobState(value).value
    if name in _FLAGS:
        return int(bool(value))
    return value


def to_row(job: Job) -> dict[str, Any]:
    return {name: encode(name, value) for name, value in asdict(job).items()}


def from_row(row: Any) -> Job:
    values = {name: row[name] for name in JOB_FIELDS}
    for name in _JSON_FIELDS:
        values[name] = json.loads(values[name])
    values["seed"] = None if values["seed"] is None else int(values["seed"])
    values["state"] = JobState(values["state"])
    for name in _FLAGS:
        values[name] = bool(values[name])
    return Job(**values)


def guard(expected: Any, expect_prompt: Any) -> tuple[str, tuple[Any, ...]]:
    values = tuple(JobState(s).value for s in expected)
    sql = f"state IN ({', '.join('?' for _ in values)})"
    if expect_prompt is not ANY:
        sql += " AND prompt_id IS ?"
        values += (expect_prompt,)
    return sql, values


def run_cas(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...], job_id: str) -> sqlite3.Row | None:
    """One guarded UPDATE on SQLite (inside ``_write``'s transaction): the job's row as stored
    after it, or None when the guard refused. PostgreSQL does both in one statement
    (``RETURNING *``)."""
    if conn.execute(sql, params).rowcount == 0:
        return None
    return conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()


__all__ = ["ANY", "encode", "from_row", "guard", "pragma_value", "run_cas", "to_row"]
