"""The one generation flow, shared by every plugin command and every button.

``accept`` runs inside Discord's 3-second window: rate limit, per-user cap, schema, attachments
and server-side model names are checked first, so every refusal is an ephemeral message naming
what was wrong; only then is the job written to the store and the user told it is queued.
``process`` runs when the fair queue hands the job to a server, and always ends the job:
delivered, or failed with a message in the job's own progress message.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import discord

from discomfy.bot.attachments import read_capped
from discomfy.bot.delivery import deliver_failure, deliver_result, persist
from discomfy.bot.progress import ProgressState, ThrottledEditor, job_editor, progress_embed, track_progress
from discomfy.bot.responses import report_error, user_message_for
from discomfy.bot.views import job_view
from discomfy.core.execution import ImageInput, execute
from discomfy.core.jobs import Job, JobState
from discomfy.exceptions import ComfyUIError, DisComfyError, ValidationError

log = logging.getLogger(__name__)

# Discord invalidates an unanswered interaction after 3 s; leave room for the reply itself.
ACK_BUDGET = 2.2
CANCELLED = "Cancelled by its owner."
NOT_ANSWERED = "The bot could not answer your command in time. Press Retry to run it again."
STALE = "Your job was changed by another part of the bot while it started. Press Retry to run it again."


@dataclass
class Submission:
    """What a command or button asks for, before it becomes a job."""

    spec: Any
    options: dict[str, Any]
    images: dict[str, ImageInput] = field(default_factory=dict)
    server_images: dict[str, str] = field(default_factory=dict)  # already on ComfyUI (reroll)
    pinned_server: str | None = None  # the server holding ``server_images``


def replay_options(job: Job, spec: Any, **changes: Any) -> dict[str, Any]:
    """The options that reproduce ``job`` (its seed included), for recovery, reroll and retry."""
    options = {k: v for k, v in job.parameters.items() if k in spec.parameters}
    if "seed" in spec.parameters and job.seed is not None:
        options["seed"] = job.seed
    options.update(changes)
    return options


class GenerationFlow:
    def __init__(self, bot: Any) -> None:
        self.bot = bot
        self.images: dict[str, dict[str, ImageInput | str]] = {}  # job id -> inputs, until queued
        self.upload_limits: dict[str, int | None] = {}  # job id -> the guild's upload limit
        self.announced: dict[str, asyncio.Event] = {}  # set once the user saw the progress message
        self.rendered: dict[str, Any] = {}  # job id -> its rendered workflow, until queued
        self.accepted: dict[str, Job] = {}  # job id -> the job as stored when accepted, until it runs
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.cancelling: set[str] = set()  # running jobs their owner cancelled
        # job id -> the editor of its one progress message, from "queued" to its outcome
        self.editors: dict[str, ThrottledEditor] = {}
        bot.job_queue.add_listener(self._positions_changed)

    def _positions_changed(self, changes: dict[str, int | None]) -> None:
        """Keep "position N in queue" current on every waiting job's message (throttled)."""
        for job_id, position in changes.items():
            editor = self.editors.get(job_id)
            if editor is not None and position is not None:
                editor.update(position=position)

    # --- from a slash command -------------------------------------------------------------

    async def from_command(self, interaction: discord.Interaction, command: Any, options: dict[str, Any]) -> None:
        """A slash command's options -> a submission; refusals are ephemeral and immediate."""
        try:
            spec = command.workflow_for(options.pop("model", None))
            attachments = {k: v for k, v in options.items() if isinstance(v, discord.Attachment)}
            for name, attachment in attachments.items():
                options[name] = attachment.filename
            self.bot.check_access_to_generate(interaction.user.id)
            images = await asyncio.wait_for(self.read_images(attachments), timeout=self._budget(interaction))
        except asyncio.TimeoutError:
            await report_error(interaction, ValidationError("Your attachment took too long to download; please try again."))
            return
        except Exception as exc:
            await report_error(interaction, exc)
            return
        await self.accept(interaction, Submission(spec, options, images))

    def _budget(self, interaction: discord.Interaction) -> float:
        """Seconds left of Discord's 3-second window (by Discord's clock, see delivery)."""
        now = self.bot.discord_clock()
        age = now - interaction.created_at.timestamp()
        return max(0.2, ACK_BUDGET - max(0.0, age))

    async def read_images(self, attachments: dict[str, discord.Attachment]) -> dict[str, ImageInput]:
        """Read and validate every attached image (content type, real decode, size, pixels)."""
        validator = self.bot.image_validator
        images = {}
        for name, attachment in attachments.items():
            first = validator.validate(attachment)
            if not first.is_valid:
                raise ValidationError(first.error_message, field=name)
            data = await read_capped(attachment, validator, field=name)  # whatever size was declared
            # decoding a large image takes a while: off the event loop, so others are not held up
            result = await validator.validate_async(attachment, data)
            if not result.is_valid:
                raise ValidationError(result.error_message, field=name)
            images[name] = ImageInput(attachment.filename, data, attachment.url)
        return images

    # --- what the server has -----------------------------------------------------------------

    async def _eligible_servers(self, submission: Submission, choices: dict[str, Any]) -> list[str]:
        """Servers that have what the job needs (refusing it in plain words when none has)."""
        names = [s.name for s in await self.bot.servers.check_choices(submission.spec, choices)]
        pinned = submission.pinned_server
        if pinned is None:
            return names
        if pinned not in names:  # its input images were uploaded there, and only there
            raise ComfyUIError("The image server holding your input image is not available right now; "
                               "try again later, or run the command again with the image attached.")
        return [pinned]

    # --- accepting a job --------------------------------------------------------------------

    async def accept(self, interaction: discord.Interaction, submission: Submission) -> Job | None:
        """Validate what is left, store the job, queue it, answer with its progress message."""
        user_id = interaction.user.id
        try:
            rendered = self.bot.render(submission.spec, submission.options, user_id)
            # input images are uploaded only once the job runs, so they are not server choices yet
            inputs = set(submission.spec.image_parameters)
            choices = {k: v for k, v in rendered.parameters.items() if k not in inputs}
            servers = await asyncio.wait_for(self._eligible_servers(submission, choices), timeout=self._budget(interaction))
            self.bot.rate_limiter.acquire(user_id)
        except asyncio.TimeoutError:
            await report_error(interaction, ComfyUIError("The image server did not answer in time; please try again in a minute."))
            return None
        except Exception as exc:
            await report_error(interaction, exc)
            return None
        job = Job(
            user_id=user_id,
            plugin=submission.spec.plugin,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            interaction_token=interaction.token,
            interaction_created_at=interaction.created_at.timestamp(),
            command=submission.spec.command,
            workflow=submission.spec.name,
            parameters={**rendered.parameters, **submission.server_images},
            seed=rendered.seed,
            input_urls={name: image.url for name, image in submission.images.items() if image.url},
        )
        announced = self.announced[job.id] = asyncio.Event()
        try:
            await self.bot.store.add(job)
            try:
                self.bot.job_queue.submit(job.id, user_id, servers=servers)
            except Exception:
                # the refusal below is the user's answer: the job ends without a delivery of its own
                await self.bot.store.finish(job.id, "cancelled", intent=None, error_message="refused by the queue")
                raise
        except Exception as exc:
            self.announced.pop(job.id, None)
            await report_error(interaction, exc)
            return None
        self.images[job.id] = {**submission.images, **submission.server_images}
        self.rendered[job.id] = rendered
        self.upload_limits[job.id] = getattr(interaction, "filesize_limit", None)  # discord.py's name for attachment_size_limit
        title = f"/{job.command} · {submission.spec.model}"
        state = ProgressState(phase="Queued", position=self.bot.job_queue.position(job.id))
        try:
            response = await interaction.response.send_message(
                embed=progress_embed(title, job.parameters.get("prompt"), state), view=job_view(job.id))
            message_id = getattr(getattr(response, "resource", None), "id", None) or (await interaction.original_response()).id
        except Exception as exc:  # the user was never told: take the job back, and say so
            log.error("job %s: could not answer the interaction", job.id, exc_info=exc)
            self.bot.job_queue.cancel(job.id)
            announced.set()
            self._forget(job.id)
            await deliver_failure(self.bot, job, NOT_ANSWERED, retry=True)
            return None
        job.progress_message_id, job.state = message_id, JobState.QUEUED
        self.accepted[job.id] = job
        editor = self.editors[job.id] = job_editor(self.bot, job, title)
        editor.state = state  # what the message shows now; later changes are edits
        moved = self.bot.job_queue.position(job.id)  # jobs may have started while we answered
        if moved is not None and moved != state.position:
            editor.update(position=moved)
        # the user already sees the job queued: a store refusing this right now is retried
        await persist(lambda: self.bot.store.update(job.id, expect="accepted", progress_message_id=message_id, state="queued"),
                      f"record the progress message of job {job.id}")
        announced.set()
        return job

    # --- running a job ----------------------------------------------------------------------

    async def process(self, job_id: str, server: Any) -> None:
        """Run a dequeued job to its end; never raises, never leaves the job open.

        Cancelled (the bot stopping, or its server dying and Failover moving it), the job stays
        open and keeps its input images, so recovery or a retry on another server can run it."""
        ended = True
        try:
            await self._run_job(job_id, server)
        except asyncio.CancelledError:
            ended = False
            raise
        except Exception as exc:  # a bug in the flow itself: still end the job, visibly
            message = user_message_for(exc)
            job = await self.bot.store.get(job_id)
            if job is not None and not job.is_final:
                await deliver_failure(self.bot, job, message)
        finally:
            self.bot.job_queue.release(job_id)
            self._forget(job_id, keep_inputs=not ended)

    def _forget(self, job_id: str, *, keep_inputs: bool = False) -> None:
        """Drop what memory holds for a job; ``keep_inputs`` keeps what running it again needs
        (its images, rendered graph and upload limit), for recovery or a retry elsewhere."""
        held = [self.announced, self.editors, self.accepted]
        if not keep_inputs:
            held += [self.images, self.rendered, self.upload_limits]
        for store in held:
            store.pop(job_id, None)

    async def _run_job(self, job_id: str, server: Any) -> None:
        announced = self.announced.pop(job_id, None)
        if announced is not None:
            await asyncio.wait_for(announced.wait(), timeout=10)
        # the job as accept() stored it saves a store round trip per job in a burst
        job = self.accepted.pop(job_id, None) or await self.bot.store.get(job_id)
        if job is None or job.is_final:
            return  # process() releases its queue slot
        spec = self.bot.workflows.get(job.workflow)
        images = self.images.get(job_id, {})
        editor, on_event = track_progress(self.bot, job, spec, self.editors.pop(job_id, None))
        try:
            if spec is None:
                raise DisComfyError(f"The workflow `{job.workflow}` is no longer installed on this bot.")
            rendered = self.rendered.get(job_id) or self.bot.render(spec, replay_options(job, spec), job.user_id)
            editor.update(phase="Starting", position=None)

            async def on_queued(prompt_id: str, uploaded: dict[str, str]) -> None:
                # one write says where it runs; the server-side names of its inputs let
                # reroll, retry and recovery reuse them
                job.parameters.update(uploaded)
                job.server, job.prompt_id = server.name, prompt_id
                if await self.bot.store.update(job.id, expect="queued", state="running", server=server.name,
                                               prompt_id=prompt_id, parameters=job.parameters) is None:
                    await server.client.cancel(prompt_id)  # the job ended or moved meanwhile (logged)
                    raise DisComfyError(STALE, detail=f"job {job.id} changed while its prompt was queued")
                if job.id in self.cancelling:  # cancelled while its inputs were uploading
                    await server.client.cancel(prompt_id)

            result = await execute(
                server.client,
                rendered,
                images,
                on_queued=on_queued,
                on_event=on_event,
                deadline=float(self.bot.config.comfyui.job_deadline),
            )
            if job.id in self.cancelling:  # the owner was told "Cancelled": keep that promise
                raise DisComfyError(CANCELLED, detail=f"job {job.id} finished after its owner cancelled it")
            await editor.stop()
            await deliver_result(self.bot, job, spec, result)
        except Exception as exc:
            await editor.stop()
            if job.id in self.cancelling:
                await deliver_failure(self.bot, job, CANCELLED, state="cancelled")
            else:  # the user's input was fine: offer to run the same job again
                await deliver_failure(self.bot, job, user_message_for(exc), retry=not isinstance(exc, ValidationError))
        finally:  # also on cancellation (the bot stopping): the job stays open for recovery
            await editor.stop()
            self.cancelling.discard(job.id)

    # --- cancelling -------------------------------------------------------------------------

    async def cancel(self, job: Job) -> bool:
        """Cancel ``job`` (fresh from the store): a waiting job leaves the queue and never
        reaches ComfyUI; a running one is interrupted there and ends as cancelled."""
        if await self.withdraw(job, CANCELLED, state="cancelled"):
            return True
        if job.id not in self.tasks:
            return False
        self.cancelling.add(job.id)
        if job.prompt_id and job.server:  # else on_queued interrupts it as soon as it is queued
            server = self.bot.servers.get(job.server)
            if server is None or not await server.client.cancel(job.prompt_id):
                self.cancelling.discard(job.id)
                return False
        return True

    async def withdraw(self, job: Job, message: str, *, state: str = "failed", retry: bool = False) -> bool:
        """Take a job that is still waiting out of the queue and tell its user why; False when
        it is not waiting (running, or already ended)."""
        if not self.bot.job_queue.cancel(job.id):
            return False
        editor = self.editors.get(job.id)
        if editor is not None:
            await editor.stop()
        self._forget(job.id)
        await deliver_failure(self.bot, job, message, state=state, retry=retry)
        return True
