"""The fake's own output for the recorded scenarios, compared with the real server's:
message types, their order and their keys; HTTP status codes and bodies."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import pytest
import pytest_asyncio
from comfyui_capture import RawSocket, png, post_prompt, shapes
from comfyui_replay import load

from discomfy.testing.fake_comfyui import FakeComfyUI


def trimmed(value):
    """Drop what the shipped node definitions leave out to stay small (tooltips,
    descriptions, python_module), so the rest can be compared exactly."""
    if isinstance(value, dict):
        return {k: trimmed(v) for k, v in value.items() if k not in ("tooltip", "description", "python_module")}
    if isinstance(value, list):
        return [trimmed(v) for v in value]
    return value


@pytest_asyncio.fixture
async def session():
    async with aiohttp.ClientSession() as s:
        yield s


async def run_recorded(fake, session, trace, *, feature_flags=False):
    sock = await RawSocket(session, fake.url, trace["client_id"]).connect(feature_flags)
    await sock.read_until(lambda f: f["message"]["type"] == ("feature_flags" if feature_flags else "status"))
    status, body = await post_prompt(session, fake.url, trace["request"])
    assert status == 200, body
    frames = await sock.read_until_done(body["prompt_id"])
    await sock.close()
    connect_frames = 2 if feature_flags else 1
    return body["prompt_id"], frames[connect_frames:]


async def test_success_emptyimage_matches_including_cached_rerun_and_other_client(fake_comfyui, session):
    trace = load("success_emptyimage.json")
    other = await RawSocket(session, fake_comfyui.url, "observer").connect()
    _, frames = await run_recorded(fake_comfyui, session, trace)
    assert shapes(frames) == shapes(trace["ws_messages"])
    _, rerun = await run_recorded(fake_comfyui, session, trace)
    assert shapes(rerun) == shapes(trace["rerun_identical_prompt"]["ws_messages"])
    recorded_other = trace["ws_messages_seen_by_other_client"]
    frames = await other.read_until(lambda f: len(other.frames) == 1 + len(recorded_other))
    assert shapes(frames[1:]) == shapes(recorded_other)  # only status broadcasts, nothing of the job
    await other.close()


async def test_success_loadimage_matches_order_text_frame_and_outputs(fake_comfyui, session):
    trace = load("success_loadimage.json")
    fake_comfyui.add_input_image("discomfy_in_7476e3.png", png((40, 30)))
    prompt_id, frames = await run_recorded(fake_comfyui, session, trace)
    assert shapes(frames) == shapes(trace["ws_messages"])
    executing = [f["message"]["data"]["node"] for f in frames
                 if f["frame"] == "text" and f["message"]["type"] == "executing"]
    assert executing == ["10", "15", "11", "12", "14", "13", "16", "17", None]
    outputs = fake_comfyui.worker.history[prompt_id]["outputs"]
    assert sorted(outputs) == sorted(trace["history"]["body"][trace["response"]["body"]["prompt_id"]]["outputs"])


async def test_progress_websocket_image_matches_for_legacy_and_metadata_clients(fake_comfyui, session):
    trace = load("progress_websocket_image.json")
    _, legacy = await run_recorded(fake_comfyui, session, trace["legacy_client"])
    assert shapes(legacy) == shapes(trace["legacy_client"]["ws_messages"])
    _, flagged = await run_recorded(fake_comfyui, session, trace["feature_flags_client"], feature_flags=True)
    assert shapes(flagged) == shapes(trace["feature_flags_client"]["ws_messages"])


async def test_execution_error_corrupt_image_matches(fake_comfyui, session):
    trace = load("execution_error.json")
    fake_comfyui.add_input_image("discomfy_corrupt_926e5d.png", b"\x89PNG\r\n\x1a\nbroken")
    prompt_id, frames = await run_recorded(fake_comfyui, session, trace)
    assert shapes(frames) == shapes(trace["ws_messages"])
    error = next(f["message"]["data"] for f in frames if f["frame"] == "text" and f["message"]["type"] == "execution_error")
    recorded = next(m["message"]["data"] for m in trace["ws_messages"] if m["message"]["type"] == "execution_error")
    for key in ("node_id", "node_type", "exception_type", "exception_message", "executed", "current_inputs"):
        assert error[key] == recorded[key], key
    entry = fake_comfyui.worker.history[prompt_id]
    recorded_entry = next(iter(trace["history"]["body"].values()))
    assert entry["status"]["status_str"] == recorded_entry["status"]["status_str"] == "error"
    assert [m[0] for m in entry["status"]["messages"]] == [m[0] for m in recorded_entry["status"]["messages"]]
    assert entry["outputs"] == recorded_entry["outputs"] == {}


async def test_execution_error_checkpoint_matches_with_injected_fault(fake_comfyui, session):
    trace = load("execution_error_checkpoint.json")
    fake_comfyui.fail_at("CheckpointLoaderSimple", "Error while deserializing header: header too small",
                         "safetensors._safetensors_rust.SafetensorError")
    _, frames = await run_recorded(fake_comfyui, session, trace)
    assert shapes(frames) == shapes(trace["ws_messages"])


async def test_validation_errors_match_status_and_body(fake_comfyui, session):
    cases = load("validation_error.json")["cases"]
    for name, case in cases.items():
        if name == "body_not_json":
            async with session.post(fake_comfyui.url + "/prompt", data=case["request_raw"] or "{not json") as r:
                assert (r.status, await r.text()) == (case["response"]["status"], case["response"]["body_text"])
            continue
        status, body = await post_prompt(session, fake_comfyui.url, case["request"])
        recorded = case["response"]["body"]
        assert status == case["response"]["status"], name
        if status == 400:
            assert body == trimmed(recorded), name
        else:
            assert body["node_errors"] == trimmed(recorded["node_errors"]), name


async def test_queue_interrupt_matches_for_the_interrupted_prompt(fake_comfyui, session):
    trace = load("queue_interrupt.json")
    fake_comfyui.hold_at("2")
    sock = await RawSocket(session, fake_comfyui.url, trace["client_id"]).connect()
    _, a = await post_prompt(session, fake_comfyui.url, trace["post_prompt_a"]["request_json"])
    await sock.read_until(lambda f: f["message"]["type"] == "executing" and f["message"]["data"].get("node") == "2")
    _, b = await post_prompt(session, fake_comfyui.url, trace["post_prompt_b"]["request_json"])
    _, c = await post_prompt(session, fake_comfyui.url, trace["post_prompt_c"]["request_json"])
    _, d = await post_prompt(session, fake_comfyui.url, trace["post_prompt_d_custom_id_front"]["request_json"])
    assert d["prompt_id"] == trace["post_prompt_d_custom_id_front"]["body"]["prompt_id"] and d["number"] < 0
    async with session.get(fake_comfyui.url + "/queue") as r:
        queue = await r.json()
    assert [item[1] for item in queue["queue_running"]] == [a["prompt_id"]]
    assert sorted(item[0] for item in queue["queue_pending"]) == [d["number"], b["number"], c["number"]]
    await session.post(fake_comfyui.url + "/queue", json={"delete": [c["prompt_id"]]})
    await session.post(fake_comfyui.url + "/interrupt", json={"prompt_id": c["prompt_id"]})
    assert fake_comfyui.worker.interrupt_requested is False  # not the running prompt: ignored
    await session.post(fake_comfyui.url + "/interrupt", json={"prompt_id": a["prompt_id"]})
    fake_comfyui.clear_faults()  # releases node 2
    await sock.read_until_done(b["prompt_id"])
    recorded_a = trace["post_prompt_a"]["body"]["prompt_id"]
    assert shapes(sock.frames, a["prompt_id"]) == shapes(trace["ws_messages"], recorded_a)
    order = [f["message"]["data"]["prompt_id"] for f in sock.frames if f["message"]["type"] == "execution_start"]
    assert order == [a["prompt_id"], d["prompt_id"], b["prompt_id"]]
    async with session.get(fake_comfyui.url + f"/history/{c['prompt_id']}") as r:
        assert await r.json() == {}
    await sock.close()


async def test_ws_connect_first_frames_match(fake_comfyui, session):
    trace = load("ws_connect.json")
    anonymous = await RawSocket(session, fake_comfyui.url, None).connect()
    frames = await anonymous.read_until(lambda f: True)
    assert shapes(frames) == shapes(trace["no_client_id"]["ws_messages"])
    assert re.fullmatch(r"[0-9a-f]{32}", frames[0]["message"]["data"]["sid"])
    flagged = await RawSocket(session, fake_comfyui.url, "rec-ff").connect(feature_flags=True)
    frames = await flagged.read_until(lambda f: f["message"]["type"] == "feature_flags")
    assert [f["message"] for f in frames][1] == trace["with_feature_flags"]["ws_messages"][2]["message"]
    assert frames[0]["message"]["data"]["sid"] == "rec-ff"
    async with session.get(fake_comfyui.url + "/features") as r:
        assert await r.json() == trace["get_features"]["body"]
    await anonymous.close()
    await flagged.close()


async def test_no_client_id_observer_sees_only_broadcasts(fake_comfyui, session):
    trace = load("no_client_id.json")
    observer = await RawSocket(session, fake_comfyui.url, "observer").connect()
    await observer.read_until(lambda f: True)
    status, body = await post_prompt(session, fake_comfyui.url, trace["request"])
    await fake_comfyui.wait_finished(body["prompt_id"])
    frames = await observer.read_until(
        lambda f: f["message"]["type"] == "status" and f["message"]["data"]["status"]["exec_info"]["queue_remaining"] == 0)
    assert shapes(frames[1:]) == shapes(trace["observer_ws_messages"])
    await observer.close()


async def test_ws_reconnect_hint_and_duplicate_client_id(fake_comfyui, session):
    trace = load("ws_reconnect.json")
    gate = fake_comfyui.hold_at("2")
    first = await RawSocket(session, fake_comfyui.url, "rec-x").connect()
    _, body = await post_prompt(session, fake_comfyui.url, {**trace["reconnect"]["request"], "client_id": "rec-x"})
    await first.read_until(lambda f: f["message"]["type"] == "executing" and f["message"]["data"].get("node") == "2")
    await first.close()
    second = await RawSocket(session, fake_comfyui.url, "rec-x").connect()
    frames = await second.read_until(lambda f: f["message"]["type"] == "executing")
    assert shapes(frames) == shapes(trace["reconnect"]["reconnected_socket_messages"][:2])
    assert frames[1]["message"]["data"] == {"node": "2"}
    newer = await RawSocket(session, fake_comfyui.url, "rec-x").connect()  # deafens `second`
    await newer.read_until(lambda f: True)
    gate.set()
    await newer.read_until_done(body["prompt_id"])
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(second.ws.receive(), 0.2)
    assert trace["duplicate_client_id"]["older_socket_messages_after_prompt"] == []
    await second.close()
    await newer.close()


async def test_upload_naming_matches(fake_comfyui, session):
    trace = load("upload.json")
    first, other = png((7, 7)), png((7, 7), (1, 2, 3))

    async def upload(data, **fields):
        form = aiohttp.FormData()
        if data is not None:
            form.add_field("image", data, filename="discomfy_up_dfbba3.png", content_type="image/png")
        for key, value in fields.items():
            form.add_field(key, value)
        async with session.post(fake_comfyui.url + "/upload/image", data=form) as r:
            return r.status, (await r.json() if r.status == 200 else None)

    steps = [("first_upload", first, {}), ("same_name_same_bytes", first, {}),
             ("same_name_different_bytes", other, {}), ("same_name_overwrite_true", other, {"overwrite": "true"}),
             ("with_subfolder", first, {"subfolder": "discomfy_sub"}), ("type_temp", first, {"type": "temp"}),
             ("missing_image_field", None, {"subfolder": "x"}),
             ("subfolder_path_escape", first, {"subfolder": "../../escape"})]
    for name, data, fields in steps:
        assert await upload(data, **fields) == (trace[name]["status"], trace[name]["body"]), name


async def test_object_info_models_and_idle_routes_match(session):
    trace = load("object_info_loras.json")
    async with FakeComfyUI() as fake:
        for key, recorded in trace.items():
            if not isinstance(recorded, dict) or "method" not in recorded or key == "object_info_LoadImage":
                continue
            async with session.get(fake.url + recorded["path"]) as r:
                assert r.status == recorded["status"], key
                if recorded["body"] is not None:
                    assert await r.json() == trimmed(recorded["body"]), key
        for name, recorded in load("queue.json").items():
            if isinstance(recorded, dict):
                async with session.get(fake.url + recorded["path"]) as r:
                    assert await r.json() == recorded["body"]
        async with session.get(fake.url + "/system_stats") as r:
            body = await r.json()
        stats = load("system_stats.json")["body"]
        assert sorted(body["system"]) == sorted(stats["system"]) and sorted(body["devices"][0]) == sorted(stats["devices"][0])


async def test_lora_list_changes_live_like_the_real_server(session):
    trace = load("loras_runtime_change.json")
    async with FakeComfyUI(loras=trace["before"] + ["notes.txt", "put_loras_here"]) as fake:
        fake.loras = trace["after_touch_style_new"] + ["notes.txt"]
        async with session.get(fake.url + "/object_info/LoraLoader") as r:
            choices = (await r.json())["LoraLoader"]["input"]["required"]["lora_name"][0]
        assert choices == trace["object_info_LoraLoader_lora_name_choices_after_touch"]
        fake.loras = list(reversed(trace["after_rm_style_new"]))
        async with session.get(fake.url + "/models/loras") as r:
            assert await r.json() == trace["after_rm_style_new"]


async def test_history_misc_matches(fake_comfyui, session):
    trace = load("history_misc.json")
    ids = []
    for color in (1, 2, 3):
        _, body = await post_prompt(session, fake_comfyui.url, {"prompt": {
            "1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": color}},
            "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "h"}}}})
        await fake_comfyui.wait_finished(body["prompt_id"])
        ids.append(body["prompt_id"])
    async with session.get(fake_comfyui.url + "/history", params={"max_items": "2"}) as r:
        body = await r.json()
    assert list(body) == ids[1:] and len(body) == len(trace["get_history_max_items_2"]["body"])
    async with session.get(fake_comfyui.url + trace["get_history_unknown_id"]["path"]) as r:
        assert await r.json() == {}
    await session.post(fake_comfyui.url + "/history", json={"delete": [ids[0]]})
    async with session.get(fake_comfyui.url + f"/history/{ids[0]}") as r:
        assert await r.json() == trace["get_history_after_delete"]["body"] == {}


async def test_view_statuses_and_types_match(fake_comfyui, session):
    trace = load("success_emptyimage.json")
    fake_comfyui.files.put("output", "discomfy/empty_00003_.png", png((64, 48)))
    for recorded in trace["view_headers"]:
        async with session.get(fake_comfyui.url + "/view", params=recorded["params"]) as r:
            body = await r.read()
            assert r.status == recorded["status"], recorded["params"]
            if r.status == 200:
                assert r.content_type == recorded["content_type"]
                assert body[:4] == bytes.fromhex(recorded["body_info"]["magic_hex"])[:4]
                assert r.headers["Content-Disposition"] == recorded["headers"]["Content-Disposition"]
