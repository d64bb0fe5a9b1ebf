"""What happens to one queued prompt, as plain dataclasses.

The WebSocket speaks a dozen message types with shapes that changed across ComfyUI releases;
callers should not care. Every event carries the ``prompt_id`` it belongs to, and a job's
stream always ends with exactly one terminal event (:class:`Succeeded`, :class:`Failed` or
:class:`Interrupted`), so ``async for`` loops end on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from discomfy.exceptions import DisComfyError


#: File formats a chat client plays as a video (ComfyUI's SaveVideo / SaveWEBM and custom
#: video nodes write these); anything else is delivered as an image.
VIDEO_EXTENSIONS = frozenset({"mp4", "webm", "mov", "m4v", "mkv"})


def media_kind(filename: str) -> str:
    """``"video"`` for a file format that plays as a video, else ``"image"``."""
    return "video" if filename.rpartition(".")[2].lower() in VIDEO_EXTENSIONS else "image"


@dataclass(frozen=True)
class OutputFile:
    """One file a node wrote; fetch it with ``client.download_output(filename, subfolder, type)``.

    ComfyUI lists videos under ``images`` too, with ``animated: [true]`` beside them (see the
    recorded trace ``success_video.json``): ``animated`` keeps that flag, and ``kind`` says
    whether the file is a video (by its format: an animated WebP is still an image)."""

    filename: str
    subfolder: str
    type: str
    node: str
    animated: bool = False

    @property
    def kind(self) -> str:
        return media_kind(self.filename)


@dataclass(frozen=True)
class JobEvent:
    """Base of every event; ``prompt_id`` routes it to its job."""

    prompt_id: str

    @property
    def terminal(self) -> bool:
        return False


@dataclass(frozen=True)
class ServerUnreachable(JobEvent):
    """Not terminal: the client lost its socket to the server ``down_for`` seconds ago and is
    reconnecting; the job may still finish. ``follow`` ends it with ``Failed`` if the server
    stays away longer than ``server_lost_after``."""

    server: str = ""
    down_for: float = 0.0


@dataclass(frozen=True)
class Queued(JobEvent):
    """The server accepted the prompt (only emitted when the position is known)."""

    position: int | None = None


@dataclass(frozen=True)
class Started(JobEvent):
    """The server began executing this prompt (``execution_start``)."""


@dataclass(frozen=True)
class NodeStarted(JobEvent):
    """A node began running; cached nodes never start."""

    node: str
    node_type: str | None = None


@dataclass(frozen=True)
class Progress(JobEvent):
    """A node reported ``value`` of ``max`` steps (samplers: step+1 of steps)."""

    value: float
    max: float
    node: str | None = None


@dataclass(frozen=True)
class Preview(JobEvent):
    """An encoded preview image sent over the socket while a node runs."""

    data: bytes
    mime: str
    node: str | None = None


@dataclass(frozen=True)
class NodeExecuted(JobEvent):
    """A node with UI output finished; ``output`` is ComfyUI's dict (``images`` etc.)."""

    node: str
    output: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Succeeded(JobEvent):
    """Terminal: the prompt finished; ``outputs`` is history's outputs by node id."""

    outputs: dict[str, Any] = field(default_factory=dict)
    images: list[OutputFile] = field(default_factory=list)

    @property
    def terminal(self) -> bool:
        return True


@dataclass(frozen=True)
class Failed(JobEvent):
    """Terminal: execution failed, the job vanished, or its deadline passed."""

    error: DisComfyError

    @property
    def terminal(self) -> bool:
        return True


@dataclass(frozen=True)
class Interrupted(JobEvent):
    """Terminal: someone interrupted the prompt while it ran."""

    node: str | None = None
    node_type: str | None = None

    @property
    def terminal(self) -> bool:
        return True


@dataclass(frozen=True)
class QueueSnapshot:
    """``GET /queue`` as prompt ids: the running ones and the pending ones in run order."""

    running: list[str]
    pending: list[str]

    def position(self, prompt_id: str) -> int | None:
        """0 when running, 1 for the next to run, ...; None when not in the queue."""
        if prompt_id in self.running:
            return 0
        try:
            return self.pending.index(prompt_id) + 1
        except ValueError:
            return None


def output_files(outputs: dict[str, Any]) -> list[OutputFile]:
    """Every file listed in a history ``outputs`` dict (images, gifs, ...), in node order."""
    files: list[OutputFile] = []
    for node_id, node_output in outputs.items():
        if not isinstance(node_output, dict):
            continue
        # one flag per node in practice ([true]); any true marks the node's files animated
        animated = any(flag is True for flag in node_output.get("animated") or [])
        for key in ("images", "gifs", "videos", "audio"):
            for item in node_output.get(key) or []:
                if isinstance(item, dict) and "filename" in item:
                    files.append(
                        OutputFile(
                            filename=str(item["filename"]),
                            subfolder=str(item.get("subfolder", "")),
                            type=str(item.get("type", "output")),
                            node=str(node_id),
                            animated=animated,
                        )
                    )
    return files
