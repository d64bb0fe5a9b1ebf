"""Small API-format graphs the tests queue (copies of the recorded ones, parameterised)."""

from __future__ import annotations

import copy
from typing import Any


def empty_image(width: int = 64, height: int = 48, batch: int = 1, color: int = 0xFF0000,
                prefix: str = "discomfy/empty") -> dict[str, Any]:
    return {
        "1": {"class_type": "EmptyImage", "inputs": {"width": width, "height": height,
                                                     "batch_size": batch, "color": color}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": prefix}},
    }


TXT2IMG: dict[str, Any] = {
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "dummy_sd15.safetensors"}},
    "10": {"class_type": "LoraLoader", "inputs": {"model": ["4", 0], "clip": ["4", 1],
                                                  "lora_name": "style_a.safetensors",
                                                  "strength_model": 0.8, "strength_clip": 0.8}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red fox in the snow", "clip": ["10", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["10", 1]}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
    "3": {"class_type": "KSampler", "inputs": {"seed": 42, "steps": 4, "cfg": 7.0, "sampler_name": "euler",
                                               "scheduler": "normal", "denoise": 1.0, "model": ["10", 0],
                                               "positive": ["6", 0], "negative": ["7", 0],
                                               "latent_image": ["5", 0]}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "discomfy/txt2img"}},
}


def txt2img(*, seed: int = 42, steps: int = 4, width: int = 512, height: int = 512,
            lora: str = "style_a.safetensors", ckpt: str = "dummy_sd15.safetensors") -> dict[str, Any]:
    graph = copy.deepcopy(TXT2IMG)
    graph["3"]["inputs"].update(seed=seed, steps=steps)
    graph["5"]["inputs"].update(width=width, height=height)
    graph["10"]["inputs"]["lora_name"] = lora
    graph["4"]["inputs"]["ckpt_name"] = ckpt
    return graph
