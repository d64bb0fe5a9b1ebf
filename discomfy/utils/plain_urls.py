"""Unencrypted Discord endpoints are allowed only on this machine.

The bot sends its token to ``discord.api_base`` and over ``discord.gateway_url``. Plain
``http://`` or ``ws://`` there would carry the token in clear text across the network, so they
are accepted only for a loopback host (the emulator the tests and benches run on this machine).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

PLAIN_SCHEMES = ("http", "ws")


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_url_problem(key: str, url: object) -> str | None:
    """Why ``url`` (the value of setting ``key``) must not be used, or None when it may."""
    if not isinstance(url, str):
        return None  # a missing or malformed URL is reported by the URL check itself
    parts = urlsplit(url)
    if parts.scheme.lower() in PLAIN_SCHEMES and not is_loopback(parts.hostname):
        secure = "https" if parts.scheme.lower() == "http" else "wss"
        return (f"{key} = {url!r} is unencrypted ({parts.scheme}://) to {parts.hostname!r}, which is not this "
                f"machine: the bot token would cross the network in clear text. Use {secure}:// "
                f"(plain {parts.scheme}:// is accepted only for 127.0.0.1, ::1 or localhost).")
    return None


__all__ = ["is_loopback", "plain_url_problem"]
