"""Which models each ComfyUI server probably holds in memory, and what loading one would evict.

The bot cannot ask ComfyUI what it has loaded, so it keeps its own record: a job that started
on a server makes that server hold the job's models (most recently used last). Where the
server reports VRAM (``/system_stats``), the record is confirmed after each job: the memory in
use says how many of the most recently used models can still be there, and a model's size
is learnt from the memory it added. Without VRAM figures (a CPU server) the server is assumed
to hold only its last job's models — what ComfyUI's default cache keeps.

A server that goes down loses its record: a restarted ComfyUI holds nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: VRAM in use below this many bytes means nothing is loaded (a fresh server).
EMPTY_BYTES = 256 * 1024**2
#: Slack when comparing reported memory with the sizes we learnt (allocator overhead).
TOLERANCE = 0.05


@dataclass
class ServerModels:
    """One server's record: model -> time last used (least recent first), and its memory."""

    models: OrderedDict[str, float] = field(default_factory=OrderedDict)
    capacity: int | None = None  # VRAM bytes, once reported
    used: int | None = None  # VRAM bytes in use at the last report
    new: frozenset[str] = frozenset()  # models the last started job brought in


@dataclass(frozen=True)
class Eviction:
    """What loading a job's models on a server would cost: ``load`` is False when it holds
    them all; ``victim_used_at`` is when the first model it would evict was last used
    (None = nothing evicted). Smaller sorts first: no load, then no eviction, then the
    oldest victim."""

    load: bool
    victim_used_at: float | None

    def key(self) -> tuple[int, int, float]:
        return (int(self.load), 0 if self.victim_used_at is None else 1, self.victim_used_at or 0.0)


class ModelHoldings:
    """Every server's :class:`ServerModels`; see the module docstring."""

    def __init__(self) -> None:
        self._servers: dict[str, ServerModels] = {}
        self.sizes: dict[str, int] = {}  # model -> bytes, learnt from VRAM reports
        #: called with (server, models) when a job makes a server load models it did not hold
        #: (the metrics count them: a high rate means the scheduling keeps swapping models)
        self.load_listeners: list[Callable[[str, frozenset[str]], None]] = []

    def _of(self, server: str) -> ServerModels:
        return self._servers.setdefault(server, ServerModels())

    # --- what is known ------------------------------------------------------------------

    def held(self, server: str) -> list[str]:
        """Models ``server`` probably holds, most recently used first."""
        record = self._servers.get(server)
        return list(reversed(record.models)) if record else []

    def holds(self, server: str, models: Iterable[str]) -> bool:
        record = self._servers.get(server)
        return record is not None and all(m in record.models for m in models)

    def holders(self, models: Iterable[str], among: Iterable[str]) -> list[str]:
        wanted = list(models)
        return [s for s in among if self.holds(s, wanted)]

    def copy(self) -> ModelHoldings:
        """An independent record knowing the same (for a replay that must not touch this one);
        no listeners: a replayed load is not a load."""
        twin = ModelHoldings()
        twin.sizes = dict(self.sizes)
        for name, record in self._servers.items():
            twin._servers[name] = ServerModels(OrderedDict(record.models), record.capacity, record.used, record.new)
        return twin

    def learn_memory_from(self, other: ModelHoldings) -> None:
        """Use what ``other`` learnt of model sizes and each server's memory, not what its
        servers hold: a replay of another history on the same servers."""
        self.sizes = other.sizes
        for name, record in other._servers.items():
            if record.capacity is not None:
                self._of(name).capacity = record.capacity

    # --- what happens -------------------------------------------------------------------

    def ran(self, server: str, models: Iterable[str], now: float) -> None:
        """A job using ``models`` started on ``server``."""
        record = self._of(server)
        models = sorted(models)  # one order for a job's files, whatever set they came in
        record.new = frozenset(m for m in models if m not in record.models)
        if record.capacity is None and record.new:
            record.models.clear()  # no VRAM figures: only the last job's models are assumed kept
        for model in models:
            record.models.pop(model, None)
            record.models[model] = now
        if record.capacity is not None:
            self._trim_to(record, record.capacity)
        for listener in self.load_listeners if record.new else ():
            listener(server, record.new)

    def forget(self, server: str) -> None:
        """The server went down (or restarted): it holds nothing we know of."""
        self._servers.pop(server, None)

    def confirm(self, server: str, stats: Mapping[str, Any]) -> None:
        """Check the record against a ``/system_stats`` answer (first GPU device)."""
        device = next((d for d in stats.get("devices") or [] if isinstance(d, Mapping)), None)
        if device is None or device.get("type") == "cpu" or not device.get("vram_total"):
            return
        record = self._of(server)
        total, free = int(device["vram_total"]), int(device.get("vram_free") or 0)
        used = max(0, total - free)
        record.capacity, record.used = total, used
        if used < EMPTY_BYTES:
            record.models.clear()
            return
        unknown = [m for m in record.models if m not in self.sizes]
        if len(unknown) == 1 and unknown[0] in record.new:
            # drop models the new one must have pushed out, then its size is what is left
            while sum(self.sizes[m] for m in record.models if m != unknown[0]) >= used and len(record.models) > 1:
                record.models.popitem(last=False)
            known = sum(self.sizes[m] for m in record.models if m != unknown[0])
            if unknown[0] in record.models:
                self.sizes[unknown[0]] = used - known
        self._trim_to(record, used * (1 + TOLERANCE))

    def _trim_to(self, record: ServerModels, limit: float) -> None:
        """Drop least recently used models until the known sizes fit ``limit`` bytes."""
        while len(record.models) > 1 and self._size(record.models, record.capacity) > limit:
            record.models.popitem(last=False)

    def _size(self, models: Iterable[str], capacity: int | None) -> int:
        return sum(self._estimate(m, capacity) for m in models)

    def _estimate(self, model: str, capacity: int | None) -> int:
        if model in self.sizes:
            return self.sizes[model]
        if self.sizes:
            return max(self.sizes.values())
        return (capacity or 0) // 2

    # --- what loading would do ----------------------------------------------------------

    def eviction(self, server: str, models: Iterable[str]) -> Eviction:
        """What running a job with ``models`` on ``server`` would load and evict (LRU)."""
        record = self._servers.get(server) or ServerModels()
        need = [m for m in models if m not in record.models]
        if not need:
            return Eviction(False, None)
        if not record.models:
            return Eviction(True, None)
        if record.capacity is None:  # the last job's models are dropped
            return Eviction(True, min(record.models.values()))
        free = record.capacity - sum(self._estimate(m, record.capacity) for m in record.models)
        if free >= sum(self._estimate(m, record.capacity) for m in need):
            return Eviction(True, None)
        return Eviction(True, next(iter(record.models.values())))


__all__ = ["Eviction", "ModelHoldings", "ServerModels"]
