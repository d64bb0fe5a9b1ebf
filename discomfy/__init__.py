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


def __getattr__(name: str):
    """Heavier names load on first use, so importing ``discomfy.core`` never pulls in discord.py."""
    if name == "WorkflowCog":
        from discomfy.bot.cog import WorkflowCog

        return WorkflowCog
    if name == "ResultAction":
        from discomfy.bot.result_actions import ResultAction

        return ResultAction
    if name == "image_result":
        from discomfy.bot.result_actions import image_result

        return image_result
    if name == "ActionContext":
        from discomfy.bot.action_context import ActionContext

        return ActionContext
    if name == "report_error":
        from discomfy.bot.responses import report_error

        return report_error
    if name == "load_command_manifest":
        from discomfy.core.comfyui.workflows.manifest import load_command_manifest

        return load_command_manifest
    if name == "media_kind":
        from discomfy.core.comfyui.events import media_kind

        return media_kind
    if name == "WorkflowParameters":
        from discomfy.core.comfyui.workflows.schema.parameters import WorkflowParameters

        return WorkflowParameters
    raise AttributeError(f"module 'discomfy' has no attribute {name!r}")


__all__ = [
    "hookimpl",
    "WorkflowCog",
    "ResultAction",
    "ActionContext",
    "image_result",
    "WorkflowParameters",
    "report_error",
    "load_command_manifest",
    "media_kind",
    "DisComfyError",
    "ValidationError",
    "ComfyUIError",
    "WorkflowError",
    "GenerationError",
    "RateLimitError",
]
