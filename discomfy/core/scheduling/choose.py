"""``comfyui.scheduling`` and friends from the settings -> the policy object."""

from __future__ import annotations

from typing import Any

from discomfy.core.scheduling.affinity import ModelAffinity
from discomfy.core.scheduling.policy import LeastBusy, SchedulingPolicy


def policy_from_config(config: Any) -> SchedulingPolicy:
    """``comfyui.scheduling``, ``comfyui.aging_factor``, ``comfyui.aging_floor``,
    ``comfyui.pipelining`` (validated by ``discomfy.config``)."""
    section = config.comfyui
    pipelining = bool(section.get("pipelining", False))
    if section.get("scheduling", "least_busy") == "model_affinity":
        return ModelAffinity(aging_factor=float(section.get("aging_factor", 2.0)),
                             aging_floor=float(section.get("aging_floor", 60.0)), pipelining=pipelining)
    return LeastBusy(pipelining=pipelining)


__all__ = ["policy_from_config"]
