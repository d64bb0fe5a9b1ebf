"""The errors DisComfy raises, each carrying two texts.

``user_message`` is what a Discord user may read: plain words, what went wrong and how to
fix it, never an internal URL or a traceback. ``detail`` is what goes to the log: as
technical as it needs to be. Keeping the two apart is what lets one error handler show
every ``DisComfyError`` to users verbatim while logging the rest.
"""

from __future__ import annotations

from typing import Any


class DisComfyError(Exception):
    """Base of every error DisComfy raises on purpose."""

    default_user_message = "Something went wrong while handling your request."

    def __init__(self, user_message: str | None = None, *, detail: str | None = None) -> None:
        self.user_message = user_message or self.default_user_message
        self.detail = detail or self.user_message
        super().__init__(self.detail)


class ValidationError(DisComfyError):
    """A user-supplied value (option, attachment, setting) was refused before any work began."""

    default_user_message = "One of the values you gave is not valid."

    def __init__(
        self,
        user_message: str | None = None,
        *,
        detail: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(user_message, detail=detail)
        self.field = field


class ComfyUIError(DisComfyError):
    """The ComfyUI server could not be reached or answered with an HTTP failure."""

    default_user_message = "The image server is not reachable right now. Please try again later."

    def __init__(
        self,
        user_message: str | None = None,
        *,
        detail: str | None = None,
        server: str | None = None,
        status: int | None = None,
        cause: str | None = None,
    ) -> None:
        super().__init__(user_message, detail=detail)
        self.server = server
        self.status = status
        self.cause = cause  # "refused", "dns", "timeout", "http", "connection" or "not-json"


class WorkflowError(DisComfyError):
    """A workflow template, manifest or rendered graph is wrong (ComfyUI refused it, or a
    load-time check failed)."""

    default_user_message = "This command's workflow is broken; the bot owner has been told."

    def __init__(
        self,
        user_message: str | None = None,
        *,
        detail: str | None = None,
        node_errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(user_message, detail=detail)
        self.node_errors = node_errors or []


class GenerationError(DisComfyError):
    """ComfyUI accepted the job but it failed, was interrupted, vanished or ran out of time."""

    default_user_message = "The image could not be generated."

    def __init__(
        self,
        user_message: str | None = None,
        *,
        detail: str | None = None,
        node_id: str | None = None,
        node_type: str | None = None,
    ) -> None:
        super().__init__(user_message, detail=detail)
        self.node_id = node_id
        self.node_type = node_type


class RateLimitError(DisComfyError):
    """A user (or everyone together) sent more requests than the configured window allows."""

    default_user_message = "You are sending requests too quickly."

    def __init__(
        self,
        user_message: str | None = None,
        *,
        detail: str | None = None,
        retry_after: float = 0.0,
    ) -> None:
        super().__init__(user_message, detail=detail)
        self.retry_after = retry_after


__all__ = [
    "DisComfyError",
    "ValidationError",
    "ComfyUIError",
    "WorkflowError",
    "GenerationError",
    "RateLimitError",
]
