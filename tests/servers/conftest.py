"""Several real fake ComfyUI servers with different models, and pools built over them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from discomfy.core.comfyui.client import ComfyUIClient
from discomfy.core.comfyui.workflows import load_manifest
from discomfy.core.servers.pool import Server, ServerPool
from discomfy.testing.fake_comfyui import FakeComfyUI

REPO_ROOT = Path(__file__).resolve().parents[2]

#: What the /generate flux workflow loads, by models folder.
FLUX_FILES = {
    "diffusion_models": ["flux1-dev.safetensors"],
    "text_encoders": ["clip_l.safetensors", "t5xxl_fp16.safetensors"],
    "vae": ["ae.safetensors"],
}


@pytest.fixture(scope="session")
def flux_spec():
    return load_manifest(REPO_ROOT / "plugins" / "generate", plugin="generate")


@pytest_asyncio.fixture
async def fakes() -> AsyncIterator[dict[str, FakeComfyUI]]:
    """gpu-a and gpu-b have FLUX (b also a LoRA only it has); gpu-c has no FLUX at all."""
    servers = {
        "gpu-a": FakeComfyUI(models=FLUX_FILES),
        "gpu-b": FakeComfyUI(models=FLUX_FILES, loras=["style_a.safetensors", "only_on_b.safetensors"]),
        "gpu-c": FakeComfyUI(),
    }
    await asyncio.gather(*(f.start() for f in servers.values()))
    try:
        yield servers
    finally:
        await asyncio.gather(*(f.stop() for f in servers.values()))


def build_pool(fakes: dict[str, FakeComfyUI], names: list[str] | None = None, **kwargs) -> ServerPool:
    """A pool over some of the fakes. Requests may take 30 s (2 s timed out on a loaded machine);
    a server that is down refuses at once, so no test waits that long."""
    servers = [
        Server(name, fakes[name].url, ComfyUIClient(fakes[name].url, request_timeout=30.0, job_deadline=30.0,
                                                    reconnect_max_delay=0.2))
        for name in (names or list(fakes))
    ]
    return ServerPool(servers, request_timeout=30.0, **kwargs)


@pytest_asyncio.fixture
async def pool(fakes) -> AsyncIterator[ServerPool]:
    pool = build_pool(fakes)
    await pool.start()
    try:
        yield pool
    finally:
        await pool.close()
