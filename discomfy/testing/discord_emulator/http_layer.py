"""The REST choke point: routing, request recording, injected 429s and errors, rate-limit headers.

Every ``/api/v10/...`` request goes through ``ApiDispatcher.handle``: the body is decoded and
recorded once, an injected 429 or error may answer instead, the route handler runs, and a
``DiscordAPIError`` becomes Discord's status + JSON body and a recorded violation. Responses
carry ``Content-Type: application/json`` exactly (discord.py compares it verbatim) and the
``X-RateLimit-*`` headers discord.py reads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
from typing import Any, Awaitable, Callable

from aiohttp import web

from .limits import DiscordAPIError
from .recording import RecordedRequest, RequestPart, Violation

# The emulator is handed to this part, not imported: server.py assembles the parts.
DiscordEmulator = Any

log = logging.getLogger(__name__)
API_PREFIX = "/api/v10"
Handler = Callable[[RecordedRequest, dict[str, str]], Awaitable[tuple[int, Any]]]


def _major(path: str) -> str:
    """Discord's buckets are per route *and* major parameter (channel, webhook+token,
    interaction+token): two interactions never share a bucket."""
    parts = path.split("/")
    if len(parts) > 3 and parts[1] in ("webhooks", "interactions"):
        return "/".join(parts[1:4])
    if len(parts) > 2 and parts[1] in ("channels", "guilds"):
        return "/".join(parts[1:3])
    return ""


@dataclasses.dataclass
class RateLimitRule:
    """An injected 429: answers the next ``times`` matching requests with ``retry_after``."""

    matches: Callable[[RecordedRequest], bool]
    retry_after: float
    times: int
    global_: bool


@dataclasses.dataclass
class ErrorRule:
    """An injected Discord error: answers the next ``times`` matching requests with ``status``
    and Discord's JSON body ``{"message", "code"}`` instead of running the route."""

    matches: Callable[[RecordedRequest], bool]
    status: int
    code: int
    message: str
    times: int


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if status == 204:
        return web.Response(status=204, headers={k: v for k, v in all_headers.items() if k != "Content-Type"})
    return web.Response(status=status, body=json.dumps(body).encode(), headers=all_headers)


class ApiDispatcher:
    def __init__(self, emulator: "DiscordEmulator") -> None:
        self._emu = emulator
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = []
        self.rate_limit_rules: list[RateLimitRule] = []
        self.error_rules: list[ErrorRule] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        """Register ``template`` like ``/channels/{channel_id}/messages``."""
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        self._routes.append((method, re.compile(f"^{pattern}$"), template, handler))

    async def handle(self, request: web.Request) -> web.Response:
        rec = await _record(request)
        self._emu.requests.append(rec)
        try:
            return await self._answer(rec)
        finally:
            self._emu._request_finished(rec)

    async def _answer(self, rec: RecordedRequest) -> web.Response:
        emu = self._emu
        route = self._match(rec)
        bucket = hashlib.sha1(f"{route[2] if route else rec.path}|{_major(rec.path)}".encode()).hexdigest()[:16]
        limited = self._injected_429(rec)
        if limited is not None:
            rec.status = 429
            rec.response = {"message": "You are being rate limited.",
                            "retry_after": limited.retry_after, "global": limited.global_}
            return json_response(429, rec.response, self._rate_headers(bucket, limited))
        failed = next((rule for rule in self.error_rules if rule.times > 0 and rule.matches(rec)), None)
        if failed is not None:  # what Discord answered, not the bot's mistake: no violation recorded
            failed.times -= 1
            rec.status, rec.response = failed.status, {"message": failed.message, "code": failed.code}
            return json_response(failed.status, rec.response, self._rate_headers(bucket))
        if route is None:
            body = {"message": "404: Not Found", "code": 0}
            rec.status, rec.response = 404, body
            emu.unhandled.append(rec)
            return json_response(404, body, self._rate_headers(bucket))
        method, pattern, template, handler = route
        params = pattern.match(rec.path).groupdict()  # type: ignore[union-attr]
        try:
            if rec.invalid_json is not None:
                raise DiscordAPIError(400, 50109, "The request body contains invalid JSON.")
            status, body = await handler(rec, params)
        except DiscordAPIError as error:
            status, body = error.status, error.body()
            emu._record_violation(Violation(rec.method, rec.path, error.status, error.code,
                                            error.message, error.errors))
        except Exception as exc:  # an emulator gap: a 4xx (a 5xx would make discord.py retry for seconds)
            log.exception("emulator failed on %s %s", rec.method, rec.path)
            status, body = 400, {"message": f"emulator error: {exc!r}", "code": 0}
            emu.unhandled.append(rec)
        rec.status, rec.response = status, body
        return json_response(status, body, self._rate_headers(bucket))

    def _match(self, rec: RecordedRequest):
        for route in self._routes:
            if route[0] == rec.method and route[1].match(rec.path):
                return route
        return None

    def _injected_429(self, rec: RecordedRequest) -> RateLimitRule | None:
        for rule in self.rate_limit_rules:
            if rule.times > 0 and rule.matches(rec):
                rule.times -= 1
                return rule
        return None

    def _rate_headers(self, bucket: str, limited: RateLimitRule | None = None) -> dict[str, str]:
        now = self._emu.clock.now()
        reset_after = limited.retry_after if limited else 1.0
        headers = {
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0" if limited else "4",
            "X-RateLimit-Reset": f"{now + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket,
        }
        if limited:
            headers["Retry-After"] = str(max(1, round(limited.retry_after)))
            headers["Via"] = "1.1 google"  # without it discord.py treats a 429 as a Cloudflare ban
            headers["X-RateLimit-Scope"] = "global" if limited.global_ else "user"
            if limited.global_:
                headers["X-RateLimit-Global"] = "true"
        return headers


async def _record(request: web.Request) -> RecordedRequest:
    path = request.path[len(API_PREFIX):] if request.path.startswith(API_PREFIX) else request.path
    rec = RecordedRequest(method=request.method, path=path, query=dict(request.query),
                          headers=dict(request.headers))
    content_type = request.headers.get("Content-Type", "")
    if content_type.startswith("multipart/"):
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            data = await part.read(decode=False)  # type: ignore[union-attr]
            rec.parts.append(RequestPart(part.name or "", part.filename,  # type: ignore[union-attr]
                                         part.headers.get("Content-Type"), bytes(data)))
        payload = next((p for p in rec.parts if p.name == "payload_json"), None)
        raw = payload.data if payload else b"{}"
    elif request.can_read_body:
        raw = await request.read()
    else:
        return rec
    try:
        rec.json = json.loads(raw) if raw else None
    except ValueError:
        rec.invalid_json = raw
    return rec
