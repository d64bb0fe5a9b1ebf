"""A follower whose server stops mid-job and never comes back ends on its own.

``follow()`` first yields a non-terminal ``ServerUnreachable`` (the job may still finish when
the socket reconnects); after ``server_lost_after`` seconds without a reconnect it ends with a
``Failed`` whose ``ComfyUIError`` names the server -- long before ``job_deadline``."""

from __future__ import annotations

import asyncio
import time

from comfyui_workflows import txt2img

from discomfy.core.comfyui.client import ComfyUIClient
from discomfy.core.comfyui.events import Failed, Progress, ServerUnreachable, Succeeded
from discomfy.exceptions import ComfyUIError

LOST_AFTER = 2.0


async def connected_client(fake) -> ComfyUIClient:
    client = ComfyUIClient(fake.url, name="gpu-attic", request_timeout=2.0, job_deadline=600.0,
                           reconnect_max_delay=0.3, server_lost_after=LOST_AFTER)
    await client.initialize()
    while client.client_id not in fake.sockets:
        await asyncio.sleep(0.005)
    return client


async def test_a_follower_on_a_stopped_server_ends_with_an_error_naming_it(fake_comfyui):
    fake_comfyui.simulate("KSampler", 200, 0.05)  # ten seconds of sampling
    client = await connected_client(fake_comfyui)
    try:
        prompt_id = await client.queue_prompt(txt2img(steps=200))
        events, stopped = [], None
        async for event in client.follow(prompt_id):
            events.append(event)
            if isinstance(event, Progress) and stopped is None:
                await fake_comfyui.stop()  # stopped mid-job, never back
                stopped = time.monotonic()
        ended = time.monotonic()
    finally:
        await client.close()
    assert stopped is not None, "the job must have been running when the server stopped"
    down = [e for e in events if isinstance(e, ServerUnreachable)]
    assert len(down) == 1 and down[0].server == "gpu-attic" and not down[0].terminal
    final = events[-1]
    assert isinstance(final, Failed) and isinstance(final.error, ComfyUIError)
    assert "gpu-attic" in final.error.user_message and "try again" in final.error.user_message.lower()
    assert fake_comfyui.url in final.error.detail
    assert ended - stopped <= LOST_AFTER + 5, f"ended {ended - stopped:.1f} s after the server stopped"


async def test_a_server_back_within_the_limit_lets_the_job_finish(fake_comfyui):
    fake_comfyui.simulate("KSampler", 30, 0.05)
    client = await connected_client(fake_comfyui)
    try:
        prompt_id = await client.queue_prompt(txt2img(steps=30))
        events = []
        async for event in client.follow(prompt_id):
            events.append(event)
            if isinstance(event, Progress) and event.value == 5:
                await fake_comfyui.drop_sockets()
                fake_comfyui.sockets_blocked = True  # refuses reconnects for a while
                asyncio.get_running_loop().call_later(LOST_AFTER / 2, setattr, fake_comfyui, "sockets_blocked", False)
    finally:
        await client.close()
    assert any(isinstance(e, ServerUnreachable) for e in events)
    assert isinstance(events[-1], Succeeded), events[-1]


async def test_the_setting_reaches_every_server_client(tmp_path):
    from discomfy.config import get_config, override
    from discomfy.core.servers.pool import ServerPool

    config = get_config(tmp_path)
    assert float(config.comfyui.server_lost_after) == 60.0  # the shipped default
    override(config, "comfyui.server_lost_after", 12.5)
    override(config, "comfyui.servers", [{"name": "a", "url": "http://127.0.0.1:1"}, {"name": "b", "url": "http://127.0.0.1:2"}])
    pool = ServerPool.from_config(config)
    assert [(s.client.name, s.client.server_lost_after) for s in pool] == [("a", 12.5), ("b", 12.5)]
