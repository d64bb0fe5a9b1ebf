"""Every recorded trace replayed against the client: HTTP answers through a replay server,
WebSocket frames through the client's event router."""

from __future__ import annotations

import pytest
from comfyui_replay import RouterReplay, load, replay_server

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
from discomfy.core.comfyui.reconcile import terminal_from_history
from discomfy.exceptions import ComfyUIError, GenerationError, WorkflowError


def only_entry(history_exchange):
    (prompt_id, entry), = history_exchange["body"].items()
    return prompt_id, entry


async def test_success_emptyimage_events_history_and_cached_rerun():
    trace = load("success_emptyimage.json")
    prompt_id = trace["response"]["body"]["prompt_id"]
    replay = RouterReplay()
    replay.feed(trace["ws_messages"])
    events = replay.events(prompt_id)
    assert isinstance(events[0], Started)
    assert [e.node for e in events if isinstance(e, NodeStarted)] == ["1", "2"]
    assert [e.output["images"][0]["filename"] for e in events if isinstance(e, NodeExecuted)] == ["empty_00003_.png"]
    assert replay.completed == [prompt_id]
    final = terminal_from_history(*only_entry(trace["history"]))
    assert isinstance(final, Succeeded)
    assert [(f.filename, f.subfolder, f.type, f.node) for f in final.images] == [
        ("empty_00003_.png", "discomfy", "output", "2"), ("empty_00004_.png", "discomfy", "output", "2")]
    rerun = trace["rerun_identical_prompt"]
    replay.feed(rerun["ws_messages"])
    rerun_events = replay.events(rerun["response"]["body"]["prompt_id"])
    assert not any(isinstance(e, NodeStarted) for e in rerun_events)  # all cached
    assert [e.output["images"][0]["filename"] for e in rerun_events if isinstance(e, NodeExecuted)] == ["empty_00003_.png"]
    other = RouterReplay()
    other.feed(trace["ws_messages_seen_by_other_client"])
    assert other.router.channels == {} and other.completed == []


async def test_success_loadimage_upload_text_frame_and_three_outputs():
    trace = load("success_loadimage.json")
    async with replay_server(trace["upload"], trace["response"], trace["history"]) as url:
        async with ComfyUIClient(url) as client:
            name = await client.upload_image(b"\x89PNG...", "discomfy_in_7476e3.png")
            assert name == "discomfy_in_7476e3.png"
            prompt_id = await client.queue_prompt(trace["request"]["prompt"])
            history = await client.get_history(prompt_id)
    replay = RouterReplay()
    replay.feed(trace["ws_messages"])
    events = replay.events(prompt_id)
    assert [e.node for e in events if isinstance(e, NodeStarted)] == ["10", "15", "11", "12", "14", "13", "16", "17"]
    assert replay.completed == [prompt_id]
    final = terminal_from_history(prompt_id, history[prompt_id])
    assert sorted((f.node, f.type) for f in final.images) == [("14", "output"), ("15", "temp"), ("17", "temp")]


@pytest.mark.parametrize("variant", ["legacy_client", "feature_flags_client"])
async def test_progress_websocket_image_progress_and_previews(variant):
    trace = load("progress_websocket_image.json")[variant]
    prompt_id = trace["response"]["body"]["prompt_id"]
    replay = RouterReplay()
    replay.feed(trace["ws_messages"])
    events = replay.events(prompt_id)
    assert [(e.value, e.max, e.node) for e in events if isinstance(e, Progress)] == [
        (0.0, 3.0, "2"), (1.0, 3.0, "2"), (2.0, 3.0, "2")]
    previews = [e for e in events if isinstance(e, Preview)]
    assert len(previews) == 3 and all(p.mime == "image/png" and p.data[:4] == b"\x89PNG" for p in previews)
    assert replay.completed == [prompt_id]
    assert isinstance(terminal_from_history(*only_entry(trace["history"])), Succeeded)


@pytest.mark.parametrize("name,node,node_type,text", [
    ("execution_error.json", "3", "LoadImage", "cannot identify image file"),
    ("execution_error_checkpoint.json", "4", "CheckpointLoaderSimple", "header too small"),
])
async def test_execution_errors_become_generation_errors(name, node, node_type, text):
    trace = load(name)
    prompt_id = trace["response"]["body"]["prompt_id"]
    replay = RouterReplay()
    replay.feed(trace["ws_messages"])
    events = replay.events(prompt_id)
    assert isinstance(events[-1], Failed) and sum(e.terminal for e in events) == 1
    for error in (events[-1].error, terminal_from_history(*only_entry(trace["history"])).error):
        assert isinstance(error, GenerationError)
        assert (error.node_id, error.node_type) == (node, node_type)
        assert f"node {node} ({node_type})" in error.user_message and text in error.user_message
    if "upload" in trace:
        async with replay_server(trace["upload"]) as url:
            async with ComfyUIClient(url) as client:
                assert await client.upload_image(b"not a png", "x.png") == trace["upload"]["body"]["name"]


VALIDATION_EXPECTATIONS = {
    "missing_required_input": "node 1 (EmptyImage), input 'width': Required input is missing",
    "unknown_node_class": "Cannot execute because node NoSuchNode does not exist.",
    "missing_class_type": "missing the class_type property",
    "no_output_node": "Prompt has no outputs",
    "value_bigger_than_max": "input 'width': Value 99999 bigger than max of 16384",
    "invalid_input_type": "input 'width': Failed to convert an input value to a INT value",
    "loadimage_file_missing": "node 1 (LoadImage), input 'image': Custom validation failed for node (image - Invalid image file: not_uploaded.png)",
    "lora_not_in_list_txt2img": "node 10 (LoraLoader), input 'lora_name': 'no_such_lora.safetensors' is not available on the server; available choices: sdxl/detail_tweaker.safetensors, style_a.safetensors, style_b.safetensors",
    "checkpoint_not_in_list_txt2img": "node 4 (CheckpointLoaderSimple), input 'ckpt_name': 'missing.safetensors' is not available on the server; available choices: dummy_sd15.safetensors, dummy_sdxl.ckpt",
    "return_type_mismatch": "node 3 (SaveImage), input 'images': Return type mismatch between linked nodes (images, received_type(INT) mismatch input_type(IMAGE))",
    "no_prompt_key": "No prompt provided",
}


@pytest.mark.parametrize("case", sorted(load("validation_error.json")["cases"]))
async def test_validation_error_cases(case):
    recorded = load("validation_error.json")["cases"][case]
    workflow = (recorded.get("request") or {}).get("prompt") or {"1": {"class_type": "X", "inputs": {}}}
    async with replay_server(recorded["response"]) as url:
        async with ComfyUIClient(url) as client:
            if case == "one_good_one_bad_output":
                assert await client.queue_prompt(workflow) == recorded["response"]["body"]["prompt_id"]
            elif case == "body_not_json":
                with pytest.raises(ComfyUIError) as caught:
                    await client.queue_prompt(workflow)
                assert caught.value.status == 500 and "Server got itself in trouble" in caught.value.detail
            else:
                with pytest.raises(WorkflowError) as caught:
                    await client.queue_prompt(workflow)
                assert VALIDATION_EXPECTATIONS[case] in caught.value.user_message


async def test_queue_interrupt_positions_histories_and_events():
    trace = load("queue_interrupt.json")
    a, b, c, d = (trace[k]["body"]["prompt_id"] for k in
                  ("post_prompt_a", "post_prompt_b", "post_prompt_c", "post_prompt_d_custom_id_front"))
    async with replay_server(trace["queue_while_running"]) as url:
        async with ComfyUIClient(url) as client:
            snapshot = await client.get_queue()
    assert snapshot.running == [a] and snapshot.pending == [d, b, c]  # by number, not heap order
    assert [snapshot.position(x) for x in (a, d, b, c)] == [0, 1, 2, 3]
    async with replay_server(trace["queue_after_delete"]) as url:
        async with ComfyUIClient(url) as client:
            assert (await client.get_queue()).position(c) is None
    replay = RouterReplay()
    replay.feed(trace["ws_messages"])
    a_events = replay.events(a)
    assert isinstance(a_events[-1], Interrupted) and (a_events[-1].node, a_events[-1].node_type) == ("3", "ImageInvert")
    assert replay.completed == [d, b]  # A ended by its interrupt; C was deleted and never ran
    assert isinstance(terminal_from_history(*only_entry(trace["history_a_interrupted"])), Interrupted)
    assert isinstance(terminal_from_history(*only_entry(trace["history_b"])), Succeeded)
    assert trace["history_c_deleted"]["body"] == {}


async def test_history_misc_unknown_id_is_empty():
    trace = load("history_misc.json")
    async with replay_server(trace["get_history_unknown_id"]) as url:
        async with ComfyUIClient(url) as client:
            assert await client.get_history("00000000-0000-0000-0000-000000000000") == {}


async def test_queue_idle_and_system_stats():
    queue, stats = load("queue.json"), load("system_stats.json")
    async with replay_server(queue["get_queue_idle"], stats) as url:
        async with ComfyUIClient(url) as client:
            snapshot = await client.get_queue()
            assert (snapshot.running, snapshot.pending) == ([], [])
            assert (await client.system_stats())["system"]["comfyui_version"] == stats["body"]["system"]["comfyui_version"]
            assert await client.test_connection() is True


async def test_upload_variants_return_the_name_comfyui_chose():
    trace = load("upload.json")
    cases = {"same_name_different_bytes": "discomfy_up_dfbba3 (1).png",
             "with_subfolder": "discomfy_sub/discomfy_up_dfbba3.png",
             "first_upload": "discomfy_up_dfbba3.png"}
    for case, expected in cases.items():
        async with replay_server(trace[case]) as url:
            async with ComfyUIClient(url) as client:
                assert await client.upload_image(b"png", "discomfy_up_dfbba3.png") == expected
    async with replay_server(trace["missing_image_field"]) as url:
        async with ComfyUIClient(url) as client:
            with pytest.raises(ComfyUIError) as caught:
                await client.upload_image(b"png", "x.png")
            assert caught.value.status == 400


async def test_object_info_loras_both_choice_formats_and_model_lists():
    trace = load("object_info_loras.json")
    nodes = load("object_info_nodes.json")
    full = {"method": "GET", "path": "/object_info", "params": None, "status": 200, "body": nodes}
    exchanges = [v for k, v in trace.items() if isinstance(v, dict) and "method" in v] + [full]
    async with replay_server(*exchanges) as url:
        async with ComfyUIClient(url) as client:
            assert await client.list_choices("LoraLoader", "lora_name") == trace["models_loras"]["body"]
            assert await client.list_choices("CheckpointLoaderSimple", "ckpt_name") == trace["models_checkpoints"]["body"]
            assert await client.list_loras() == trace["models_loras"]["body"]
            assert await client.list_models("checkpoints") == ["dummy_sd15.safetensors", "dummy_sdxl.ckpt"]
            assert await client.get_object_info("NoSuchNode") == {}
            with pytest.raises(Exception, match="no models folder called no_such_folder"):
                await client.list_models("no_such_folder")
            assert len(await client.get_object_info()) == 478
            assert await client.list_choices("LatentConcat", "dim", refresh=False) == ["x", "-x", "y", "-y", "t", "-t"]


async def test_loras_runtime_change_is_seen_without_caching():
    trace = load("loras_runtime_change.json")
    for key in ("before", "after_touch_style_new", "after_rm_style_new"):
        exchange = {"method": "GET", "path": "/models/loras", "params": None, "status": 200, "body": trace[key]}
        async with replay_server(exchange) as url:
            async with ComfyUIClient(url) as client:
                assert await client.list_loras() == trace[key]


async def test_no_client_id_prompt_produces_no_events_for_observers():
    trace = load("no_client_id.json")
    replay = RouterReplay()
    replay.feed(trace["observer_ws_messages"])
    assert replay.router.channels == {} and replay.completed == []
    assert replay.router.queue_remaining == 0


async def test_ws_connect_status_and_feature_flags_are_not_job_events():
    trace = load("ws_connect.json")
    replay = RouterReplay()
    for key in ("no_client_id", "with_client_id", "with_feature_flags"):
        replay.feed(trace[key]["ws_messages"])
    assert replay.router.channels == {} and replay.router.queue_remaining == 0


async def test_ws_reconnect_hint_is_ignored_and_the_job_completes():
    trace = load("ws_reconnect.json")["reconnect"]
    prompt_id = trace["response"]["body"]["prompt_id"]
    replay = RouterReplay()
    replay.feed(trace["first_socket_messages"])
    replay.feed(trace["reconnected_socket_messages"])
    events = replay.events(prompt_id)
    assert [e.node for e in events if isinstance(e, NodeStarted)] == ["1", "2", "3"]
    assert replay.completed == [prompt_id]
    assert isinstance(terminal_from_history(*only_entry(trace["history"])), Succeeded)
