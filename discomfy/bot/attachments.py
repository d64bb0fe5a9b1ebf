"""Reading a user's attachment without trusting the size Discord declared for it.

``discord.Attachment.read()`` loads the whole body, however large. The size in the
interaction is checked first, but what the CDN actually sends is what counts: the body is
streamed and the read stops as soon as it passes the image limit, so a lying (or changed)
file can never make the bot hold more than ``limit`` bytes plus one chunk.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import aiohttp

from discomfy.exceptions import ValidationError

CHUNK = 64 * 1024
READ_TIMEOUT = 30.0


async def read_capped(attachment: Any, validator: Any, *, field: str | None = None) -> bytes:
    """The attachment's bytes, refused with the validator's size message once they pass
    ``validator.max_bytes``."""
    limit = int(validator.max_bytes)
    received = bytearray()
    timeout = aiohttp.ClientTimeout(total=READ_TIMEOUT)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(attachment.url) as response:
            if response.status >= 400:
                raise ValidationError(f"Discord did not hand over `{attachment.filename}` (HTTP {response.status}); "
                                      "please attach it again.", field=field)
            async for chunk in response.content.iter_chunked(CHUNK):
                received += chunk
                if len(received) > limit:
                    seen = SimpleNamespace(filename=attachment.filename, size=len(received),
                                           content_type=getattr(attachment, "content_type", None))
                    raise ValidationError(validator.validate(seen).error_message, field=field)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ValidationError(f"Your attachment `{attachment.filename}` could not be downloaded; please try again.",
                              field=field, detail=f"{type(exc).__name__}: {exc}") from exc
    return bytes(received)


__all__ = ["read_capped"]
