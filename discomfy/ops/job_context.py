"""Which job a log line is about, without passing it to every ``log`` call.

The job's ids live in a context variable: ``bind_job(job)`` sets them in the task running the
job (each job runs in its own task, so nothing leaks to another job), and ``job_scoped`` wraps
a function handed a job (a delivery, which may run in any task) so the ids hold for that call
only. ``JobContextFilter`` copies them onto every log record, where the JSON formatter
(:mod:`discomfy.ops.log_format`) writes them out.
"""

from __future__ import annotations

import contextvars
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

#: The record attributes a line about a job carries (None when unknown yet, e.g. no prompt).
JOB_FIELDS = ("job_id", "prompt_id", "server", "guild_id", "channel_id", "command")

_current: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("discomfy_job", default=None)

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def job_fields(job: Any) -> dict[str, Any]:
    """The searchable ids of ``job`` (a ``Job``, or anything with its attributes)."""
    return {"job_id": getattr(job, "id", None), "prompt_id": getattr(job, "prompt_id", None),
            "server": getattr(job, "server", None), "guild_id": getattr(job, "guild_id", None),
            "channel_id": getattr(job, "channel_id", None), "command": getattr(job, "command", None)}


def bind_job(job: Any) -> None:
    """From now on, in this task, log lines are about ``job`` (call again once it has a prompt)."""
    _current.set(job_fields(job))


def job_scoped(func: F) -> F:
    """Decorate ``async def f(bot, job, ...)``: its log lines are about ``job``, and only its."""
    @functools.wraps(func)
    async def wrapper(bot: Any, job: Any, *args: Any, **kwargs: Any) -> Any:
        token = _current.set(job_fields(job))
        try:
            return await func(bot, job, *args, **kwargs)
        finally:
            _current.reset(token)

    return wrapper  # type: ignore[return-value]


class JobContextFilter(logging.Filter):
    """Put the current job's ids on each record (attributes absent = not about a job)."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = _current.get()
        if fields is not None:
            for name, value in fields.items():
                if not hasattr(record, name):
                    setattr(record, name, value)
        return True
