"""Pytest fixtures for the fake ComfyUI and a client connected to it.

``fake_comfyui`` yields a started :class:`~discomfy.testing.fake_comfyui.FakeComfyUI` (tune it
in the test: ``fake_comfyui.loras = [...]``, ``fake_comfyui.fail_at("KSampler", "boom")``);
``comfyui_client`` yields a :class:`~discomfy.core.comfyui.client.ComfyUIClient` with its
socket connected to that fake and short timeouts, so a broken test fails in seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

from discomfy.core.comfyui.client import ComfyUIClient
from discomfy.testing.fake_comfyui import FakeComfyUI


@pytest_asyncio.fixture
async def fake_comfyui() -> AsyncIterator[FakeComfyUI]:
    fake = FakeComfyUI()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest_asyncio.fixture
async def comfyui_client(fake_comfyui: FakeComfyUI) -> AsyncIterator[ComfyUIClient]:
    client = ComfyUIClient(fake_comfyui.url, request_timeout=5.0, job_deadline=30.0,
                           reconnect_max_delay=0.5)
    await client.initialize()

    async def registered() -> None:  # connected on both ends, so no early message is lost
        await client.socket.connected.wait()
        while client.client_id not in fake_comfyui.sockets:
            await asyncio.sleep(0.005)

    async with asyncio.timeout(5.0):
        await registered()
    try:
        yield client
    finally:
        await client.close()


__all__ = ["fake_comfyui", "comfyui_client"]
