"""The simulated world around the bot's scheduler in ``bench/scheduling.py``: who submits what
and when, and GPUs that take time to load and run.

Only the world is simulated here. The queue, the policy, the server pool (routing and health
checks) and the dispatch loop are the bot's own objects, driven by ``bench/scheduling.py``.
ComfyUI is reduced to what decides scheduling — which models a GPU holds and how long a load
and a run take — so no sockets run on the simulated clock and a whole table of workloads takes
minutes instead of hours. Runs are still not bit-for-bit repeatable: the fair queue wakes
waiting servers in the order of a set of futures (see bench/README.md).
"""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from _sched_figures import KINDS, MIXES, RUN_SPREAD, SERVER_MEMORY_GB, SERVERS, Kind, mean_seconds

HOUR = 3600.0
GIB = 1024**3


@dataclass(frozen=True)
class PlannedJob:
    index: int
    user: int
    kind: Kind
    arrival: float  # simulated seconds from the start
    seconds: float  # its own run time on a warm GPU


def plan(mix: str, load: float, seed: int, users: int = 50, hour: float = HOUR) -> list[PlannedJob]:
    """Jobs of ``mix`` whose run time adds up to ``load`` x the GPU time of ``SERVERS`` GPUs
    over ``hour``: 60 % arrive as a steady Poisson stream, 40 % in four bursts of 30 s (an
    announcement in a busy channel). Users queue unevenly (weights 0.5–3)."""
    rng = random.Random(f"{mix}-{load}-{seed}")
    jobs = round(load * SERVERS * hour / mean_seconds(mix))
    names, shares = zip(*MIXES[mix].items())
    kinds = rng.choices([KINDS[n] for n in names], weights=shares, k=jobs)
    weights = [rng.uniform(0.5, 3.0) for _ in range(users)]
    steady = int(jobs * 0.6)
    arrivals = [rng.uniform(0, hour) for _ in range(steady)]
    for burst in range(4):
        start = hour * (burst + 0.5) / 4
        arrivals += [start + rng.uniform(0, 30) for _ in range((jobs - steady) // 4)]
    arrivals += [rng.uniform(0, hour) for _ in range(jobs - len(arrivals))]
    arrivals.sort()
    who = rng.choices(range(users), weights=weights, k=jobs)
    return [PlannedJob(i, who[i], kinds[i], arrivals[i], kinds[i].seconds * rng.uniform(*RUN_SPREAD))
            for i in range(jobs)]


def graph(kind: Kind, index: int) -> dict[str, Any]:
    """The API-format graph the bot would queue: the loader naming the model, then an output."""
    return {"1": {"class_type": kind.loader, "inputs": {kind.input: kind.model.name}},
            "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": f"job{index}"}}}


def object_info() -> dict[str, Any]:
    """What every simulated server's ``/object_info`` lists: the loaders with every model file."""
    by_loader: dict[tuple[str, str], list[str]] = {}
    for kind in KINDS.values():
        by_loader.setdefault((kind.loader, kind.input), []).append(kind.model.name)
    info: dict[str, Any] = {cls: {"input": {"required": {inp: [sorted(set(files))]}}}
                            for (cls, inp), files in by_loader.items()}
    info["SaveImage"] = {"input": {"required": {"images": ["IMAGE"], "filename_prefix": ["STRING", {}]}}}
    return info


@dataclass
class SimGPU:
    """One GPU: the models in its memory (least recently used first), loads evicting the LRU
    ones that the job does not need, and the time both take (``asyncio.sleep`` on the
    simulated clock). ComfyUI is taken to run with ``--cache-lru``, so memory, not the node
    cache, decides what stays loaded."""

    memory_gb: float = SERVER_MEMORY_GB
    resident: OrderedDict[str, float] = field(default_factory=OrderedDict)
    loads: int = 0
    load_seconds: float = 0.0
    busy: int = 0

    async def run(self, kind: Kind, seconds: float) -> bool:
        """Run one job; True when its model had to be loaded first."""
        self.busy += 1
        try:
            model = kind.model
            loaded = model.name not in self.resident
            if loaded:
                while self.resident and sum(self.resident.values()) + model.gb > self.memory_gb:
                    self.resident.popitem(last=False)
                self.resident[model.name] = model.gb
                self.loads += 1
                self.load_seconds += model.load_seconds
                await asyncio.sleep(model.load_seconds)
            self.resident.move_to_end(model.name)
            await asyncio.sleep(seconds)
            return loaded
        finally:
            self.busy -= 1

    def system_stats(self) -> dict[str, Any]:
        total = int(self.memory_gb * GIB)
        used = int(sum(self.resident.values()) * GIB)
        return {"devices": [{"name": "cuda:0 simulated", "type": "cuda", "index": 0,
                             "vram_total": total, "vram_free": max(0, total - used)}]}


class SimClient:
    """The few ``ComfyUIClient`` calls the pool's health checks and routing and the policy's
    VRAM confirmation make, answered from a :class:`SimGPU`."""

    connected = True

    def __init__(self, gpu: SimGPU) -> None:
        self.gpu = gpu
        self._info = object_info()

    async def initialize(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def get_queue(self) -> Any:
        return SimpleNamespace(running=[object()] * self.gpu.busy, pending=[])

    async def get_object_info(self, node_class: str | None = None, *, refresh: bool = False) -> dict[str, Any]:
        return self._info if node_class is None else {node_class: self._info[node_class]} if node_class in self._info else {}

    async def system_stats(self) -> dict[str, Any]:
        return self.gpu.system_stats()


__all__ = ["HOUR", "PlannedJob", "SimClient", "SimGPU", "graph", "object_info", "plan"]
