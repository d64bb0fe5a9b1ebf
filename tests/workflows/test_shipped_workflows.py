"""Every shipped workflow: valid against the recorded node definitions, passes its contract
check, and each parameter changes exactly the inputs it should and nothing else."""

from __future__ import annotations

import pytest

from discomfy.core.comfyui.workflows import contract_check, validate_graph

from wf_helpers import SHIPPED, graph_diff

BASES = {
    "generate-flux": {"prompt": "a cat", "seed": 1},
    "generate-sdxl": {"prompt": "a cat", "seed": 1},
    "editflux": {"image": "a.png", "prompt": "add a hat", "seed": 1},
    "editqwen": {"image": "a.png", "prompt": "add a hat", "seed": 1},
    "upscale": {"image": "a.png", "source_width": 640, "source_height": 480},
}

# (workflow, parameter, value, extra base values, expected changes). "+LoRA" rows: the chain
# is inserted after the model loader and the consumers are rewired to it.
CASES = [
    ("generate-flux", "prompt", "a dog", {}, {("input", "4", "text")}),
    ("generate-flux", "aspect_ratio", "16:9", {}, {("input", "6", "width"), ("input", "6", "height")}),
    ("generate-flux", "steps", 40, {}, {("input", "9", "steps")}),
    ("generate-flux", "guidance", 5.0, {}, {("input", "5", "guidance")}),
    ("generate-flux", "seed", 2, {}, {("input", "7", "noise_seed")}),
    ("generate-flux", "batch", 3, {}, {("input", "6", "batch_size")}),
    ("generate-flux", "lora", "style_a.safetensors", {},
     {("+", "14", "LoraLoaderModelOnly"), ("input", "9", "model"), ("input", "10", "model")}),
    ("generate-flux", "lora_strength", 0.5, {"lora": "style_a.safetensors"}, {("input", "14", "strength_model")}),
    # img2img (the Vary buttons): the empty latent gives way to the encoded image
    ("generate-flux", "init_image", "v.png", {},
     {("-", "6"), ("+", "14", "LoadImage"), ("+", "15", "VAEEncode"), ("input", "11", "latent_image")}),
    ("generate-flux", "denoise", 0.35, {}, {("input", "9", "denoise")}),
    ("generate-sdxl", "prompt", "a dog", {}, {("input", "2", "text")}),
    ("generate-sdxl", "negative_prompt", "people", {}, {("input", "3", "text")}),
    ("generate-sdxl", "aspect_ratio", "16:9", {}, {("input", "4", "width"), ("input", "4", "height")}),
    ("generate-sdxl", "steps", 45, {}, {("input", "5", "steps")}),
    ("generate-sdxl", "cfg", 4.5, {}, {("input", "5", "cfg")}),
    ("generate-sdxl", "seed", 2, {}, {("input", "5", "seed")}),
    ("generate-sdxl", "batch", 4, {}, {("input", "4", "batch_size")}),
    ("generate-sdxl", "lora", "style_a.safetensors", {},
     {("+", "8", "LoraLoader"), ("input", "5", "model"), ("input", "2", "clip"), ("input", "3", "clip")}),
    ("generate-sdxl", "lora_strength", 0.5, {"lora": "style_a.safetensors"},
     {("input", "8", "strength_model"), ("input", "8", "strength_clip")}),
    ("generate-sdxl", "init_image", "v.png", {"batch": 3},  # one latent per image of the batch
     {("-", "4"), ("+", "8", "LoadImage"), ("+", "9", "VAEEncode"), ("+", "10", "RepeatLatentBatch"),
      ("input", "5", "latent_image")}),
    ("generate-sdxl", "denoise", 0.65, {}, {("input", "5", "denoise")}),
    ("editflux", "image", "b.png", {}, {("input", "4", "image")}),
    ("editflux", "prompt", "remove the hat", {}, {("input", "7", "text")}),
    ("editflux", "steps", 30, {}, {("input", "11", "steps")}),
    ("editflux", "guidance", 4.0, {}, {("input", "9", "guidance")}),
    ("editflux", "seed", 2, {}, {("input", "11", "seed")}),
    ("editqwen", "image", "b.png", {}, {("input", "7", "image")}),
    ("editqwen", "image2", "b.png", {},
     {("+", "9", "LoadImage"), ("input", "11", "image2"), ("input", "12", "image2")}),
    ("editqwen", "image3", "c.png", {},
     {("+", "10", "LoadImage"), ("input", "11", "image3"), ("input", "12", "image3")}),
    ("editqwen", "prompt", "remove the hat", {}, {("input", "11", "prompt")}),
    ("editqwen", "steps", 12, {}, {("input", "14", "steps")}),
    ("editqwen", "cfg", 2.0, {}, {("input", "14", "cfg")}),
    ("editqwen", "seed", 2, {}, {("input", "14", "seed")}),
    ("upscale", "image", "b.png", {}, {("input", "1", "image")}),
    ("upscale", "factor", 4, {}, {("input", "4", "width"), ("input", "4", "height")}),
    ("upscale", "source_width", 800, {}, {("input", "4", "width")}),
    ("upscale", "source_height", 600, {}, {("input", "4", "height")}),
]


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_template_is_valid_against_object_info(name, shipped_specs, object_info):
    assert validate_graph(shipped_specs[name].template, object_info) == []


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_contract_check_passes_with_object_info(name, shipped_specs, object_info, registry):
    assert [str(p) for p in contract_check(shipped_specs[name], object_info, registry=registry)] == []


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_parameter_has_an_exact_change_case(name, shipped_specs):
    covered = {param for wf, param, *_ in CASES if wf == name}
    assert covered == set(shipped_specs[name].parameters)


@pytest.mark.parametrize("name,param,value,extra,expected", CASES,
                         ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_parameter_changes_exactly_its_inputs(name, param, value, extra, expected,
                                              shipped_specs, updater, object_info):
    spec = shipped_specs[name]
    base = {**BASES[name], **extra}
    before = updater.render(spec, base)
    after = updater.render(spec, {**base, param: value})
    assert graph_diff(before.graph, after.graph) == expected
    assert validate_graph(after.graph, object_info) == []
    if param not in ("aspect_ratio", "lora", "image2", "image3", "init_image", "factor", "source_width", "source_height"):  # those write derived values
        for kind, node_id, input_name in expected:
            assert kind == "input" and after.graph[node_id]["inputs"][input_name] == value


def test_img2img_feeds_the_sampler_the_encoded_image_with_the_templates_vae(shipped_specs, updater, object_info):
    rendered = updater.render(shipped_specs["generate-flux"], {"prompt": "x", "init_image": "v.png", "denoise": 0.35})
    graph = rendered.graph
    assert graph["11"]["inputs"]["latent_image"] == ["15", 0]
    assert graph["15"]["inputs"] == {"pixels": ["14", 0], "vae": ["3", 0]}
    assert graph["9"]["inputs"]["denoise"] == 0.35
    assert rendered.images_needed == ["init_image"] and rendered.image_nodes == {"init_image": ["14"]}
    assert validate_graph(graph, object_info) == []


def test_hidden_parameters_are_no_slash_options(shipped_specs):
    from discomfy.core.comfyui.workflows import group_commands

    command = group_commands([shipped_specs["generate-flux"], shipped_specs["generate-sdxl"]])["generate"]
    names = {o.name for o in command.options}
    assert "prompt" in names and not names & {"init_image", "denoise"}


@pytest.mark.parametrize("factor", [2, 4])
def test_upscale_resizes_to_exactly_the_factor_times_the_source(factor, shipped_specs, updater, object_info):
    graph = updater.render(shipped_specs["upscale"], {**BASES["upscale"], "factor": factor}).graph
    assert (graph["4"]["inputs"]["width"], graph["4"]["inputs"]["height"]) == (640 * factor, 480 * factor)
    assert graph["4"]["inputs"]["image"] == ["3", 0] and graph["3"]["class_type"] == "ImageUpscaleWithModel"
    assert validate_graph(graph, object_info) == []


def test_rendering_never_mutates_the_cached_template(shipped_specs, updater):
    spec = shipped_specs["generate-flux"]
    before = spec.template
    updater.render(spec, {"prompt": "x", "lora": "style_a.safetensors", "aspect_ratio": "21:9"})
    assert spec.template == before


def test_flux_guidance_and_batch_are_written(shipped_specs, updater):
    graph = updater.render(shipped_specs["generate-flux"], {"prompt": "x", "guidance": 4.5, "batch": 4}).graph
    assert graph["5"]["class_type"] == "FluxGuidance" and graph["5"]["inputs"]["guidance"] == 4.5
    assert graph["6"]["inputs"]["batch_size"] == 4


def test_editqwen_without_optional_images_has_no_trace_of_them(shipped_specs, updater):
    graph = updater.render(shipped_specs["editqwen"], BASES["editqwen"]).graph
    assert [n["class_type"] for n in graph.values()].count("LoadImage") == 1
    for encoder in ("11", "12"):
        assert "image2" not in graph[encoder]["inputs"] and "image3" not in graph[encoder]["inputs"]
        assert graph[encoder]["inputs"]["image1"] == ["8", 0]


def test_editqwen_with_all_images_reaches_both_encoders(shipped_specs, updater, object_info):
    r = updater.render(shipped_specs["editqwen"], {**BASES["editqwen"], "image2": "b.png", "image3": "c.png"})
    assert r.images_needed == ["image", "image2", "image3"]
    for encoder in ("11", "12"):
        assert r.graph[encoder]["inputs"]["image2"] == ["9", 0]
        assert r.graph[encoder]["inputs"]["image3"] == ["10", 0]
    assert validate_graph(r.graph, object_info) == []


def test_defaults_match_the_issue(shipped_specs, updater):
    flux = updater.render(shipped_specs["generate-flux"], {"prompt": "x"}).parameters
    assert 20 <= flux["steps"] <= 30 and flux["batch"] == 1
    kontext = updater.render(shipped_specs["editflux"], BASES["editflux"]).parameters
    assert (kontext["steps"], kontext["guidance"]) == (20, 2.5)
    qwen = updater.render(shipped_specs["editqwen"], BASES["editqwen"]).parameters
    assert (qwen["steps"], qwen["cfg"]) == (8, 1.0)
