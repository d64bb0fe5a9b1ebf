"""Keep credentials out of the log.

discord.py logs webhook and interaction-callback URLs and raw gateway payloads at DEBUG, and an
interaction token there lets anyone edit that message for 15 minutes. This filter rewrites every record of
the ``discord`` loggers so tokens in those URLs (and the bot token, wherever it appears) read
``***``. It is installed once per process, on the loggers that build such messages.
"""

from __future__ import annotations

import logging
import re

TOKEN_IN_URL = re.compile(r"(/(?:webhooks|interactions)/\d+/)[^/?\s'\"]+")
TOKEN_FIELD = re.compile(r"""(['"]token['"]\s*:\s*['"])[^'"]+""")  # raw gateway payloads
LOGGERS = ("discord.http", "discord.webhook.async_", "discord.gateway", "discord.client", "discord.state")


class TokenRedactor(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = TOKEN_FIELD.sub(r"\1***", TOKEN_IN_URL.sub(r"\1***", message))
        for secret in self.secrets:
            redacted = redacted.replace(secret, "***")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_REDACTOR = TokenRedactor()


def redact_tokens(bot_token: str | None = None) -> None:
    """Install the redacting filter (idempotent) and remember ``bot_token`` as a secret."""
    if bot_token:
        _REDACTOR.secrets.add(bot_token)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _REDACTOR not in logger.filters:
            logger.addFilter(_REDACTOR)
