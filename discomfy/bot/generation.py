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
import time
from dataclasses import replace
from typing import Any

import discord

from discomfy.bot.delivery import deliver_failure, deliver_result, persist
from discomfy.bot.job_run import JobRun, JobRuns
from discomfy.bot.review import drop, requester_of, review_submission
from discomfy.bot.progress import ProgressState, job_editor, progress_embed, track_progress
from discomfy.bot.responses import report_error, user_message_for
from discomfy.bot.submission import Submission, read_images, replay_options, submission_from_command, time_left
from discomfy.bot.views import job_view
from discomfy.core.jobs.execution import ImageInput, execute
from discomfy.core.jobs.job import Job, JobState, new_job_id
from discomfy.core.review import SubmissionReview
from discomfy.core.scheduling.job_models import models_of
from discomfy.exceptions import ComfyUIError, DisComfyError, ValidationError
from discomfy.ops.job_context import bind_job

log = logging.getLogger(__name__)

CANCELLED = "Cancelled by its owner."
NOT_ANSWERED = "The bot could not answer your command in time. Press Retry to run it again."
STALE = "Your job was changed by another part of the bot while it started. Press Retry to run it again."


def dropped(review: SubmissionReview | None) -> None:
    """A reviewed submission did not become a job: plugins give back what they reserved."""
    if review is not None and not review.refused:  # a refusal was dropped where it was made
        drop(review)


class GenerationFlow:
    """Accepts, runs, cancels and withdraws jobs; what memory holds about each is its JobRun."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot
        self.runs = JobRuns()  # what memory holds about each job, from accepted to its end

    def positions_changed(self, changes: dict[str, int | None]) -> None:
        """Keep "position N in queue" current on every waiting job's message (throttled)."""
        for job_id, position in changes.items():
            editor = self.runs.editor_of(job_id)
            if editor is not None and position is not None:
                editor.update(position=position)

    # --- from a slash command -------------------------------------------------------------

    async def from_command(self, interaction: discord.Interaction, command: Any, options: dict[str, Any]) -> None:
        """A slash command's options -> a job; refusals are ephemeral and immediate."""
        try:
            submission = await submission_from_command(self.bot, interaction, command, options)
        except asyncio.TimeoutError:
            await report_error(interaction, ValidationError("Your attachment took too long to download; please try again."))
            return
        except Exception as exc:
            await report_error(interaction, exc)
            return
        await self.accept(interaction, submission)

    async def read_images(self, attachments: dict[str, discord.Attachment]) -> dict[str, ImageInput]:
        return await read_images(self.bot.image_validator, attachments)

    # --- what the server has -----------------------------------------------------------------

    async def _eligible_servers(self, submission: Submission, choices: dict[str, Any]) -> list[str]:
        """Servers that have what the job needs (refusing it in plain words when none has)."""
        names = [s.name for s in await self.bot.jobs.servers.check_choices(submission.spec, choices)]
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
        job_id = new_job_id()
        review: SubmissionReview | None = None
        try:
            rendered = self.bot.plugins.render(submission.spec, submission.options, user_id, explicit=submission.explicit)
            review = SubmissionReview(requester_of(interaction), job_id, submission.spec.command, submission.spec,
                                      dict(rendered.parameters))
            async with asyncio.timeout(time_left(self.bot, interaction)):
                await review_submission(self.bot, review)
            rendered = self._rewritten(submission, rendered, review)
            private = bool(self.bot.plugins.manager.hook.discomfy_private_results(
                user_id=user_id, command=submission.spec.command, guild_id=interaction.guild_id))
            # input images are uploaded only once the job runs, so they are not server choices yet
            inputs = set(submission.spec.image_parameters)
            choices = {k: v for k, v in rendered.parameters.items() if k not in inputs}
            async with asyncio.timeout(time_left(self.bot, interaction)):
                servers = await self._eligible_servers(submission, choices)
            self.bot.rate_limiter.acquire(user_id)
        except asyncio.TimeoutError:
            dropped(review)
            await report_error(interaction, ComfyUIError("The image server did not answer in time; please try again in a minute."))
            return None
        except Exception as exc:
            dropped(review)
            await report_error(interaction, exc)
            return None
        job = Job(
            id=job_id,
            user_id=user_id,
            plugin=submission.spec.plugin,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            interaction_token=interaction.token,
            interaction_created_at=interaction.created_at.timestamp(),
            command=submission.spec.command,
            workflow=submission.spec.name,
            parameters={**rendered.parameters, **submission.server_images},
            parameter_sources=dict(rendered.sources),
            private=private,
            seed=rendered.seed,
            input_urls={name: image.url for name, image in submission.images.items() if image.url},
        )
        # discord.py's filesize_limit is Discord's attachment_size_limit for this guild
        run = self.runs.add(JobRun(job.id, announced=asyncio.Event(), inputs={**submission.images, **submission.server_images},
                                   rendered=rendered, upload_limit=getattr(interaction, "filesize_limit", None)))
        announced = run.announced
        try:
            await self.bot.jobs.admit(job, servers=servers, models=models_of(rendered))
        except Exception as exc:
            self.runs.forget(job.id)
            dropped(review)
            await report_error(interaction, exc)
            return None
        title = f"/{job.command} · {submission.spec.model}"
        state = ProgressState(phase="Queued", position=self.bot.jobs.job_queue.position(job.id))
        try:
            response = await interaction.response.send_message(
                embed=progress_embed(title, job.parameters.get("prompt"), state), view=job_view(job.id),
                ephemeral=job.private)
            message_id = getattr(getattr(response, "resource", None), "id", None) or (await interaction.original_response()).id
        except Exception as exc:  # the user was never told: take the job back, and say so
            log.error("job %s: could not answer the interaction", job.id, exc_info=exc)
            self.bot.jobs.job_queue.cancel(job.id)
            announced.set()
            self.runs.forget(job.id)
            await deliver_failure(self.bot, job, NOT_ANSWERED, retry=True)
            return None
        job.progress_message_id, job.state = message_id, JobState.QUEUED
        run.job = job
        editor = run.editor = job_editor(self.bot, job, title)
        editor.state = state  # what the message shows now; later changes are edits
        moved = self.bot.jobs.job_queue.position(job.id)  # jobs may have started while we answered
        if moved is not None and moved != state.position:
            editor.update(position=moved)
        # the user already sees the job queued: a store refusing this right now is retried
        await persist(lambda: self.bot.jobs.store.update(job.id, expect="accepted", progress_message_id=message_id, state="queued"),
                      f"record the progress message of job {job.id}")
        announced.set()
        await self.bot.jobs.announced(job.id)  # with a shared store: the scheduler takes it from here
        return job

    def _rewritten(self, submission: Submission, rendered: Any, review: SubmissionReview) -> Any:
        """The job as review plugins rewrote it (validated again), or ``rendered`` unchanged."""
        if not review.rewrites:
            return rendered
        given = submission.explicit
        if given is None:
            given = frozenset(k for k, v in submission.options.items() if v is not None)
        again = self.bot.plugins.render(submission.spec, {**submission.options, **review.rewrites}, review.requester.user_id,
                                explicit=given | set(review.rewrites))
        return replace(again, sources={**again.sources, **review.rewritten_by})

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
            job = await self.bot.jobs.store.get(job_id)
            if job is not None and not job.is_final:
                await deliver_failure(self.bot, job, message)
        finally:
            self.bot.jobs.job_queue.release(job_id)
            self.runs.forget(job_id, keep_inputs=not ended)

    async def _run_job(self, job_id: str, server: Any) -> None:
        run = self.runs.open(job_id)
        announced, run.announced = run.announced, None
        if announced is not None:
            async with asyncio.timeout(10):
                await announced.wait()
        # the job as accept() stored it saves a store round trip per job in a burst
        job, run.job = run.job or await self.bot.jobs.store.get(job_id), None
        if job is None or job.is_final:
            return  # process() releases its queue slot
        bind_job(job)  # this task's log lines are about this job (discomfy.ops.job_context)
        spec = self.bot.plugins.workflows.get(job.workflow)
        editor, on_event = track_progress(self.bot, job, spec, run.editor)
        run.editor = editor
        try:
            if spec is None:
                raise DisComfyError(f"The workflow `{job.workflow}` is no longer installed on this bot.")
            rendered = run.rendered or self.bot.plugins.render(spec, replay_options(job, spec), job.user_id)
            editor.update(phase="Starting", position=None)

            async def on_queued(prompt_id: str, uploaded: dict[str, str]) -> None:
                # one write says where it runs; the server-side names of its inputs let
                # reroll, retry and recovery reuse them
                job.parameters.update(uploaded)
                job.server, job.prompt_id = server.name, prompt_id
                bind_job(job)  # now with its server and prompt id
                job.started_at = time.time()
                if await self.bot.jobs.store.update(job.id, expect="queued", state="running", server=server.name,
                                               prompt_id=prompt_id, parameters=job.parameters,
                                               started_at=job.started_at) is None:
                    await server.client.cancel(prompt_id)  # the job ended or moved meanwhile (logged)
                    raise DisComfyError(STALE, detail=f"job {job.id} changed while its prompt was queued")
                # with no await between them, exactly one of this and cancel() interrupts it
                run.queued_on = (server.name, prompt_id)
                if run.cancelled:  # cancelled while its inputs were uploading or it was queued
                    await server.client.cancel(prompt_id)

            result = await execute(
                server.client,
                rendered,
                run.inputs,
                on_queued=on_queued,
                on_event=on_event,
                deadline=float(self.bot.config.comfyui.job_deadline),
            )
            if run.cancelled:  # the owner was told "Cancelled": keep that promise
                raise DisComfyError(CANCELLED, detail=f"job {job.id} finished after its owner cancelled it")
            await editor.stop()
            await deliver_result(self.bot, job, spec, result)
        except Exception as exc:
            await editor.stop()
            if run.cancelled:
                await deliver_failure(self.bot, job, CANCELLED, state="cancelled")
            else:  # the user's input was fine: offer to run the same job again
                await deliver_failure(self.bot, job, user_message_for(exc), retry=not isinstance(exc, ValidationError))
        finally:  # also on cancellation (the bot stopping): the job stays open for recovery
            await editor.stop()
            run.cancelled, run.queued_on = False, None

    # --- cancelling -------------------------------------------------------------------------

    async def cancel(self, job: Job) -> bool:
        """Cancel ``job`` (fresh from the store): a waiting job leaves the queue and never
        reaches ComfyUI; a running one is interrupted there and ends as cancelled."""
        if await self.withdraw(job, CANCELLED, state="cancelled"):
            return True
        run = self.runs.get(job.id)
        if run is None or run.task is None:
            return False
        run.cancelled = True
        # the run's own record first: ``job`` may have been read before the run wrote "running"
        server_name, prompt_id = run.queued_on or (job.server, job.prompt_id)
        if prompt_id and server_name:  # else on_queued interrupts it as soon as it is queued
            server = self.bot.jobs.servers.get(server_name)
            if server is None or not await server.client.cancel(prompt_id):
                run.cancelled = False
                return False
        return True

    async def withdraw(self, job: Job, message: str, *, state: str = "failed", retry: bool = False) -> bool:
        """Take a job that is still waiting out of the queue and tell its user why; False when
        it is not waiting (running, or already ended)."""
        if not self.bot.jobs.job_queue.cancel(job.id):
            return False
        editor = self.runs.editor_of(job.id)
        if editor is not None:
            await editor.stop()
        self.runs.forget(job.id)
        await deliver_failure(self.bot, job, message, state=state, retry=retry)
        return True
