"""Pools from settings (a list of servers, or the single ``comfyui.url``) and /status figures."""

from __future__ import annotations

import textwrap

import pytest

from discomfy.config import get_config
from discomfy.core.jobs.queue import FairQueue
from discomfy.core.servers.pool import ServerPool

from .conftest import FLUX_FILES, build_pool


def config_with(tmp_path, body: str):
    (tmp_path / "settings.toml").write_text(textwrap.dedent(body))
    return get_config(tmp_path)


async def test_a_single_url_is_a_pool_of_one_that_routes(tmp_path, fakes, flux_spec):
    config = config_with(tmp_path, f"""
        [comfyui]
        url = "{fakes['gpu-a'].url}"
        request_timeout = 30.0
    """)
    pool = ServerPool.from_config(config)
    assert [(s.name, s.url) for s in pool] == [("default", fakes["gpu-a"].url)]
    await pool.start()
    try:
        assert pool.primary.healthy
        assert (await pool.choose(flux_spec, {"prompt": "x"})).name == "default"
        with pytest.raises(Exception) as info:
            await pool.check_choices(flux_spec, {"prompt": "x", "lora": "missing.safetensors"})
        assert "LoRA `missing.safetensors`" in info.value.user_message
    finally:
        await pool.close()


def test_servers_list_accepts_urls_and_named_tables(tmp_path):
    config = config_with(tmp_path, """
        [comfyui]
        url = "http://ignored:8188"
        health_interval = 3.0
        servers = ["http://10.0.0.1:8188", {name = "big-gpu", url = "http://10.0.0.2:8188/"}]
    """)
    pool = ServerPool.from_config(config)
    assert [(s.name, s.url) for s in pool] == [("default", "http://10.0.0.1:8188"),
                                               ("big-gpu", "http://10.0.0.2:8188/")]
    assert pool.health_interval == 3.0
    assert pool.get("big-gpu").client.base_url == "http://10.0.0.2:8188"


@pytest.mark.parametrize("servers, problem", [
    ('[{name = "a"}]', "entry 1 has no url"),
    ('[{name = "a", url = "http://x"}, {name = "a", url = "http://y"}]', "repeated: a"),
])
def test_bad_server_lists_are_refused_with_the_reason(tmp_path, servers, problem):
    config = config_with(tmp_path, f"""
        [comfyui]
        servers = {servers}
    """)
    with pytest.raises(ValueError, match=problem):
        ServerPool.from_config(config)


async def test_status_shows_every_server(fakes):
    queue = FairQueue()
    pool = build_pool(fakes, job_queue=queue)
    await pool.start()
    try:
        queue.submit("job-1", "alice", servers=["gpu-b"])
        await queue.next("gpu-b", timeout=1)
        await fakes["gpu-c"].stop()
        await pool.check_all()
        rows = {row["name"]: row for row in pool.status()}
    finally:
        await pool.close()
    assert list(rows) == ["gpu-a", "gpu-b", "gpu-c"]
    a, b, c = rows["gpu-a"], rows["gpu-b"], rows["gpu-c"]
    assert a["url"] == fakes["gpu-a"].url and a["healthy"] and a["last_error"] is None
    assert (a["queue_length"], a["running"]) == (0, 0)
    assert (b["running"], b["running_jobs"]) == (1, ["job-1"])
    flux_and_checkpoints = sum(len(v) for v in FLUX_FILES.values()) + len(fakes["gpu-a"].checkpoints)
    assert a["models"] == flux_and_checkpoints
    assert (a["loras"], b["loras"]) == (len(fakes["gpu-a"].loras), 2)
    assert not c["healthy"] and c["last_error"] and c["down_since"] is not None
    assert c["checked_at"] >= c["down_since"]
