"""The workload of ``bench/scheduling.py`` (issue 15): five job kinds, 50 users, 600 jobs.

Three servers with 40 GB each; any two of the five models fit at once, no three do. Seconds
per job and per load are the issue's (FLUX ≈ 20 s, Qwen edit ≈ 15 s, SDXL ≈ 6 s, upscale
≈ 3 s, Wan video ≈ 120 s; loads 15–40 s). Arrivals: a steady Poisson stream over the hour
plus four bursts in which many users queue within half a minute. Seeded: the same jobs, users
and arrival times for every policy.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from discomfy.testing.fake_comfyui.cost_model import ModelCost

SERVER_MEMORY_GB = 40.0
CACHE_LRU = 8  # --cache-lru: memory, not the cache, limits what a server keeps


@dataclass(frozen=True)
class Kind:
    name: str
    model: str
    share: float  # of the 600 jobs
    steps: int  # sampling steps (0: no sampler, the work is run_seconds)
    cost: ModelCost

    @property
    def seconds(self) -> float:
        """GPU seconds of one job once its model is loaded."""
        return self.steps * self.cost.step_seconds + self.cost.run_seconds


KINDS = (
    Kind("flux", "flux1-dev.safetensors", 0.30, 20, ModelCost(30, 16, step_seconds=1.0)),
    Kind("qwen_edit", "qwen_image_edit.safetensors", 0.20, 20, ModelCost(40, 19, step_seconds=0.75)),
    Kind("sdxl", "sdxl_base.safetensors", 0.25, 24, ModelCost(15, 14, step_seconds=0.25)),
    Kind("upscale", "4x_upscaler.pth", 0.15, 0, ModelCost(15, 12, run_seconds=3.0)),
    Kind("wan_video", "wan2.2_i2v.safetensors", 0.10, 20, ModelCost(35, 20, step_seconds=6.0)),
)
MODEL_COSTS = {k.model: k.cost for k in KINDS}


@dataclass(frozen=True)
class PlannedJob:
    index: int
    user: int
    kind: Kind
    arrival: float  # simulated seconds from the start


def graph(kind: Kind, seed: int) -> dict:
    """The API-format graph one job queues (a new seed each time, so only loaders are cached)."""
    if kind.steps == 0:
        return {
            "1": {"class_type": "UpscaleModelLoader", "inputs": {"model_name": kind.model}},
            "2": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": seed % 0xFFFFFF}},
            "3": {"class_type": "ImageUpscaleWithModel", "inputs": {"upscale_model": ["1", 0], "image": ["2", 0]}},
            "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "bench"}},
        }
    return {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": kind.model}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": f"job {seed}", "clip": ["1", 1]}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["1", 1]}},
        "4": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "5": {"class_type": "KSampler", "inputs": {"model": ["1", 0], "positive": ["2", 0], "negative": ["3", 0],
                                                  "latent_image": ["4", 0], "seed": seed, "steps": kind.steps, "cfg": 5.0,
                                                  "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0}},
        "6": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 2]}},
        "7": {"class_type": "SaveImage", "inputs": {"images": ["6", 0], "filename_prefix": "bench"}},
    }


def plan(jobs: int = 600, users: int = 50, hour: float = 3600.0, seed: int = 15) -> list[PlannedJob]:
    """``jobs`` jobs over ``hour`` simulated seconds: 60 % steady, 40 % in four bursts."""
    rng = random.Random(seed)
    kinds = [k for k in KINDS for _ in range(round(k.share * jobs))][:jobs]
    while len(kinds) < jobs:
        kinds.append(KINDS[0])
    rng.shuffle(kinds)
    weights = [rng.uniform(0.5, 3.0) for _ in range(users)]  # some users queue much more than others
    steady = int(jobs * 0.6)
    arrivals = sorted(rng.uniform(0, hour) for _ in range(steady))
    for burst in range(4):
        start = hour * (burst + 0.5) / 4
        arrivals += [start + rng.uniform(0, 30) for _ in range((jobs - steady) // 4)]
    arrivals = sorted(arrivals)[:jobs]
    while len(arrivals) < jobs:
        arrivals.append(hour)
    who = rng.choices(range(users), weights=weights, k=jobs)
    return [PlannedJob(i, who[i], kinds[i], arrivals[i]) for i in range(jobs)]
