"""SQL written for SQLite, run on PostgreSQL: the few rewrites the job store's statements need.

The store and its callers (the preference stores, a plugin's quota ledger, the health probe)
write one dialect, SQLite's, with ``?`` placeholders, so a plugin's SQL works on either engine
and nothing above the store knows which one runs. PostgreSQL differs in four places they use:

* placeholders are numbered: ``?`` -> ``$1``, ``$2``...;
* ``x IS ?`` (SQLite's null-safe comparison, used by every guard on a prompt id or delivery
  intent) is ``x IS NOT DISTINCT FROM $n`` (``IS NOT ?`` -> ``IS DISTINCT FROM``);
* an integer is not a boolean: ``WHERE 0`` / ``WHERE 1`` become ``WHERE false`` / ``WHERE true``;
* in DDL, SQLite's ``INTEGER`` is 64-bit and ``REAL`` is a double, while PostgreSQL's are 32-bit
  and single precision: migrations say ``BIGINT`` and ``DOUBLE PRECISION`` there (Discord
  snowflakes and Unix times with sub-second parts would not fit otherwise).

Quoted strings, quoted names and ``--`` comments are copied untouched. Anything else
(``ON CONFLICT ... DO UPDATE SET x = excluded.x``, ``COALESCE``, ``CASE``) is already common
to both.
"""

from __future__ import annotations

import re
from functools import lru_cache

# a quoted string, a quoted name, a comment, or one of the rewrites (longest alternatives first)
_TOKENS = re.compile(
    r"""(?P<quoted>'(?:[^']|'')*'|"(?:[^"]|"")*")"""
    r"""|(?P<comment>--[^\n]*)"""
    r"""|(?P<is>\bIS\s+(?P<not>NOT\s+)?\?)"""
    r"""|(?P<mark>\?)"""
    r"""|(?P<truth>\bWHERE\s+(?P<bit>[01])\b(?!\s*(?:[=<>!+\-*/%]|IS\b|IN\b|BETWEEN\b|LIKE\b)))""",
    re.IGNORECASE,
)
_DDL_TYPES = re.compile(r"\b(INTEGER|REAL)\b", re.IGNORECASE)


@lru_cache(maxsize=512)
def to_postgres(sql: str) -> str:
    """``sql`` as PostgreSQL reads it (statements repeat, so translations are cached)."""
    count = 0

    def rewrite(match: re.Match[str]) -> str:
        nonlocal count
        if match["quoted"] or match["comment"]:
            return match[0]
        if match["truth"]:
            return "WHERE " + ("true" if match["bit"] == "1" else "false")
        count += 1
        if match["is"]:
            return f"IS {'' if match['not'] else 'NOT '}DISTINCT FROM ${count}"
        return f"${count}"

    return _TOKENS.sub(rewrite, sql)


def postgres_ddl(statement: str) -> str:
    """A migration statement with PostgreSQL's names for SQLite's 64-bit integer and double."""
    parts = re.split(r"""('(?:[^']|'')*'|--[^\n]*)""", statement)
    return "".join(part if i % 2 else _DDL_TYPES.sub(
        lambda m: "BIGINT" if m[1].upper() == "INTEGER" else "DOUBLE PRECISION", part)
        for i, part in enumerate(parts))


__all__ = ["postgres_ddl", "to_postgres"]
