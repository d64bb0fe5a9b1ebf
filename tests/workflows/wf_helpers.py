"""Helpers shared by the workflow engine tests (named uniquely: test dirs are not packages)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import discomfy

REPO = Path(__file__).resolve().parents[2]
SHIPPED = {
    "generate-flux": REPO / "plugins" / "generate",
    "generate-sdxl": REPO / "workflows" / "sdxl",
    "editflux": REPO / "plugins" / "editflux",
    "editqwen": REPO / "plugins" / "editqwen",
    "upscale": REPO / "plugins" / "upscale",
}


def plugin_strategies() -> list:
    """Strategies the shipped code plugins register (their manifests name them)."""
    import importlib

    from discomfy.plugins import mount_plugin_folders

    mount_plugin_folders([REPO / "plugins"])
    return [importlib.import_module("discomfy_plugins.upscale").ExactScale()]
OBJECT_INFO_PATH = Path(discomfy.__file__).parent / "testing" / "data" / "object_info_nodes.json"


def load_object_info() -> dict:
    return json.loads(OBJECT_INFO_PATH.read_text())


def sdxl_graph() -> dict:
    """A standard ComfyUI txt2img graph as the editor's Save (API) writes it."""
    return {
        "3": {"class_type": "KSampler", "inputs": {
            "seed": 156680208700286, "steps": 20, "cfg": 8.0, "sampler_name": "euler",
            "scheduler": "normal", "denoise": 1.0, "model": ["4", 0], "positive": ["6", 0],
            "negative": ["7", 0], "latent_image": ["5", 0]}, "_meta": {"title": "KSampler"}},
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "dummy_sdxl.ckpt"}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "beautiful scenery", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "text, watermark", "clip": ["4", 1]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}},
    }


def copy_pack(src: Path, dest_root: Path, name: str) -> Path:
    dest = dest_root / name
    shutil.copytree(src, dest)
    return dest


def graph_diff(before: dict, after: dict) -> set[tuple]:
    """What changed between two graphs: ("input", node, input) for a literal or link that
    differs, ("+", node, class) for an added node, ("-", node) for a removed one."""
    changes: set[tuple] = set()
    for nid in before.keys() - after.keys():
        changes.add(("-", nid))
    for nid in after.keys() - before.keys():
        changes.add(("+", nid, after[nid]["class_type"]))
    for nid in before.keys() & after.keys():
        a, b = before[nid].get("inputs", {}), after[nid].get("inputs", {})
        for name in a.keys() | b.keys():
            if a.get(name, "<absent>") != b.get(name, "<absent>"):
                changes.add(("input", nid, name))
        if before[nid].get("class_type") != after[nid].get("class_type"):
            changes.add(("class", nid))
    return changes
