"""Where discord.py sends REST calls and opens its gateway, for running against an emulator.

discord.py has no setting for this; two class attributes decide it. ``Route.BASE`` covers every
REST call (interaction callbacks and webhooks included), and ``DiscordWebSocket.DEFAULT_GATEWAY``
is the gateway a non-sharded client connects to (it never asks ``GET /gateway``). Call this after
anything that calls ``discord.http._set_api_version`` (which rewrites ``Route.BASE``) and before
``bot.start()``. The patch is process-wide class state: one Discord target per process.
"""

from __future__ import annotations

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from discomfy.utils.plain_urls import plain_url_problem


def point_discord_at(api_base: str, gateway_url: str) -> None:
    """Send discord.py's REST calls to ``api_base`` (``http://host:port/api/v10``) and its gateway
    connections to ``gateway_url`` (``ws://host:port/gateway``)."""
    if not api_base.startswith(("http://", "https://")) or "/api/v" not in api_base:
        raise ValueError(f"api_base must look like http://127.0.0.1:PORT/api/v10, got {api_base!r}")
    if not gateway_url.startswith(("ws://", "wss://")):
        raise ValueError(f"gateway_url must be a ws:// or wss:// URL, got {gateway_url!r}")
    for key, url in (("discord.api_base", api_base), ("discord.gateway_url", gateway_url)):
        problem = plain_url_problem(key, url)
        if problem:
            raise ValueError(problem)
    Route.BASE = api_base.rstrip("/")
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
