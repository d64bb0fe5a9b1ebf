"""A failed connection in the words an operator needs: refused, DNS failure, or what else.

aiohttp wraps the socket error (``ClientConnectorError.os_error``), and with several
addresses for one host asyncio merges them into one ``OSError`` without an errno, so the cause
is read from the types first and from the text last.
"""

from __future__ import annotations

import errno
import socket

import aiohttp


def connection_failure(exc: BaseException) -> tuple[str, str]:
    """``(cause, words)`` for a failed connection: refused, DNS failure, or other."""
    os_error = getattr(exc, "os_error", None) or exc
    if isinstance(exc, aiohttp.ClientConnectorDNSError) or isinstance(os_error, socket.gaierror):
        host = getattr(exc, "host", None)
        why = getattr(os_error, "strerror", None) or str(os_error)
        return "dns", f"DNS failure: the host name {host or ''} could not be resolved ({why})".replace("  ", " ")
    text = str(exc)
    if isinstance(os_error, ConnectionRefusedError) or getattr(os_error, "errno", None) == errno.ECONNREFUSED \
            or "Connect call failed" in text or "refused" in text.lower():
        return "refused", "connection refused: nothing is listening at that address and port"
    return "connection", f"connection failed ({type(exc).__name__}: {exc})"
