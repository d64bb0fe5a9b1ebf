"""The job store's schema, as an append-only list of forward migrations.

The database's ``PRAGMA user_version`` is the number of migrations applied. On open the
store applies the missing ones in order, each in its own transaction together with the new
``user_version``, so a crash mid-upgrade leaves the previous, consistent version. Never edit
a migration that has shipped: add a new one.

PostgreSQL runs the same list (its version is the one row of ``discomfy_schema``): each
statement through :func:`~discomfy.core.jobs.dialect.postgres_ddl` (SQLite's 64-bit ``INTEGER``
and double ``REAL`` under PostgreSQL's names), then the migration's ``postgres_extra``, for what
SQLite has without asking: ``rowid``, the insertion order that breaks ties between jobs
created in the same instant.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]
    postgres_extra: tuple[str, ...] = ()


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "jobs table",
        (
            """
            CREATE TABLE jobs (
                id                     TEXT PRIMARY KEY,
                user_id                INTEGER NOT NULL,
                guild_id               INTEGER,
                channel_id             INTEGER,
                interaction_token      TEXT,
                interaction_created_at REAL,
                progress_message_id    INTEGER,
                result_message_id      INTEGER,
                plugin                 TEXT NOT NULL,
                command                TEXT,
                workflow               TEXT,
                parameters             TEXT NOT NULL DEFAULT '{}',
                seed                   TEXT,  -- ComfyUI seeds reach 2**64-1, beyond SQLite INTEGER
                server                 TEXT,
                prompt_id              TEXT,
                state                  TEXT NOT NULL,
                error_message          TEXT,
                outputs                TEXT NOT NULL DEFAULT '[]',
                created_at             REAL NOT NULL,
                updated_at             REAL NOT NULL,
                delivered              INTEGER NOT NULL DEFAULT 0
            )
            """,
            "CREATE INDEX jobs_by_state ON jobs (state, created_at)",
            "CREATE INDEX jobs_by_user ON jobs (user_id, created_at)",
            "CREATE INDEX jobs_by_update ON jobs (updated_at)",
        ),
        ("ALTER TABLE jobs ADD COLUMN rowid BIGINT GENERATED ALWAYS AS IDENTITY",),
    ),
    Migration(
        2,
        "per-user preferences; where a job's values came from; private jobs",
        (
            # plugins keep small per-user values here (discomfy.core.preferences), e.g. the
            # settings plugin's personal defaults; one row per user, plugin namespace and name
            """
            CREATE TABLE preferences (
                user_id    INTEGER NOT NULL,
                namespace  TEXT NOT NULL,
                name       TEXT NOT NULL,
                value      TEXT NOT NULL,  -- JSON
                updated_at REAL NOT NULL,
                PRIMARY KEY (user_id, namespace, name)
            )
            """,
            # parameter -> what supplied it when the user did not (e.g. "your defaults")
            "ALTER TABLE jobs ADD COLUMN parameter_sources TEXT NOT NULL DEFAULT '{}'",
            # shown only to its owner (discomfy_private_results): never posted to the channel
            "ALTER TABLE jobs ADD COLUMN private INTEGER NOT NULL DEFAULT 0",
        ),
    ),
    Migration(
        3,
        "delivery intent: which message will carry a job's outcome, recorded before sending",
        (
            "ALTER TABLE jobs ADD COLUMN delivery_intent TEXT",
            "ALTER TABLE jobs ADD COLUMN delivery_outcome TEXT",
            "ALTER TABLE jobs ADD COLUMN intent_at REAL",
        ),
    ),
    Migration(
        4,
        "where each attached input image is served, so a restart can read it again",
        ("ALTER TABLE jobs ADD COLUMN input_urls TEXT NOT NULL DEFAULT '{}'",),
    ),
    Migration(
        5,
        "per-server values plugins keep (a server's own rules, set by its admins); when a job started",
        (
            # like preferences, keyed by guild (discomfy.core.preferences, bot.jobs.guild_preferences)
            """
            CREATE TABLE guild_preferences (
                guild_id   INTEGER NOT NULL,
                namespace  TEXT NOT NULL,
                name       TEXT NOT NULL,
                value      TEXT NOT NULL,  -- JSON
                updated_at REAL NOT NULL,
                PRIMARY KEY (guild_id, namespace, name)
            )
            """,
            # finished jobs are counted per server and user (quotas): the index keeps that cheap
            "CREATE INDEX jobs_by_guild_user ON jobs (guild_id, user_id, created_at)",
            # when ComfyUI was handed the job, so the time it spent there can be counted
            "ALTER TABLE jobs ADD COLUMN started_at REAL",
        ),
    ),
    Migration(
        6,
        "jobs by creation time: processes sharing a store count the rate window in it",
        # discomfy.core.jobs.admission: everyone's jobs of the last window, newest first
        ("CREATE INDEX jobs_by_creation ON jobs (created_at)",),
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version

__all__ = ["LATEST_VERSION", "MIGRATIONS", "Migration"]
