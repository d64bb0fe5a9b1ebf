"""The operator's HTTP endpoint: ``GET /healthz``, ``/readyz`` and ``/metrics``.

It listens on ``ops.host``:``ops.port`` (loopback and 8700 by default; port 0 = none), next to
the bot on the same event loop, so an answer also proves the loop runs. The probes answer 200
with "ok", or 503 with one problem per line; /metrics answers Prometheus' text format. A port
already in use is logged and the bot runs on without the endpoint: serving Discord matters
more than being watched (a warning, not an error: the bot itself is fine).
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from discomfy.ops.probes import liveness, readiness

log = logging.getLogger(__name__)


def probe_response(problems: list[str]) -> web.Response:
    if problems:
        return web.Response(status=503, text="\n".join(problems) + "\n")
    return web.Response(text="ok\n")


class OpsServer:
    """The endpoint of one bot; ``start()`` and ``stop()`` around the bot's run."""

    def __init__(self, bot: Any, host: str, port: int) -> None:
        self.bot = bot
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics)
        return app

    async def start(self) -> bool:
        """Listen; False (and an error in the log) when the port cannot be had."""
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except OSError as exc:
            await runner.cleanup()
            log.warning("cannot serve /healthz and /metrics on %s:%s (%s); running without them "
                      "(set ops.port to a free port, or 0)", self.host, self.port, exc.strerror or exc)
            return False
        self._runner = runner
        self.port = runner.addresses[0][1]  # the port chosen, when asked for 0 (tests)
        log.info("health and metrics on http://%s:%s/ (/healthz, /readyz, /metrics)", self.host, self.port)
        return True

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def healthz(self, request: web.Request) -> web.Response:
        return probe_response(liveness(self.bot))

    async def readyz(self, request: web.Request) -> web.Response:
        return probe_response(await readiness(self.bot))

    async def metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.bot.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})
