"""``discomfy run``: build the bot from settings, start it, stop it cleanly.

Beside the bot it serves the health and metrics endpoint (``[ops]``, ``discomfy.ops.http``) and
stops gracefully on SIGTERM (``discomfy.ops.stop``), exiting 0.

A start that fails for a reason the operator can fix (Discord unreachable, token rejected)
ends with one log line naming the cause and exit status 1; the traceback goes to the log at
DEBUG level only (``discomfy --debug run`` shows it).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import discord

from discomfy.bot.client import ComfyUIBot
from discomfy.bot.sharding import make_bot
from discomfy.ops.http import OpsServer
from discomfy.ops.log_format import use_log_format
from discomfy.ops.stop import GracefulStop
from discomfy.utils.connection_errors import connection_failure

log = logging.getLogger(__name__)


async def run_bot(config: Any, *, dev: bool = False) -> int:
    use_log_format(str(config.logging.get("format", "text")), config.discord.token)
    bot = make_bot(config, dev=dev)
    stop = GracefulStop(bot, float(config.ops.stop_grace))
    stop.install()
    endpoint = OpsServer(bot, str(config.ops.host), int(config.ops.port)) if int(config.ops.port) else None
    if endpoint is not None:
        await endpoint.start()
    try:
        return await _serve(bot, config)
    finally:
        stop.uninstall()
        if endpoint is not None:
            await endpoint.stop()


async def _serve(bot: ComfyUIBot, config: Any) -> int:
    try:
        async with bot:
            await bot.start(config.discord.token)
    except discord.LoginFailure:
        log.debug("login refused", exc_info=True)
        log.error("Discord rejected the token in discord.token (HTTP 401 Unauthorized): reset it in the "
                  "developer portal (Bot > Reset Token) and update .secrets.toml or DISCOMFY_DISCORD__TOKEN")
        return 1
    except discord.PrivilegedIntentsRequired:
        log.debug("intents refused", exc_info=True)
        log.error("Discord refused a privileged intent; DisComfy needs none, so check the settings")
        return 1
    except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
        log.debug("cannot reach Discord", exc_info=True)
        if isinstance(exc, asyncio.TimeoutError):
            reason = "timed out"
        else:
            reason = connection_failure(exc)[1]
        log.error("Cannot reach Discord at %s: %s. Check the network (or discord.api_base); "
                  "run with --debug for the traceback", config.discord.api_base, reason)
        return 1
    except discord.ConnectionClosed as exc:
        log.debug("gateway closed", exc_info=True)
        log.error("%s", gateway_refusal(exc.code, exc.shard_id))
        return 1
    except discord.HTTPException as exc:
        log.debug("Discord refused the start", exc_info=True)
        log.error("Discord answered HTTP %s while the bot started: %s", exc.status, exc.text or exc)
        return 1
    except asyncio.CancelledError:
        pass
    if bot.jobs.stopped_because:  # several processes share the store: a supervisor restarts this one
        log.error("This process stopped because %s", bot.jobs.stopped_because)
        return 1
    return 0


def gateway_refusal(code: int, shard_id: int | None) -> str:
    """The operator's line for a gateway close discord.py does not retry (4011 sharding required, ...)."""
    if code == 4011:
        return ("Discord requires sharding (gateway close 4011): a connection may hold at most 2,500 guilds. "
                "Set discord.shard_count (GET /gateway/bot recommends a count) and give each process its "
                "discord.shard_ids")
    return f"Discord closed the gateway connection with code {code} (shard {shard_id}) and the bot cannot resume"
