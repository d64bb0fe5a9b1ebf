"""DisComfy: a Discord bot that puts ComfyUI behind slash commands, extended by plugins.

This module is the public surface for plugin authors; anything not exported here is private.
"""

from discomfy.exceptions import (
    ComfyUIError,
    DisComfyError,
    GenerationError,
    RateLimitError,
    ValidationError,
    WorkflowError,
)
from discomfy.hookspecs import hookimpl

__version__ = "2.0.0"

__all__ = [
    "hookimpl",
    "DisComfyError",
    "ValidationError",
    "ComfyUIError",
    "WorkflowError",
    "GenerationError",
    "RateLimitError",
]
