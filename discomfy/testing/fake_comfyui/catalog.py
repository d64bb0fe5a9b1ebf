"""The fake's node definitions: the real server's 478 nodes with live model lists.

``object_info_nodes.json`` was recorded from a real ComfyUI 0.3.64 with a few dummy model
files on disk. Inputs that list model files are re-pointed here at the fake's configurable
folders, so ``/object_info`` and validation reflect the LoRAs and checkpoints a test set up,
and change as soon as the test changes them (the real server re-reads its folders live).
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

MODEL_EXTENSIONS = (".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft")

#: Model-file inputs whose recorded choice list was empty (no such files on the recording
#: machine), so they cannot be recognised by content.
_EXPLICIT_FOLDERS: dict[tuple[str, str], str] = {
    ("CLIPLoader", "clip_name"): "text_encoders",
    ("DualCLIPLoader", "clip_name1"): "text_encoders",
    ("DualCLIPLoader", "clip_name2"): "text_encoders",
    ("CLIPVisionLoader", "clip_name"): "clip_vision",
    ("ControlNetLoader", "control_net_name"): "controlnet",
    ("DiffControlNetLoader", "control_net_name"): "controlnet",
    ("UNETLoader", "unet_name"): "diffusion_models",
    ("VAELoader", "vae_name"): "vae",
    ("UpscaleModelLoader", "model_name"): "upscale_models",
    ("GLIGENLoader", "gligen_name"): "gligen",
    ("HypernetworkLoader", "hypernetwork_name"): "hypernetworks",
    ("StyleModelLoader", "style_model_name"): "style_models",
    ("ModelPatchLoader", "name"): "model_patches",
}
_RECORDED = {
    "checkpoints": ["dummy_sd15.safetensors", "dummy_sdxl.ckpt"],
    "loras": ["sdxl/detail_tweaker.safetensors", "style_a.safetensors", "style_b.safetensors"],
}
#: Folder names the real server reports from ``GET /models``.
MODEL_FOLDERS = [
    "checkpoints", "configs", "loras", "vae", "text_encoders", "diffusion_models", "clip_vision",
    "style_models", "embeddings", "diffusers", "vae_approx", "controlnet", "gligen",
    "upscale_models", "custom_nodes", "hypernetworks", "photomaker", "classifiers",
    "model_patches", "audio_encoders",
]
IMAGE_INPUT_NODES = {("LoadImage", "image"), ("LoadImageMask", "image")}


def load_recorded_nodes() -> dict[str, Any]:
    text = resources.files("discomfy.testing").joinpath("data/object_info_nodes.json").read_text()
    return json.loads(text)


_NODES_CACHE: dict[str, Any] | None = None


def recorded_nodes() -> dict[str, Any]:
    """The recorded definitions, parsed once per process (they are never mutated)."""
    global _NODES_CACHE
    if _NODES_CACHE is None:
        _NODES_CACHE = load_recorded_nodes()
    return _NODES_CACHE


def listed(files: list[str]) -> list[str]:
    """What the real server lists for a folder: model extensions only, sorted, '/'-joined."""
    return sorted(f.replace("\\", "/") for f in files if f.lower().endswith(MODEL_EXTENSIONS))


def model_folder(class_type: str, input_name: str) -> str | None:
    """The model folder a loader input lists (``UNETLoader.unet_name`` -> diffusion_models)."""
    if (class_type, input_name) in _EXPLICIT_FOLDERS:
        return _EXPLICIT_FOLDERS[(class_type, input_name)]
    if input_name == "lora_name":
        return "loras"
    if input_name == "ckpt_name":
        return "checkpoints"
    return None


def _folder_of(class_type: str, input_name: str, choices: list[Any]) -> str | None:
    if (class_type, input_name) in _EXPLICIT_FOLDERS:
        return _EXPLICIT_FOLDERS[(class_type, input_name)]
    files = [c for c in choices if isinstance(c, str) and c.endswith(MODEL_EXTENSIONS)]
    for folder, recorded in _RECORDED.items():
        if files and files == recorded:
            return folder
    return None


class NodeCatalog:
    """Node definitions with model and input-image choices filled from live sources."""

    def __init__(self, models: dict[str, list[str]], input_files: callable) -> None:
        self._base = recorded_nodes()
        self._models = models
        self._input_files = input_files
        self._dynamic: dict[str, dict[str, tuple[str, str, list[str]]]] = {}
        for class_type, info in self._base.items():
            for section in ("required", "optional"):
                for name, spec in ((info.get("input") or {}).get(section) or {}).items():
                    choices = _raw_choices(spec)
                    if choices is None:
                        continue
                    if (class_type, name) in IMAGE_INPUT_NODES:
                        self._dynamic.setdefault(class_type, {})[name] = (section, "@input", [])
                        continue
                    folder = _folder_of(class_type, name, choices)
                    if folder:
                        extras = [c for c in choices if not str(c).endswith(MODEL_EXTENSIONS)]
                        self._dynamic.setdefault(class_type, {})[name] = (section, folder, extras)

    def __contains__(self, class_type: object) -> bool:
        return class_type in self._base

    def folder_files(self, folder: str) -> list[str]:
        return listed(self._models.get(folder, []))

    def info(self, class_type: str) -> dict[str, Any] | None:
        """One node's definition as ``/object_info`` would show it right now."""
        base = self._base.get(class_type)
        if base is None:
            return None
        dynamic = self._dynamic.get(class_type)
        if not dynamic:
            return base
        info = copy.deepcopy(base)
        for name, (section, folder, extras) in dynamic.items():
            choices = self._input_files() if folder == "@input" else self.folder_files(folder)
            spec = info["input"][section][name]
            if spec and spec[0] == "COMBO":
                spec[1]["options"] = choices + extras
            else:
                spec[0] = choices + extras
        return info

    def all_info(self) -> dict[str, Any]:
        return {name: self.info(name) for name in self._base}


def _raw_choices(spec: Any) -> list[Any] | None:
    if not isinstance(spec, list) or not spec:
        return None
    if isinstance(spec[0], list):
        return spec[0]
    if spec[0] == "COMBO" and len(spec) > 1 and isinstance(spec[1], dict):
        return list(spec[1].get("options", []))
    return None
