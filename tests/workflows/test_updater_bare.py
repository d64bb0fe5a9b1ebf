"""WorkflowUpdater on a bare graph (no manifest): the API.md example and the shape strategies."""

from __future__ import annotations

import copy
import random

import pytest
from wf_helpers import graph_diff, sdxl_graph

from discomfy.core.comfyui.workflows import WorkflowParameters, WorkflowUpdater, fill_images, validate_graph
from discomfy.exceptions import WorkflowError


def test_api_md_example_writes_prompt_and_steps_and_leaves_input_alone():
    workflow = sdxl_graph()
    pristine = copy.deepcopy(workflow)
    updated = WorkflowUpdater().update(workflow, WorkflowParameters(prompt="test", steps=30))
    assert workflow == pristine
    assert updated["6"]["inputs"]["text"] == "test"
    assert updated["3"]["inputs"]["steps"] == 30
    assert updated["7"]["inputs"]["text"] == "text, watermark"  # negative untouched


def test_bare_render_changes_only_prompt_steps_and_seed():
    base = sdxl_graph()
    r = WorkflowUpdater(rng=random.Random(5)).render_graph(base, WorkflowParameters(prompt="x", steps=30))
    assert graph_diff(base, r.graph) == {("input", "6", "text"), ("input", "3", "steps"), ("input", "3", "seed")}
    assert r.graph["3"]["inputs"]["seed"] == r.seed == r.parameters["seed"]


@pytest.mark.parametrize("given", [None, -1])
def test_missing_or_minus_one_seed_is_random_and_reported(given):
    seeds = {WorkflowUpdater().render_graph(sdxl_graph(), {"seed": given}).seed for _ in range(5)}
    assert len(seeds) > 1 and all(0 <= s < 2**53 for s in seeds)


def test_given_seed_is_kept():
    r = WorkflowUpdater().render_graph(sdxl_graph(), {"seed": 42})
    assert r.seed == 42 and r.graph["3"]["inputs"]["seed"] == 42


def test_negative_cfg_denoise_sampler_by_shape(object_info):
    params = {"negative_prompt": "ugly", "cfg": 4.0, "denoise": 0.6, "sampler": "dpmpp_2m",
              "scheduler": "karras", "seed": 1}
    g = WorkflowUpdater().update(sdxl_graph(), params)
    inputs = g["3"]["inputs"]
    assert (inputs["cfg"], inputs["denoise"], inputs["sampler_name"], inputs["scheduler"]) == (4.0, 0.6, "dpmpp_2m", "karras")
    assert g["7"]["inputs"]["text"] == "ugly" and g["6"]["inputs"]["text"] == "beautiful scenery"
    assert validate_graph(g, object_info) == []


def test_prompt_follows_links_through_flux_guidance(shipped_specs):
    g = WorkflowUpdater().update(shipped_specs["generate-flux"].template,
                                 {"prompt": "a fox", "guidance": 4.0, "steps": 22})
    assert g["4"]["inputs"]["text"] == "a fox"
    assert g["5"]["inputs"]["guidance"] == 4.0 and g["9"]["inputs"]["steps"] == 22


def test_aspect_ratio_sets_latent_size_and_batch():
    g = WorkflowUpdater().update(sdxl_graph(), {"aspect_ratio": "16:9", "batch": 2})
    w, h = g["5"]["inputs"]["width"], g["5"]["inputs"]["height"]
    assert w % 16 == 0 and h % 16 == 0 and w > h
    assert abs(w * h - 1024 * 1024) / (1024 * 1024) < 0.05
    assert g["5"]["inputs"]["batch_size"] == 2


def test_one_lora_inserts_a_loader_and_none_leaves_no_trace(object_info):
    plain = WorkflowUpdater().update(sdxl_graph(), {"seed": 1})
    assert not [n for n in plain.values() if n["class_type"].startswith("Lora")]
    g = WorkflowUpdater().update(sdxl_graph(), {"seed": 1, "lora": "style_a.safetensors", "lora_strength": 0.6})
    loras = [nid for nid, n in g.items() if n["class_type"] == "LoraLoader"]
    assert len(loras) == 1
    lora = g[loras[0]]["inputs"]
    assert (lora["model"], lora["clip"], lora["strength_model"]) == (["4", 0], ["4", 1], 0.6)
    assert g["3"]["inputs"]["model"] == [loras[0], 0]
    assert g["6"]["inputs"]["clip"] == g["7"]["inputs"]["clip"] == [loras[0], 1]
    assert validate_graph(g, object_info) == []


def test_several_loras_chain_in_order(object_info):
    g = WorkflowUpdater().update(sdxl_graph(), {"loras": [{"name": "style_a.safetensors", "strength": 0.5},
                                                          {"name": "style_b.safetensors", "strength": 1.2}]})
    first, second = sorted((nid for nid, n in g.items() if n["class_type"] == "LoraLoader"), key=int)
    assert g[first]["inputs"]["model"] == ["4", 0] and g[second]["inputs"]["model"] == [first, 0]
    assert g[second]["inputs"]["strength_model"] == 1.2
    assert g["3"]["inputs"]["model"] == [second, 0]
    assert validate_graph(g, object_info) == []


def test_bare_images_go_to_load_image_nodes_and_fill_images_writes_uploads():
    graph = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "old.png"}},
        "2": {"class_type": "SaveImage", "inputs": {"filename_prefix": "x", "images": ["1", 0]}},
    }
    r = WorkflowUpdater().render_graph(graph, {"image": "local.png"})
    assert r.images_needed == ["image"] and r.image_nodes == {"image": ["1"]}
    filled = fill_images(r, {"image": "local (1).png"})
    assert filled.graph["1"]["inputs"]["image"] == "local (1).png" and filled.images_needed == []
    assert r.graph["1"]["inputs"]["image"] == "local.png"  # the earlier render is untouched
    with pytest.raises(WorkflowError):
        fill_images(r, {})


def test_an_image_without_a_load_image_node_is_noted_not_needed():
    r = WorkflowUpdater().render_graph(sdxl_graph(), {"image": "a.png", "seed": 1})
    assert r.images_needed == [] and "no LoadImage" in r.notes[0]
