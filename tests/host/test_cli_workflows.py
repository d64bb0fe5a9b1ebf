"""discomfy render, new-pack and check --server, as an owner runs them."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from discomfy.cli import main
from discomfy.testing.fake_comfyui import FakeComfyUI

from tests.conftest import REPO_ROOT


def repo_args(*args: str) -> list[str]:
    return ["--root", str(REPO_ROOT), *args]


def test_render_prints_the_exact_graph_with_the_values_written(capsys):
    assert main(repo_args("render", "generate", "prompt=a red fox", "steps=30", "seed=42", "guidance=4.5")) == 0
    graph = json.loads(capsys.readouterr().out)
    assert graph["4"]["inputs"]["text"] == "a red fox"
    assert graph["9"]["inputs"]["steps"] == 30
    assert graph["7"]["inputs"]["noise_seed"] == 42
    assert graph["5"]["inputs"]["guidance"] == 4.5


def test_render_refuses_an_out_of_range_value_in_plain_words(capsys):
    assert main(repo_args("render", "generate", "prompt=x", "steps=300")) == 1
    assert "`steps` must be between 10 and 50 (you gave 300)." in capsys.readouterr().err


def test_new_pack_from_a_standard_export_passes_check_without_edits(tmp_path, capsys):
    (tmp_path / "workflows").mkdir()
    export = tmp_path / "my_export_api.json"
    export.write_text((REPO_ROOT / "workflows" / "sdxl" / "workflow.json").read_text())
    assert main(["--root", str(tmp_path), "new-pack", "dreamy", "--from", str(export)]) == 0
    assert (tmp_path / "workflows" / "dreamy" / "manifest.toml").is_file()
    capsys.readouterr()
    assert main(["--root", str(tmp_path), "check"]) == 0
    out = capsys.readouterr().out
    assert "loaded   dreamy" in out
    assert main(["--root", str(tmp_path), "commands"]) == 0
    names = {c["name"] for c in json.loads(capsys.readouterr().out)}
    assert "dreamy" in names


@pytest.fixture
def server_in_thread():
    """A fake ComfyUI on its own loop, since the CLI runs its own asyncio.run."""
    loop = asyncio.new_event_loop()
    fake = FakeComfyUI()
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(fake.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(5)
    yield fake
    asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def test_check_server_lists_per_plugin_what_is_missing(server_in_thread, capsys):
    server_in_thread.models.setdefault("diffusion_models", []).append("flux1-dev.safetensors")
    assert main(repo_args("check", "--server", server_in_thread.url)) == 1
    out = capsys.readouterr().out
    assert "editqwen: diffusion model qwen_image_edit_2509_fp8_e4m3fn.safetensors is not installed" in out
    assert "generate: diffusion model flux1-dev.safetensors" not in out


def test_check_server_that_is_down_says_so(capsys):
    assert main(repo_args("check", "--server", "http://127.0.0.1:9")) == 1
    assert "Cannot check against http://127.0.0.1:9" in capsys.readouterr().err


def test_check_server_names_the_configured_upscale_model_when_the_server_lacks_it(server_in_thread, capsys, monkeypatch):
    assert main(repo_args("check", "--server", server_in_thread.url)) == 1
    assert "upscale: upscale model 4x-UltraSharp.pth is not installed (UpscaleModelLoader.model_name" in capsys.readouterr().out
    monkeypatch.setenv("DISCOMFY_UPSCALE__MODEL", "RealESRGAN_x2plus.pth")
    server_in_thread.models.setdefault("upscale_models", []).append("RealESRGAN_x2plus.pth")
    assert main(repo_args("check", "--server", server_in_thread.url)) == 1  # other plugins still lack models
    out = capsys.readouterr().out
    assert "upscale: everything is installed" in out and "4x-UltraSharp" not in out


def test_check_server_lists_the_video_model_files_a_server_lacks(server_in_thread, capsys):
    assert main(repo_args("check", "--server", server_in_thread.url)) == 1
    out = capsys.readouterr().out
    for missing in ("diffusion model wan2.2_ti2v_5B_fp16.safetensors", "text encoder umt5_xxl_fp8_e4m3fn_scaled.safetensors",
                    "VAE wan2.2_vae.safetensors"):
        assert f"animate: {missing} is not installed" in out, out
