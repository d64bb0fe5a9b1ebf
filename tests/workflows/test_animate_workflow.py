"""The /animate workflow (Wan 2.2 TI2V 5B): valid against the recorded node definitions with
and without a start image, seconds -> Wan's frame counts, and the model files it needs named
by ``check --server``."""

from __future__ import annotations

import random

import pytest
from wf_helpers import REPO, load_object_info

from discomfy.core.comfyui.workflows import WorkflowUpdater, contract_check, load_manifest, validate_graph
from discomfy.core.comfyui.workflows.strategies import default_registry
from plugins.animate import VideoLengthStrategy, animatable, makes_images

MANIFEST = REPO / "plugins" / "animate" / "manifest.toml"


@pytest.fixture(scope="module")
def registry():
    registry = default_registry()
    registry.register(VideoLengthStrategy(), owner="animate")
    return registry


@pytest.fixture(scope="module")
def spec(registry):
    return load_manifest(MANIFEST, plugin="animate", registry=registry)


def render(registry, spec, **params):
    return WorkflowUpdater(registry, rng=random.Random(1)).render(spec, {"prompt": "a boat", **params})


def test_template_and_contract_are_valid_against_the_recorded_nodes(registry, spec):
    object_info = load_object_info()
    assert validate_graph(spec.template, object_info) == []
    assert [str(p) for p in contract_check(spec, object_info, registry=registry)] == []


@pytest.mark.parametrize("seconds,frames", [(1, 25), (2, 49), (3, 73), (4, 97), (5, 121)])
def test_seconds_become_wan_frame_counts_and_the_graph_stays_valid(registry, spec, seconds, frames):
    rendered = render(registry, spec, seconds=seconds)
    latent = next(n for n in rendered.graph.values() if n["class_type"] == "Wan22ImageToVideoLatent")
    assert latent["inputs"]["length"] == frames and (frames - 1) % 4 == 0
    assert validate_graph(rendered.graph, load_object_info()) == []


def test_without_an_image_the_start_image_branch_is_gone_and_with_one_it_is_wired(registry, spec):
    text_only = render(registry, spec).graph
    assert "LoadImage" not in {n["class_type"] for n in text_only.values()}
    assert "start_image" not in text_only["8"]["inputs"]
    with_image = render(registry, spec, image="cat.png")
    assert with_image.images_needed == ["image"] and with_image.graph["8"]["inputs"]["start_image"] == ["7", 0]
    assert validate_graph(with_image.graph, load_object_info()) == []


@pytest.mark.parametrize("aspect,size", [("16:9", (1280, 704)), ("9:16", (704, 1280)), ("1:1", (960, 960))])
def test_aspect_ratios_give_wan_sizes(registry, spec, aspect, size):
    latent = render(registry, spec, aspect_ratio=aspect).graph["8"]["inputs"]
    assert (latent["width"], latent["height"]) == size
    assert latent["width"] % 32 == 0 and latent["height"] % 32 == 0


def test_the_animate_button_is_for_still_images_only(spec):
    class Job:
        def __init__(self, *files, batch=1):
            self.outputs = [{"filename": f, "subfolder": "", "type": "output"} for f in files]
            self.parameters = {"prompt": "x", "batch": batch}

    assert makes_images(Job("ComfyUI_00001_.png", "ComfyUI_00002_.png"), None)
    assert not makes_images(Job("animate_00001_.mp4"), None)
    assert not makes_images(Job(), spec)  # not delivered yet: the workflow ends in SaveVideo
    generate = load_manifest(REPO / "plugins" / "generate" / "manifest.toml")
    assert makes_images(Job(), generate)
    assert animatable(Job(), generate) and animatable(Job("a.png"), generate)
    assert not animatable(Job(batch=2), generate) and not animatable(Job("a.png", "b.png"), generate)
    assert not animatable(Job(), spec)
