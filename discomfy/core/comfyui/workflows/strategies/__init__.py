"""Built-in updater strategies. ``builtin_strategies()`` is what the default plugin returns
from ``discomfy_register_strategies``; ``default_registry()`` is a registry holding them."""

from __future__ import annotations

from .base import RenderContext, Strategy, StrategyRegistry, TargetError, parse_target, resolve_target
from .bindings import BindingsStrategy
from .images import ImagesStrategy
from .img2img import Img2ImgStrategy
from .lora import LoraStrategy
from .sampling import ShapeWriteStrategy, denoise_strategy, guidance_strategy, sampling_strategy
from .seed import SeedStrategy
from .size import SizeStrategy, dimensions
from .text import PromptStrategy


def builtin_strategies() -> list[Strategy]:
    """Fresh instances of every built-in strategy (a new list each call)."""
    return [ImagesStrategy(), SeedStrategy(), SizeStrategy(), PromptStrategy(), sampling_strategy(),
            denoise_strategy(), guidance_strategy(), BindingsStrategy(), LoraStrategy(), Img2ImgStrategy()]


def default_registry() -> StrategyRegistry:
    return StrategyRegistry(builtin_strategies())


#: strategies run for a bare graph (no manifest): everything found by shape
SHAPE_STRATEGIES = ("images", "seed", "size", "prompt", "sampling", "denoise", "guidance", "lora")

__all__ = [
    "BindingsStrategy", "ImagesStrategy", "Img2ImgStrategy", "LoraStrategy", "PromptStrategy", "RenderContext",
    "SHAPE_STRATEGIES", "SeedStrategy", "ShapeWriteStrategy", "SizeStrategy", "Strategy",
    "StrategyRegistry", "TargetError", "builtin_strategies", "default_registry", "dimensions",
    "parse_target", "resolve_target",
]
