"""The one place DisComfy talks HTTP to ComfyUI.

Every request goes through :meth:`HttpTransport.request`, so every failure mode (refused
connection, DNS, timeout, 5xx, a body that is not JSON) becomes one :class:`ComfyUIError`
naming the server and what was being done. Callers never see a raw aiohttp exception and
never wait longer than ``request_timeout``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

import aiohttp

from discomfy.core.comfyui.http_answers import describe_status, describe_unparsable
from discomfy.exceptions import ComfyUIError
from discomfy.utils.connection_errors import connection_failure

Expect = Literal["json", "bytes", "none"]


class HttpTransport:
    """Owns (or borrows) one aiohttp session bound to one ComfyUI base URL."""

    def __init__(
        self,
        base_url: str,
        *,
        request_timeout: float,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.request_timeout = request_timeout
        self._session = session
        self._owns_session = session is None
        self.request_count = 0

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    async def close(self) -> None:
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    async def request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        data: Any = None,
        expect: Expect = "json",
        ok_statuses: tuple[int, ...] = (200,),
    ) -> tuple[int, Any]:
        """Send one request and return ``(status, body)``.

        ``what`` is a few words ("queue the prompt") used in the error message. Statuses in
        ``ok_statuses`` return normally (a 400 with JSON for ``/prompt`` is an answer, not a
        transport failure); anything else raises :class:`ComfyUIError`.
        """
        self.request_count += 1
        timeout = aiohttp.ClientTimeout(total=self.request_timeout)
        try:
            async with self.session.request(
                method, self.url(path), params=params, json=json_body, data=data, timeout=timeout,
                allow_redirects=False,  # ComfyUI's API never redirects; a proxy's login page does
            ) as response:
                raw = await response.read()
                status = response.status
                headers = response.headers
        except asyncio.TimeoutError as exc:
            raise self._error(what, f"timed out: no answer within {self.request_timeout:g} s", cause="timeout") from exc
        except (aiohttp.ClientError, OSError) as exc:  # OSError: a socket error outside aiohttp's wrappers
            cause, reason = connection_failure(exc)
            raise self._error(what, reason, cause=cause) from exc
        if status not in ok_statuses:
            raise self._error(what, describe_status(status, raw, headers), status, cause="http")
        if expect == "bytes":
            return status, raw
        if expect == "none" or not raw:
            return status, None
        try:
            return status, json.loads(raw)
        except ValueError as exc:
            raise self._error(what, describe_unparsable(status, raw, headers), status, cause="not-json") from exc

    def _error(self, what: str, reason: str, status: int | None = None, *, cause: str) -> ComfyUIError:
        return ComfyUIError(
            "The image server is not reachable right now. Please try again later.",
            detail=f"{_SERVER_PREFIX.format(self.base_url)}could not {what}: {reason}",
            server=self.base_url,
            status=status,
            cause=cause,
        )


_SERVER_PREFIX = "ComfyUI at {}: "  # how every error's detail starts


def without_server(error: ComfyUIError) -> str:
    """The error's detail without its leading "ComfyUI at URL: ", for a message that has named
    the server already (``check --server`` used to print the URL twice)."""
    return (error.detail or "").removeprefix(_SERVER_PREFIX.format(error.server))


#: What an operator can do about each cause (the CLI prints it under the error).
OPERATOR_HINTS = {
    "refused": "Is ComfyUI running, on this host and port? (A server on another machine must be "
               "started with --listen.)",
    "dns": "Check the host name in the URL.",
    "timeout": "The server did not answer in time: check the address (a firewall can swallow "
               "requests) or raise comfyui.request_timeout.",
    "not-json": "Something answers at that address, but it is not ComfyUI's API.",
}


def operator_hint(error: ComfyUIError) -> str:
    """One sentence telling an operator what to try for this error."""
    if error.cause == "http":
        if error.status in (401, 403):
            return "The server (or a proxy in front of it) refused access: check its credentials."
        if error.status == 404:
            return "Something answers at that address, but not ComfyUI's API: check the URL and port."
        return "ComfyUI answered with an error: check its own log."
    return OPERATOR_HINTS.get(error.cause or "", "Check the URL and that ComfyUI is running.")
