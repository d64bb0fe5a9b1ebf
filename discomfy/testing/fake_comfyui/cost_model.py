"""What a prompt costs on a GPU: model loads, memory, sampling time, and ComfyUI's caching.

Off by default (``FakeComfyUI(cost_model=None)``): the fake then runs prompts as fast as it
can. The scheduling benchmark and its tests turn it on to see what a routing policy costs in
GPU time, so the rules follow the real server where they matter for that:

- **Caching.** ComfyUI keeps the outputs of the previous prompt's nodes (the "classic" cache):
  a loader whose inputs match the previous prompt's is not run again. ``--cache-lru N`` keeps
  the outputs of the last ``N`` prompts instead (``cache_lru=N`` here). A model stays in
  memory only while a cached loader output refers to it, so the classic cache holds the last
  prompt's models and nothing else.
- **Memory.** Loading a model that does not fit evicts the least recently used models first
  (never one the running prompt uses); an evicted model's cached loader output is dropped, so
  it is read from disk again next time. ``/system_stats`` reports ``vram_free`` as the memory
  minus what is loaded.
- **Time.** A loader run costs the model's ``load_seconds`` only when the model is not already
  in memory; the sampler costs ``steps x step_seconds`` of the prompt's slowest model; every
  model's ``run_seconds`` is paid once per prompt that runs it (a VAE decode, an upscale).
  The fake ``await asyncio.sleep``\\ s these; under :mod:`.sim_clock` hours pass in seconds.

Which inputs name a model: any string input equal to one of the configured model files.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

GB = 1024**3


@dataclass(frozen=True)
class ModelCost:
    """One model file's price: seconds to read it into memory, gigabytes it takes there,
    seconds per sampling step when it samples, seconds of other work per prompt using it."""

    load_seconds: float
    memory_gb: float
    step_seconds: float = 0.0
    run_seconds: float = 0.0


@dataclass
class CostLedger:
    """What the server spent, for benchmarks: loads, evictions, seconds by kind."""

    loads: int = 0
    load_seconds: float = 0.0
    compute_seconds: float = 0.0
    evictions: int = 0
    loaded: list[str] = field(default_factory=list)  # model names in load order


class CostModel:
    """Memory and caching state of one simulated GPU server (see the module docstring)."""

    def __init__(self, models: Mapping[str, ModelCost], *, memory_gb: float,
                 cache_lru: int = 0, default_step_seconds: float = 0.0) -> None:
        if memory_gb <= 0:
            raise ValueError("memory_gb must be positive")
        too_big = [name for name, cost in models.items() if cost.memory_gb > memory_gb]
        if too_big:
            raise ValueError(f"models larger than the server's {memory_gb} GB: {', '.join(too_big)}")
        self.models = dict(models)
        self.memory_gb = memory_gb
        self.cache_lru = max(0, int(cache_lru))
        self.default_step_seconds = default_step_seconds
        self.resident: OrderedDict[str, float] = OrderedDict()  # model -> GB, least recent first
        self.ledger = CostLedger()
        self._prompts: deque[set[str]] = deque(maxlen=max(1, self.cache_lru))  # cached signatures
        self._pinned: set[str] = set()
        self._charged: set[str] = set()  # run_seconds already paid in this prompt

    # --- what a prompt uses -------------------------------------------------------------

    def models_in(self, node: Mapping[str, Any]) -> list[str]:
        """The configured model files a node's literal inputs name."""
        return [v for v in (node.get("inputs") or {}).values() if isinstance(v, str) and v in self.models]

    def begin(self, prompt: Mapping[str, Mapping[str, Any]], cached_nodes: list[str]) -> None:
        """A prompt starts: its models may not be evicted while it runs; the models of its
        cached loaders count as used now."""
        self._pinned = {m for node in prompt.values() for m in self.models_in(node)}
        self._charged = set()
        for nid in cached_nodes:
            for model in self.models_in(prompt[nid]):
                if model in self.resident:
                    self.resident.move_to_end(model)

    async def run_node(self, prompt: Mapping[str, Mapping[str, Any]], nid: str, class_type: str,
                       is_output: bool) -> None:
        """Spend the time one (uncached) node takes: a load, the sampling, the per-prompt work."""
        node = prompt[nid]
        seconds = 0.0
        for model in self.models_in(node):
            seconds += self._load(model)
        if "Sampler" in class_type and class_type not in ("KSamplerSelect",):
            per_step = max((self.models[m].step_seconds for m in self._pinned), default=0.0) or self.default_step_seconds
            compute = self._steps(prompt) * per_step
            self.ledger.compute_seconds += compute
            seconds += compute
        if is_output:
            extra = sum(self.models[m].run_seconds for m in self._pinned - self._charged)
            self._charged |= self._pinned
            self.ledger.compute_seconds += extra
            seconds += extra
        if seconds > 0:
            await asyncio.sleep(seconds)

    def _steps(self, prompt: Mapping[str, Mapping[str, Any]]) -> int:
        steps = [n["inputs"]["steps"] for n in prompt.values() if isinstance((n.get("inputs") or {}).get("steps"), int)]
        return max(steps, default=1)

    def _load(self, model: str) -> float:
        if model in self.resident:
            self.resident.move_to_end(model)
            return 0.0
        cost = self.models[model]
        while self.resident and self.used_gb() + cost.memory_gb > self.memory_gb:
            victim = next((m for m in self.resident if m not in self._pinned), None)
            if victim is None:
                break  # everything loaded belongs to this prompt: over-commit, as offloading would
            del self.resident[victim]
            self.ledger.evictions += 1
        self.resident[model] = cost.memory_gb
        self.ledger.loads += 1
        self.ledger.load_seconds += cost.load_seconds
        self.ledger.loaded.append(model)
        return cost.load_seconds

    # --- caching ------------------------------------------------------------------------

    def retain(self, cache: dict[str, Any], signatures: set[str]) -> dict[str, Any]:
        """The node cache after a prompt: the last ``cache_lru`` prompts' outputs (the last
        prompt's with the classic cache), minus loaders of models no longer in memory; models
        no cached output refers to any more are unloaded, as ComfyUI frees them."""
        self._prompts.append(set(signatures))
        keep = set().union(*self._prompts)
        kept = {k: v for k, v in cache.items() if k in keep and not self._names_evicted(k)}
        referenced = {m for key in kept for m in self._models_of_signature(key)}
        for model in [m for m in self.resident if m not in referenced]:
            del self.resident[model]
        self._pinned = set()
        return kept

    def _models_of_signature(self, key: str) -> list[str]:
        try:
            class_type, parts = json.loads(key)[:2]
        except (ValueError, TypeError):
            return []
        return [v for v in parts.values() if isinstance(v, str) and v in self.models]

    def _names_evicted(self, key: str) -> bool:
        return any(m not in self.resident for m in self._models_of_signature(key))

    # --- what /system_stats shows -------------------------------------------------------

    def used_gb(self) -> float:
        return sum(self.resident.values())

    def system_stats(self, base: Mapping[str, Any]) -> dict[str, Any]:
        """``base`` (the fake's recorded stats) with one CUDA device whose free VRAM is the
        memory minus the loaded models."""
        total = int(self.memory_gb * GB)
        free = max(0, total - int(self.used_gb() * GB))
        device = {"name": "cuda:0 simulated", "type": "cuda", "index": 0, "vram_total": total,
                  "vram_free": free, "torch_vram_total": total, "torch_vram_free": free}
        return {**base, "devices": [device]}


__all__ = ["GB", "CostLedger", "CostModel", "ModelCost"]
