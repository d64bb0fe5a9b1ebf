"""How ``discomfy`` writes its log: ``logging.format = "text"`` (readable lines) or ``"json"``.

JSON is one object per line, for a log search (Loki, Elasticsearch, ``jq``): ``time``,
``level``, ``logger``, ``message``, ``exc_info`` when there is a traceback, and on every line
about a job its ``job_id``, ``prompt_id``, ``server``, ``guild_id``, ``channel_id`` and
``command`` (from :mod:`.job_context`). In both formats every line passes the token redactor
(``discomfy.bot.log_redaction``) at the handler, so the bot token and interaction tokens never
reach the output, whichever logger wrote them.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from discomfy.bot.log_redaction import TokenRedactor
from discomfy.ops.job_context import JOB_FIELDS, JobContextFilter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in JOB_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def formatter_for(fmt: str) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)


def use_log_format(fmt: str, token: str | None = None) -> None:
    """Give the console handlers ``logging.basicConfig`` installed (``discomfy``'s, at start)
    the format ``fmt``, the job ids and the token redactor. Other handlers (a test's capture,
    a handler an embedding program added) keep their own format, and get the redactor too."""
    if fmt not in FORMATS:
        logging.getLogger(__name__).error("logging.format = %r is not one of %s; writing text", fmt,
                                          ", ".join(map(repr, FORMATS)))
        fmt = "text"
    redactor = TokenRedactor()
    if token:
        redactor.secrets.add(token)
    for handler in logging.getLogger().handlers:
        if type(handler) is logging.StreamHandler:
            handler.setFormatter(formatter_for(fmt))
        for old in [f for f in handler.filters if isinstance(f, (JobContextFilter, TokenRedactor))]:
            handler.removeFilter(old)
        handler.addFilter(JobContextFilter())
        handler.addFilter(redactor)
