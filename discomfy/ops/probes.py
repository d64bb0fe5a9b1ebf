"""What /healthz and /readyz answer: each check returns the problem in words, or None.

Liveness (``/healthz``) is only "the process runs and its event loop is not stalled": a
container runtime restarts a bot that fails it, so it must not fail for reasons a restart
cannot fix (Discord or ComfyUI down). Readiness (``/readyz``) is "this bot can serve a job now":
the gateway session is up, at least one ComfyUI server is healthy, and the job store takes a
write. A bot that is stopping (SIGTERM) is alive but not ready.
"""

from __future__ import annotations

import asyncio
from typing import Any

from discomfy.ops.metrics import gateway_connected

STORE_PROBE_TIMEOUT = 2.0


def liveness(bot: Any) -> list[str]:
    stalled = bot.loop_lag.stalled(float(bot.config.ops.loop_stall_after))
    return [stalled] if stalled else []


async def readiness(bot: Any) -> list[str]:
    problems = liveness(bot)
    if getattr(bot, "stopping", False):
        problems.append("the bot is stopping")
    if not gateway_connected(bot):
        problems.append("not connected to the Discord gateway")
    down = [server.name for server in bot.jobs.servers if not server.healthy]
    if len(down) == len(bot.jobs.servers):
        problems.append(f"no ComfyUI server is healthy (down: {', '.join(down)})")
    store = await store_problem(bot.jobs.store)
    if store:
        problems.append(store)
    return problems


async def store_problem(store: Any) -> str | None:
    """None when the job store takes a write transaction now (not locked, not read-only)."""
    if not store.is_open:
        return "the job store is not open"
    try:
        async with asyncio.timeout(STORE_PROBE_TIMEOUT):
            await store.execute("UPDATE jobs SET id = id WHERE 0", write=True)
    except asyncio.TimeoutError:
        return f"the job store did not take a write within {STORE_PROBE_TIMEOUT:.0f} s"
    except Exception as exc:  # noqa: BLE001 - any refusal is the answer
        return f"the job store refuses writes: {getattr(exc, 'detail', None) or exc}"
    return None
