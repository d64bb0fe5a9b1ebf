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
from discomfy.core.comfyui.events import media_kind
from discomfy.core.comfyui.workflows.manifest import load_command_manifest
from discomfy.core.comfyui.workflows.schema.parameters import WorkflowParameters
from discomfy.core.jobs.job import JobState
from discomfy.core.validators.pixels import image_size
from discomfy.hookspecs import hookimpl

__version__ = "2.0.0"


def __getattr__(name: str):
    """The names that live with the bot load on first use: they import discord.py, and
    ``import discomfy.core...`` (which runs this file first) must not pull discord.py in. These
    are the only function-level imports of the package, kept for exactly that reason."""
    if name in ("WorkflowCog", "command_handler"):
        from discomfy.bot import cog

        return getattr(cog, name)
    if name in ("ResultAction", "ResultForm", "image_result"):
        from discomfy.bot import result_actions

        return getattr(result_actions, name)
    if name == "ActionContext":
        from discomfy.bot.action_context import ActionContext

        return ActionContext
    if name == "report_error":
        from discomfy.bot.responses import report_error

        return report_error
    if name == "repost_result":
        from discomfy.bot.repost import repost_result

        return repost_result
    raise AttributeError(f"module 'discomfy' has no attribute {name!r}")


__all__ = [
    "hookimpl",
    "WorkflowCog",
    "command_handler",
    "ResultAction",
    "ResultForm",
    "ActionContext",
    "image_result",
    "WorkflowParameters",
    "report_error",
    "repost_result",
    "JobState",
    "load_command_manifest",
    "media_kind",
    "image_size",
    "DisComfyError",
    "ValidationError",
    "ComfyUIError",
    "WorkflowError",
    "GenerationError",
    "RateLimitError",
]
