"""One progress message per job: phase, bar, step x/y, elapsed, ETA, queue position, preview.

Updates arrive far faster than Discord lets us edit (a sampler reports every step, previews
stream), so ``ThrottledEditor`` keeps only the latest state and edits at most once per
``progress.edit_interval`` seconds. A burst of 100 users therefore costs at most one edit per
job per interval, which keeps us under Discord's rate limits.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import discord

from discomfy.bot.delivery import job_messenger
from discomfy.core.comfyui.events import Preview, Progress, ServerUnreachable
from discomfy.core.progress.tracker import ProgressTracker
from discomfy.utils.tasks import cancel_and_wait

log = logging.getLogger(__name__)

BAR_WIDTH = 16
PREVIEW_NAME = "preview.jpg"


@dataclass(frozen=True)
class ProgressState:
    phase: str = "Queued"
    percent: float = 0.0
    step: int | None = None
    steps: int | None = None
    elapsed: float = 0.0
    eta: float | None = None
    position: int | None = None
    preview: bytes | None = None


def progress_bar(percent: float, width: int = BAR_WIDTH) -> str:
    filled = round(max(0.0, min(100.0, percent)) / 100 * width)
    return "█" * filled + "░" * (width - filled)


def format_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def progress_embed(title: str, prompt: str | None, state: ProgressState) -> discord.Embed:
    lines = [f"**{state.phase}**"]
    if state.position:
        lines.append(f"Position in queue: **{state.position}**")
    else:
        lines.append(f"`{progress_bar(state.percent)}` {state.percent:.0f}%")
    if state.step is not None and state.steps:
        lines.append(f"Step {state.step}/{state.steps}")
    timing = f"Elapsed {format_seconds(state.elapsed)}"
    if state.eta is not None and not state.position:
        timing += f" · ETA {format_seconds(state.eta)}"
    lines.append(timing)
    embed = discord.Embed(title=title[:256], description="\n".join(lines), colour=discord.Colour.blurple())
    if prompt:
        embed.add_field(name="Prompt", value=prompt[:1024], inline=False)
    if state.preview:
        embed.set_image(url=f"attachment://{PREVIEW_NAME}")
    return embed


Editor = Callable[[discord.Embed, list[discord.File]], Awaitable[None]]


class ThrottledEditor:
    """Coalesces progress states and applies the latest one at most once per ``interval``."""

    def __init__(self, title: str, prompt: str | None, edit: Editor, *, interval: float, started: float | None = None) -> None:
        self.title = title
        self.prompt = prompt
        self._edit = edit
        self.interval = interval
        self.started = started if started is not None else time.monotonic()
        self.state = ProgressState()
        self._sent: ProgressState | None = None
        self._last_edit = 0.0
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self.edits = 0

    def update(self, **changes: object) -> None:
        """Record new values; never blocks and never calls Discord directly."""
        if self._stopped:
            return
        self.state = replace(self.state, elapsed=time.monotonic() - self.started, **changes)  # type: ignore[arg-type]
        self._dirty.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"progress:{self.title}")

    async def _run(self) -> None:
        """Apply the latest state until nothing is left to show, then end: an idle editor
        (a job waiting in a long queue) holds no task."""
        try:
            while self._dirty.is_set():
                wait = self._last_edit + self.interval - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                self._dirty.clear()
                await self._apply(self.state)
        finally:
            self._task = None

    async def _apply(self, state: ProgressState) -> None:
        if state == self._sent:
            return
        files = [discord.File(io.BytesIO(state.preview), PREVIEW_NAME)] if state.preview else []
        self._last_edit = time.monotonic()
        try:
            await self._edit(progress_embed(self.title, self.prompt, state), files)
            self._sent = state
            self.edits += 1
        except discord.HTTPException as exc:  # a lost edit is not worth failing the job for
            log.warning("progress edit failed: %s", exc)

    async def stop(self) -> None:
        """Stop editing for good; the caller then replaces the message with the result or the error."""
        self._stopped = True
        task, self._task = self._task, None
        await cancel_and_wait(task)


def job_editor(bot: Any, job: Any, title: str) -> ThrottledEditor:
    """The throttled editor of one job's progress message."""
    return ThrottledEditor(title, job.parameters.get("prompt"), job_messenger(bot, job).edit_progress,
                           interval=float(bot.config.progress.edit_interval))


def sampler_nodes(spec: Any) -> frozenset[str]:
    """The nodes whose progress counts sampling steps: those that denoise a latent (KSampler,
    KSamplerAdvanced, SamplerCustom, SamplerCustomAdvanced all take a ``latent_image``).
    Other nodes report progress too -- a tiled VAE decode or an upscaler by tiles,
    SaveImageWebsocket per image (recorded in tests/fixtures/comfyui-traces/
    progress_websocket_image.json) -- and shown as "Step 18/20" under a 25-step job they
    would read as the job's steps."""
    graph = spec.template if spec is not None else {}
    return frozenset(nid for nid, node in graph.items() if "latent_image" in (node.get("inputs") or {}))


def track_progress(bot: Any, job: Any, spec: Any, editor: ThrottledEditor | None = None
                   ) -> tuple[ThrottledEditor, Callable[[Any], None]]:
    """A job's progress editor (``editor``, or a new one) and the event sink that feeds it
    (tracker percentage/phase/ETA, sampler steps, previews)."""
    samplers = sampler_nodes(spec)
    if editor is None:
        editor = job_editor(bot, job, f"/{job.command} · {spec.model if spec else job.workflow}")
    tracker = ProgressTracker()
    tracker.add_callback(lambda snap: editor.update(phase=snap.phase, percent=snap.percentage, eta=snap.eta_seconds))

    def on_event(event: Any) -> None:
        tracker.feed(event)
        if isinstance(event, Progress) and event.node in samplers:
            editor.update(step=int(event.value), steps=int(event.max))
        elif isinstance(event, Preview):
            editor.update(preview=event.data)
        elif isinstance(event, ServerUnreachable):
            editor.update(phase=f"Waiting for the image server `{event.server}` to answer again")

    return editor, on_event
