"""Jobs against the fake ComfyUI, end to end through the real client."""

from __future__ import annotations

import asyncio
import io

import pytest
from comfyui_workflows import empty_image, txt2img
from PIL import Image

from discomfy.core.comfyui.client import ComfyUIClient
from discomfy.core.comfyui.events import (
    Failed,
    Interrupted,
    NodeExecuted,
    NodeStarted,
    Preview,
    Progress,
    Started,
    Succeeded,
)
from discomfy.exceptions import ComfyUIError, GenerationError, WorkflowError


async def run(client: ComfyUIClient, workflow: dict, deadline: float = 10.0) -> list:
    prompt_id = await client.queue_prompt(workflow)
    return [event async for event in client.follow(prompt_id, deadline=deadline)]


async def test_success_delivers_outputs_and_costs_two_requests_plus_outputs(comfyui_client, fake_comfyui):
    events = await run(comfyui_client, empty_image(64, 48, batch=2, color=0x00FF00))
    final = events[-1]
    assert isinstance(final, Succeeded)
    assert [type(e) for e in events].count(Succeeded) == 1
    assert isinstance(events[0], Started)
    assert [e.node for e in events if isinstance(e, NodeStarted)] == ["1", "2"]
    assert any(isinstance(e, NodeExecuted) and e.node == "2" for e in events)
    assert [(f.subfolder, f.type, f.node) for f in final.images] == [("discomfy", "output", "2")] * 2
    for f in final.images:
        image = Image.open(io.BytesIO(await comfyui_client.download_output(f.filename, f.subfolder, f.type)))
        assert image.size == (64, 48) and image.getpixel((0, 0)) == (0, 255, 0)
    assert fake_comfyui.count() == 2 + len(final.images)


async def test_sampler_progress_and_previews_reach_the_job(comfyui_client, fake_comfyui):
    fake_comfyui.preview_frames = True
    events = await run(comfyui_client, txt2img(steps=5, width=320, height=200))
    progress = [(e.value, e.max, e.node) for e in events if isinstance(e, Progress)]
    assert progress == [(float(i), 5.0, "3") for i in range(1, 6)]
    previews = [e for e in events if isinstance(e, Preview)]
    assert len(previews) == 5 and all(p.mime == "image/jpeg" and p.data[:2] == b"\xff\xd8" for p in previews)
    final = events[-1]
    data = await comfyui_client.download_output(final.images[0].filename, final.images[0].subfolder)
    assert Image.open(io.BytesIO(data)).size == (320, 200)


async def test_refused_prompt_names_node_input_and_installed_choices(comfyui_client):
    with pytest.raises(WorkflowError) as caught:
        await comfyui_client.queue_prompt(txt2img(lora="no_such_lora.safetensors"))
    err = caught.value
    assert "node 10 (LoraLoader)" in err.user_message and "lora_name" in err.user_message
    assert "no_such_lora.safetensors" in err.user_message and "style_b.safetensors" in err.user_message
    assert err.node_errors[0]["choices"] == ["sdxl/detail_tweaker.safetensors", "style_a.safetensors",
                                             "style_b.safetensors"]


async def test_refused_prompt_for_missing_input_and_unknown_node(comfyui_client):
    graph = empty_image()
    del graph["1"]["inputs"]["width"]
    with pytest.raises(WorkflowError, match="node 1 \\(EmptyImage\\), input 'width': Required input is missing"):
        await comfyui_client.queue_prompt(graph)
    graph = empty_image()
    graph["1"]["class_type"] = "NoSuchNode"
    with pytest.raises(WorkflowError, match="NoSuchNode does not exist"):
        await comfyui_client.queue_prompt(graph)


async def test_execution_error_fails_the_job_naming_node_class_and_message(comfyui_client, fake_comfyui):
    fake_comfyui.fail_at("KSampler", "CUDA out of memory")
    events = await run(comfyui_client, txt2img(seed=7))
    final = events[-1]
    assert isinstance(final, Failed) and isinstance(final.error, GenerationError)
    assert final.error.node_id == "3" and final.error.node_type == "KSampler"
    assert "node 3 (KSampler)" in final.error.user_message and "CUDA out of memory" in final.error.user_message


async def test_events_sent_before_follow_are_buffered(comfyui_client, fake_comfyui):
    prompt_id = await comfyui_client.queue_prompt(empty_image(color=3))
    await fake_comfyui.wait_finished(prompt_id)
    events = [e async for e in comfyui_client.follow(prompt_id, deadline=5)]
    assert isinstance(events[0], Started) and isinstance(events[-1], Succeeded)


async def test_fifty_concurrent_jobs_each_get_exactly_their_own_events(comfyui_client, fake_comfyui):
    fake_comfyui.simulate("KSampler", steps=3)

    async def job(i: int):
        prompt_id = await comfyui_client.queue_prompt(txt2img(seed=i, width=64 + 8 * i, height=64))
        return prompt_id, [e async for e in comfyui_client.follow(prompt_id, deadline=20)]

    results = await asyncio.gather(*(job(i) for i in range(50)))
    for i, (prompt_id, events) in enumerate(results):
        assert {e.prompt_id for e in events} == {prompt_id}
        assert [e.value for e in events if isinstance(e, Progress)] == [1.0, 2.0, 3.0]
        final = events[-1]
        assert isinstance(final, Succeeded) and sum(e.terminal for e in events) == 1
        data = await comfyui_client.download_output(final.images[0].filename, final.images[0].subfolder)
        assert Image.open(io.BytesIO(data)).size == (64 + 8 * i, 64)


async def test_cancel_pending_deletes_it_and_running_interrupts_only_that_one(comfyui_client, fake_comfyui):
    fake_comfyui.simulate("KSampler", steps=1000, step_delay=0.01)
    running = await comfyui_client.queue_prompt(txt2img(seed=1))
    pending = await comfyui_client.queue_prompt(txt2img(seed=2))
    async for event in comfyui_client.follow(running):
        if isinstance(event, Progress):
            break
    snapshot = await comfyui_client.get_queue()
    assert snapshot.position(running) == 0 and snapshot.position(pending) == 1
    assert await comfyui_client.cancel(pending) is True
    events = [e async for e in comfyui_client.follow(pending, deadline=5)]
    assert isinstance(events[-1], Failed) and "cancelled" in events[-1].error.user_message
    assert (await comfyui_client.get_queue()).running == [running]  # not interrupted by that cancel
    assert await comfyui_client.cancel(running) is True
    events = [e async for e in comfyui_client.follow(running, deadline=5)]
    assert isinstance(events[-1], Interrupted) and events[-1].node == "3"
    assert await comfyui_client.cancel(running) is False


async def test_queue_positions_follow_number_order_not_heap_order(comfyui_client, fake_comfyui):
    fake_comfyui.simulate("KSampler", steps=1000, step_delay=0.01)
    ids = [await comfyui_client.queue_prompt(txt2img(seed=100 + i)) for i in range(6)]
    snapshot = await comfyui_client.get_queue()
    assert snapshot.running == [ids[0]] and snapshot.pending == ids[1:]
    assert [snapshot.position(i) for i in ids] == [0, 1, 2, 3, 4, 5]
    for prompt_id in reversed(ids):
        await comfyui_client.cancel(prompt_id)


async def test_job_finishing_while_socket_is_down_is_delivered_after_reconnect(comfyui_client, fake_comfyui):
    fake_comfyui.simulate("KSampler", steps=20, step_delay=0.01)
    prompt_id = await comfyui_client.queue_prompt(txt2img(seed=11))
    events = []
    async for event in comfyui_client.follow(prompt_id):
        events.append(event)
        if isinstance(event, Progress):
            break
    await fake_comfyui.block_sockets()
    await fake_comfyui.wait_finished(prompt_id)
    assert not comfyui_client.connected
    fake_comfyui.unblock_sockets()
    events += [e async for e in comfyui_client.follow(prompt_id, deadline=10)]
    assert isinstance(events[-1], Succeeded) and events[-1].images[0].node == "9"


async def test_job_lost_in_a_restart_fails_with_a_clear_message(comfyui_client, fake_comfyui):
    fake_comfyui.simulate("KSampler", steps=1000, step_delay=0.01)
    prompt_id = await comfyui_client.queue_prompt(txt2img(seed=12))
    await fake_comfyui.restart(lose_queue=True)
    events = [e async for e in comfyui_client.follow(prompt_id, deadline=10)]
    assert isinstance(events[-1], Failed)
    assert "lost this job" in events[-1].error.user_message


async def test_deadline_fails_a_job_that_takes_too_long(comfyui_client, fake_comfyui):
    fake_comfyui.simulate("KSampler", steps=1000, step_delay=0.01)
    prompt_id = await comfyui_client.queue_prompt(txt2img(seed=13))
    events = [e async for e in comfyui_client.follow(prompt_id, deadline=0.2)]
    assert isinstance(events[-1], Failed) and "within 0.2 seconds" in events[-1].error.user_message
    await comfyui_client.cancel(prompt_id)


async def test_down_server_raises_comfyui_error_within_the_timeout(fake_comfyui):
    url = fake_comfyui.url
    await fake_comfyui.stop()
    async with ComfyUIClient(url, request_timeout=0.5, reconnect_max_delay=0.1) as client:
        assert await client.test_connection() is False
        with pytest.raises(ComfyUIError) as caught:
            await asyncio.wait_for(client.queue_prompt(empty_image()), 5)
        assert caught.value.server == url and "connection refused" in caught.value.detail


async def test_slow_server_raises_comfyui_error_naming_the_timeout(fake_comfyui):
    fake_comfyui.slow_http(3.0)
    async with ComfyUIClient(fake_comfyui.url, request_timeout=0.3) as client:
        with pytest.raises(ComfyUIError, match="no answer within 0.3 s"):
            await asyncio.wait_for(client.system_stats(), 2.5)


async def test_http_failure_becomes_comfyui_error_with_status(comfyui_client, fake_comfyui):
    fake_comfyui.fail_http(503, times=1)
    with pytest.raises(ComfyUIError) as caught:
        await comfyui_client.get_queue()
    assert caught.value.status == 503 and "read the queue" in caught.value.detail
    assert (await comfyui_client.get_queue()).running == []


async def test_a_blip_in_http_does_not_fail_a_finished_job(comfyui_client, fake_comfyui):
    gate = fake_comfyui.hold_at("2")
    prompt_id = await comfyui_client.queue_prompt(empty_image(color=77))
    fake_comfyui.fail_http(500, times=2)  # the next two requests: the history reads
    gate.set()
    events = [e async for e in comfyui_client.follow(prompt_id, deadline=10)]
    assert isinstance(events[-1], Succeeded)
    assert fake_comfyui.count("GET", "/history") == 3


async def test_socket_dropped_mid_job_reconnects_and_the_job_continues(comfyui_client, fake_comfyui):
    gate = fake_comfyui.hold_at("3")
    prompt_id = await comfyui_client.queue_prompt(txt2img(seed=21))
    events = []
    async for event in comfyui_client.follow(prompt_id):
        events.append(event)
        if isinstance(event, NodeStarted) and event.node == "3":
            break
    await fake_comfyui.drop_sockets()
    await asyncio.wait_for(_until(lambda: fake_comfyui.ws_connects == 2 and comfyui_client.connected
                                  and comfyui_client.client_id in fake_comfyui.sockets), 5)
    gate.set()
    events += [e async for e in comfyui_client.follow(prompt_id, deadline=10)]
    assert [e.value for e in events if isinstance(e, Progress)] == [1.0, 2.0, 3.0, 4.0]
    assert isinstance(events[-1], Succeeded)


async def _until(predicate) -> None:
    while not predicate():
        await asyncio.sleep(0.01)


async def test_buffered_outcome_wins_over_a_deadline_that_has_passed(comfyui_client, fake_comfyui):
    prompt_id = await comfyui_client.queue_prompt(empty_image(color=88))
    await fake_comfyui.wait_finished(prompt_id)
    await asyncio.wait_for(_until(lambda: comfyui_client.router.channels[prompt_id].done), 5)
    events = [e async for e in comfyui_client.follow(prompt_id, deadline=0.0)]
    assert isinstance(events[-1], Succeeded)


async def test_following_a_prompt_from_a_previous_process(comfyui_client, fake_comfyui):
    async with ComfyUIClient(fake_comfyui.url, request_timeout=5) as earlier:
        finished = await earlier.queue_prompt(empty_image(color=99))
        await fake_comfyui.wait_finished(finished)
    events = [e async for e in comfyui_client.follow(finished, deadline=5)]
    assert isinstance(events[-1], Succeeded) and events[-1].images[0].node == "2"
    events = [e async for e in comfyui_client.follow("never-queued", deadline=5)]
    assert isinstance(events[-1], Failed) and "lost this job" in events[-1].error.user_message


async def test_a_stable_client_id_receives_events_of_a_predecessors_prompt(fake_comfyui):
    gate = fake_comfyui.hold_at("2")
    async with ComfyUIClient(fake_comfyui.url, client_id="bot-1") as before:
        prompt_id = await before.queue_prompt(empty_image(color=101))
    async with ComfyUIClient(fake_comfyui.url, client_id="bot-1", request_timeout=5) as after:
        await asyncio.wait_for(_until(lambda: "bot-1" in fake_comfyui.sockets), 5)
        follower = asyncio.create_task(_collect(after, prompt_id))
        await asyncio.sleep(0)
        gate.set()
        events = await asyncio.wait_for(follower, 10)
    assert any(isinstance(e, NodeExecuted) for e in events) and isinstance(events[-1], Succeeded)


async def _collect(client, prompt_id):
    return [e async for e in client.follow(prompt_id, deadline=10)]


async def test_a_follower_stopped_as_an_event_arrives_stops(comfyui_client, fake_comfyui):
    """Stopping the bot cancels every job's follower; one whose next event arrived in the same
    instant must stop too. Python 3.11's ``asyncio.wait_for`` returned that event instead and
    swallowed the cancel, so the follower waited on (for a held node: for ever) and the bot's
    shutdown hung."""
    fake_comfyui.hold_at("2")
    prompt_id = await comfyui_client.queue_prompt(empty_image(color=5))
    started = asyncio.Event()

    async def follow() -> list:
        seen = []
        async for event in comfyui_client.follow(prompt_id, deadline=3600):
            seen.append(event)
            if isinstance(event, NodeStarted) and event.node == "2":
                started.set()
        return seen

    follower = asyncio.create_task(follow())
    async with asyncio.timeout(30):
        await started.wait()
    await asyncio.sleep(0)  # the follower is back waiting for the next event
    comfyui_client.router.channel(prompt_id).push(Progress(prompt_id, 1.0, 2.0, "2"))
    follower.cancel()
    done, _ = await asyncio.wait([follower], timeout=30)
    assert done and follower.cancelled(), "the follower went on waiting after it was cancelled"
