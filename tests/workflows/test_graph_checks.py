"""validate_graph finds what ComfyUI would refuse; sizes are model-friendly; edits keep the
input's aspect ratio by construction."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wf_helpers import sdxl_graph

from discomfy.core.comfyui.workflows import validate_graph
from discomfy.core.comfyui.workflows.graph import is_link
from discomfy.core.comfyui.workflows.schema.validation import check_schema
from discomfy.core.comfyui.workflows.strategies import dimensions
from discomfy.exceptions import ValidationError


def test_standard_graph_is_valid(object_info):
    assert validate_graph(sdxl_graph(), object_info) == []


@pytest.mark.parametrize("breakage,expected", [
    (lambda g: g["3"].update(class_type="KSamplerDeluxe"), "node 3 (KSamplerDeluxe): node class KSamplerDeluxe does not exist"),
    (lambda g: g["3"]["inputs"].pop("cfg"), "node 3 (KSampler) input `cfg`: required input is missing"),
    (lambda g: g["3"]["inputs"].update(model=["6", 0]), "input `model`: expects MODEL but node 6 (CLIPTextEncode) output 0 is CONDITIONING"),
    (lambda g: g["3"]["inputs"].update(model=["42", 0]), "input `model`: links to missing node 42"),
    (lambda g: g["3"]["inputs"].update(model=["4", 7]), "links to output 7 of node 4, which has only 3 output(s)"),
    (lambda g: g["3"]["inputs"].update(steps="20"), "input `steps`: expects INT, got str '20'"),
    (lambda g: g["3"]["inputs"].update(denoise=1.5), "input `denoise`: 1.5 is above the maximum 1.0"),
    (lambda g: g["3"]["inputs"].update(model="model.safetensors"), "expects a link to a MODEL output"),
    (lambda g: g.pop("9"), "no output node"),
])
def test_broken_graphs_are_explained(breakage, expected, object_info):
    graph = sdxl_graph()
    breakage(graph)
    problems = validate_graph(graph, object_info)
    assert any(expected in p for p in problems), problems


def test_choices_are_checked_only_when_asked(object_info):
    graph = sdxl_graph()
    graph["3"]["inputs"]["sampler_name"] = "euler_fancy"
    assert validate_graph(graph, object_info) == []
    assert any("'euler_fancy' is not one of" in p for p in validate_graph(graph, object_info, check_choices=True))


@pytest.mark.parametrize("kwargs,expected", [
    ({"aspect_ratio": "1:1", "multiple": 64}, (1024, 1024)),
    ({"aspect_ratio": "16:9", "multiple": 64}, (1344, 768)),
    ({"aspect_ratio": "9:16", "multiple": 16}, (768, 1360)),
    ({"width": 1000, "height": 700, "multiple": 64}, (1024, 704)),
    ({"width": 1024, "aspect_ratio": "2:1", "multiple": 16}, (1024, 512)),
    ({"aspect_ratio": "21:9", "multiple": 64, "max_side": 1536}, (1536, 640)),
])
def test_dimensions_are_model_friendly(kwargs, expected):
    assert dimensions(**kwargs) == expected


def test_bad_aspect_ratio_is_explained():
    with pytest.raises(ValidationError, match="must look like `16:9`"):
        dimensions(aspect_ratio="wide")


def _latent_source(graph, node_id, input_name):
    """Walk the sampler's latent upstream to the class that created the pixels."""
    seen = []
    value = graph[node_id]["inputs"][input_name]
    while is_link(value):
        node = graph[value[0]]
        seen.append(node["class_type"])
        value = node["inputs"].get("pixels") or node["inputs"].get("image")
    return seen


@pytest.mark.parametrize("name,sampler", [("editflux", "11"), ("editqwen", "14")])
def test_edit_output_keeps_the_input_aspect_ratio(name, sampler, shipped_specs):
    chain = _latent_source(shipped_specs[name].template, sampler, "latent_image")
    assert chain[0] == "VAEEncode" and chain[-1] == "LoadImage"
    assert not any(c.startswith("Empty") for c in chain)
    assert chain[1] in ("FluxKontextImageScale", "ImageScaleToTotalPixels")  # scale keeping aspect


@pytest.mark.parametrize("prop,expected", [
    ({"Steps": {"type": "integer"}}, "Discord option names"),
    ({"image": {"type": "string", "x-discord": {"type": "file"}}}, "x-discord type"),
    ({"steps": {"type": "integer", "default": 100, "maximum": 50}}, "its default is invalid"),
    ({"prompt": {"type": "string", "description": "x" * 101}}, "Discord allows 100"),
    ({"steps": {"minimum": 1}}, "has no \"type\""),
])
def test_schema_problems_are_named(prop, expected):
    problems = check_schema({"type": "object", "properties": prop})
    assert any(expected in p for p in problems), problems


@given(width=st.one_of(st.none(), st.integers(1, 6000)), height=st.one_of(st.none(), st.integers(1, 6000)),
       ratio=st.sampled_from(["1:1", "16:9", "9:16", "21:9", "2:3"]), multiple=st.sampled_from([8, 16, 64]))
def test_dimensions_are_always_multiples_within_bounds(width, height, ratio, multiple):
    w, h = dimensions(width=width, height=height, aspect_ratio=ratio, multiple=multiple)
    assert w % multiple == 0 and h % multiple == 0
    assert 256 <= w <= 2048 and 256 <= h <= 2048
