"""Running one job on a ComfyUI server: upload inputs, queue, follow, download outputs.

Discord-free on purpose: the bot passes callbacks for what the user should see, the fault
suite and the benchmarks drive the same code without Discord. Every path ends in exactly one
of: a ``JobResult``, or a ``DisComfyError`` whose user message says what went wrong.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from discomfy.core.comfyui.workflows.rendered import fill_images
from discomfy.core.comfyui.events import Failed, Interrupted, JobEvent, OutputFile, Succeeded
from discomfy.exceptions import GenerationError


@dataclass(frozen=True)
class ImageInput:
    """An image a user attached (already validated), to be uploaded before rendering."""

    filename: str
    data: bytes
    url: str | None = None  # where Discord serves it, so a restarted bot can read it again


@dataclass(frozen=True)
class ResultImage:
    filename: str
    data: bytes
    source: OutputFile | None = None


@dataclass
class JobResult:
    prompt_id: str
    images: list[ResultImage] = field(default_factory=list)


EventSink = Callable[[JobEvent], Awaitable[None] | None]


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def upload_name(filename: str) -> str:
    """A file name ComfyUI will store as given: the user's name reduced to ASCII letters,
    digits, ``_`` and ``-`` (no dots but the extension's, no separators, bounded length).

    A Discord attachment may be called ``..etc.passwd``, ``tick`name.png`` or 150 characters
    of unicode; ComfyUI refuses some such names with a bare 400 and stores others under
    surprising paths, so they are never sent verbatim."""
    stem, dot, ext = str(filename or "").rpartition(".")
    if not dot:
        stem, ext = ext, ""
    stem = _UNSAFE.sub("_", stem).strip("_")[:64] or "image"
    ext = _UNSAFE.sub("", ext)[:8].lower()
    return f"{stem}.{ext}" if ext else stem


async def upload_inputs(client: Any, images: Mapping[str, ImageInput | str]) -> dict[str, str]:
    """Upload every input image; the names ComfyUI returns (it renames clashes) by parameter.

    A ``str`` is the name of an image already on the server (a reroll reuses its input)."""

    async def one(image: ImageInput | str) -> str:
        if isinstance(image, str):
            return image
        return await client.upload_image(image.data, upload_name(image.filename))

    names = await asyncio.gather(*(one(img) for img in images.values()))
    return dict(zip(images.keys(), names))


async def download_images(client: Any, files: list[OutputFile]) -> list[ResultImage]:
    blobs = await asyncio.gather(*(client.download_output(f.filename, f.subfolder, f.type) for f in files))
    return [ResultImage(f.filename, data, f) for f, data in zip(files, blobs)]


async def result_of(client: Any, event: JobEvent, output_nodes: tuple[str, ...] = ()) -> JobResult:
    """The images a terminal event names, downloaded; its failure raised as the error to show.
    Serves a followed job and one whose outcome was read from ``/history`` after a restart."""
    prompt_id = event.prompt_id
    if isinstance(event, Failed):
        raise event.error
    if isinstance(event, Interrupted):
        raise GenerationError("The job was cancelled before it finished.", detail=f"prompt {prompt_id} interrupted at node {event.node}")
    assert isinstance(event, Succeeded), event
    files = [f for f in event.images if f.type == "output" and (not output_nodes or f.node in output_nodes)]
    if not files:
        raise GenerationError(
            "The workflow finished but produced no image.",
            detail=f"prompt {prompt_id} succeeded with outputs {event.outputs!r} (collecting {output_nodes})",
        )
    return JobResult(prompt_id, await download_images(client, files))


async def follow_to_result(
    client: Any,
    prompt_id: str,
    *,
    on_event: EventSink | None = None,
    deadline: float | None = None,
    output_nodes: tuple[str, ...] = (),
) -> JobResult:
    """Follow a queued prompt to its end and fetch its images."""
    async for event in client.follow(prompt_id, deadline=deadline):
        if on_event is not None:
            maybe = on_event(event)
            if asyncio.iscoroutine(maybe):
                await maybe
        if event.terminal:
            return await result_of(client, event, output_nodes)
    raise GenerationError("The image server stopped reporting on this job.", detail=f"follow({prompt_id}) ended without a terminal event")


async def execute(
    client: Any,
    rendered: Any,
    images: Mapping[str, ImageInput | str],
    *,
    on_queued: Callable[[str, dict[str, str]], Awaitable[None] | None] | None = None,
    on_event: EventSink | None = None,
    deadline: float | None = None,
) -> JobResult:
    """Upload the inputs, write their server-side names into the graph, queue, follow, download."""

    names = await upload_inputs(client, {k: v for k, v in images.items() if k in rendered.image_nodes})
    graph = fill_images(rendered, names).graph if rendered.image_nodes else rendered.graph
    prompt_id = await client.queue_prompt(graph)
    if on_queued is not None:
        maybe = on_queued(prompt_id, names)
        if asyncio.iscoroutine(maybe):
            await maybe
    return await follow_to_result(
        client, prompt_id, on_event=on_event, deadline=deadline, output_nodes=tuple(rendered.output_nodes)
    )
