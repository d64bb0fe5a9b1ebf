"""A gateway session whose socket is closing (a bot that missed heartbeats) keeps what it could
not send for the RESUME, and the dispatch that met the closing socket does not fail."""

from __future__ import annotations

from typing import Any

from discomfy.testing.discord_emulator.sessions import GatewaySession


class ClosingSocket:
    """Not closed yet, but refusing writes, as aiohttp's socket is while its transport closes."""

    closed = False

    async def send_json(self, frame: dict[str, Any]) -> None:
        raise ConnectionResetError("Cannot write to closing transport")


class OpenSocket:
    closed = False

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    async def send_json(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)


async def test_a_closing_socket_leaves_the_dispatch_for_the_resume():
    session = GatewaySession("s1", (1, 3), 0, ClosingSocket())  # type: ignore[arg-type]
    session.number("MESSAGE_UPDATE", {"id": "1"})
    await session.drain()  # no ConnectionResetError reaches the REST edit that caused it
    assert not session.live
    session.number("MESSAGE_UPDATE", {"id": "2"})
    await session.drain()
    fresh = OpenSocket()
    await session.resume(fresh, last=0)  # type: ignore[arg-type]
    assert [(f["s"], f["d"]["id"]) for f in fresh.frames] == [(1, "1"), (2, "2")]
    assert session.live
