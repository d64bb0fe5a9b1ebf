"""Server checks against /object_info, the scaffolder, and `discomfy render` parsing."""

from __future__ import annotations

import copy
import json

import pytest
from wf_helpers import REPO, sdxl_graph

from discomfy.core.comfyui.workflows import (
    PackLoadError,
    check_choices_before_queue,
    contract_check,
    load_manifest,
    server_check,
    validate_graph,
)
from discomfy.core.comfyui.workflows.render_cli import parse_cli_values, render_cli
from discomfy.core.comfyui.workflows.scaffold import scaffold_pack
from discomfy.exceptions import ValidationError, WorkflowError


def _with_models(object_info, **files):
    info = copy.deepcopy(object_info)
    for target, names in files.items():
        cls, inp = target.split("__")
        info[cls]["input"]["required"][inp] = [list(names), {}]
    return info


def test_server_check_names_missing_models(shipped_specs, object_info):
    lines = server_check(shipped_specs["editqwen"], object_info)
    assert "editqwen: diffusion model qwen_image_edit_2509_fp8_e4m3fn.safetensors is not installed" in lines[0]
    assert any("LoRA Qwen-Image-Edit-2509-Lightning" in line for line in lines)


def test_server_check_is_clean_when_everything_is_installed(shipped_specs, object_info):
    info = _with_models(object_info, CheckpointLoaderSimple__ckpt_name=["sd_xl_base_1.0.safetensors"])
    assert server_check(shipped_specs["generate-sdxl"], info) == []


def test_server_check_reports_missing_node_classes(shipped_specs, object_info):
    info = {k: v for k, v in object_info.items() if k != "TextEncodeQwenImageEditPlus"}
    assert any("node class TextEncodeQwenImageEditPlus is not installed" in line
               for line in server_check(shipped_specs["editqwen"], info))


def test_unknown_lora_is_refused_before_queueing(shipped_specs, object_info):
    info = _with_models(object_info, CheckpointLoaderSimple__ckpt_name=["sd_xl_base_1.0.safetensors"])
    spec = shipped_specs["generate-sdxl"]
    check_choices_before_queue(spec, {"prompt": "x", "lora": "style_a.safetensors"}, info)
    with pytest.raises(ValidationError) as err:
        check_choices_before_queue(spec, {"prompt": "x", "lora": "style_c.safetensors"}, info)
    assert "LoRA `style_c.safetensors` is not installed on the ComfyUI server" in err.value.user_message


def test_missing_template_model_is_the_owners_problem(shipped_specs, object_info):
    with pytest.raises(WorkflowError) as err:
        check_choices_before_queue(shipped_specs["generate-sdxl"], {"prompt": "x"}, object_info)
    assert "sd_xl_base_1.0.safetensors" in err.value.user_message and "bot owner" in err.value.user_message


def test_scaffolded_txt2img_pack_passes_the_contract_unedited(tmp_path, object_info):
    graph = sdxl_graph()
    graph["10"] = {"class_type": "LoraLoader", "inputs": {"lora_name": "style_a.safetensors", "strength_model": 0.7,
                                                          "strength_clip": 0.7, "model": ["4", 0], "clip": ["4", 1]}}
    graph["3"]["inputs"]["model"] = ["10", 0]
    graph["6"]["inputs"]["clip"] = graph["7"]["inputs"]["clip"] = ["10", 1]
    (tmp_path / "api.json").write_text(json.dumps(graph))
    pack = scaffold_pack("mysd", tmp_path / "api.json", tmp_path / "workflows")
    spec = load_manifest(pack)
    assert contract_check(spec, object_info) == []
    assert set(spec.parameters) == {"prompt", "negative_prompt", "seed", "steps", "cfg", "aspect_ratio",
                                    "batch", "lora", "lora_strength"}
    default = render_cli(spec, ["prompt=hi", "seed=3"])
    assert default == {**graph, **{k: default[k] for k in ("3", "6")}}  # only prompt and seed differ
    assert (default["3"]["inputs"]["seed"], default["6"]["inputs"]["text"]) == (3, "hi")
    # the exported LoRA is part of the recipe and stays; a user's LoRA hangs after it
    styled = render_cli(spec, ["prompt=hi", "lora=style_b.safetensors"])
    [user_lora] = [nid for nid, n in styled.items() if nid not in graph]
    assert styled[user_lora]["inputs"]["model"] == ["10", 0] and styled[user_lora]["inputs"]["clip"] == ["10", 1]
    assert styled["3"]["inputs"]["model"] == [user_lora, 0] and styled["6"]["inputs"]["clip"] == [user_lora, 1]
    assert validate_graph(styled, object_info) == []


@pytest.mark.parametrize("plugin", ["generate", "editflux", "editqwen"])
def test_scaffolding_the_shipped_graphs_gives_passing_packs(plugin, tmp_path, object_info):
    pack = scaffold_pack(plugin, REPO / "plugins" / plugin / "workflow.json", tmp_path)
    spec = load_manifest(pack)
    assert contract_check(spec, object_info) == []
    assert {"prompt", "seed", "steps"} <= set(spec.parameters)
    assert spec.command == plugin


def test_scaffold_refuses_a_ui_export(tmp_path):
    (tmp_path / "ui.json").write_text(json.dumps({"nodes": [], "links": []}))
    with pytest.raises(PackLoadError, match=r"Save \(API\)"):
        scaffold_pack("x", tmp_path / "ui.json", tmp_path)


def test_render_cli_types_values_by_schema(shipped_specs):
    spec = shipped_specs["generate-flux"]
    assert parse_cli_values(spec, ["steps=30", "guidance=4", "prompt=a=b"]) == {
        "steps": 30, "guidance": 4.0, "prompt": "a=b"}
    graph = render_cli(spec, ["prompt=a cat", "steps=30", "seed=11", "lora=style_a.safetensors"])
    assert graph["9"]["inputs"]["steps"] == 30 and graph["7"]["inputs"]["noise_seed"] == 11
    with pytest.raises(ValidationError, match="whole number"):
        render_cli(spec, ["prompt=x", "steps=lots"])
    with pytest.raises(ValidationError, match="key=value"):
        render_cli(spec, ["prompt"])
