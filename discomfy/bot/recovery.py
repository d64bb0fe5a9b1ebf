"""Restart recovery: every job the store says is unfinished ends delivered or clearly failed.

On start the bot looks at each unfinished job:

* queued on ComfyUI or running there: follow it to its end, as if nothing happened;
* finished while the bot was down: fetch its result from ``/history`` and deliver it;
* on a server that is down right now: follow it; the reconnect settles it from ``/history``;
* waiting in our own queue: queue it again (its attached images, which lived only in the old
  process's memory, are read again from where Discord serves them);
* gone (the server lost it): tell the user, with a Retry button; a job whose input images
  cannot be read again: tell the user to run the command again;
* never announced (stopped before its "Queued" message id was saved): tell the user, with
  Retry, through the interaction while its token lives, else in the channel;
* stopped while delivering (an intent is recorded): finish that intent -- the same message,
  the same nonce -- instead of starting a new delivery (see ``delivery_protocol``).

Every delivery claims its intent in the store first, so a job recovered twice is still
delivered once.
"""

from __future__ import annotations

import logging
import time
from types import SimpleNamespace
from typing import Any

import discord

from discomfy.bot.attachments import read_capped
from discomfy.bot.delivery import deliver_failure, deliver_result
from discomfy.bot.delivery_posts import find_own_message
from discomfy.bot.progress import track_progress
from discomfy.bot.responses import user_message_for
from discomfy.core.comfyui.reconcile import terminal_from_history
from discomfy.bot.submission import replay_options
from discomfy.core.jobs.execution import ImageInput, follow_to_result, result_of
from discomfy.core.jobs.job import JobState
from discomfy.core.scheduling.job_models import models_of
from discomfy.exceptions import ComfyUIError, DisComfyError

log = logging.getLogger(__name__)

LOST = "The bot restarted and your job was lost on the image server. Press Retry to run it again."
NOT_UPLOADED = "The bot restarted before your image reached the image server; please run the command again with it."
NOT_ANNOUNCED = "The bot restarted before your job was queued. Press Retry to run it again."


#: a job its accepting process left half-done this long is that process's no more (Discord's
#: window is 3 s): with several processes on one store, a younger one may still be in hand
ORPHANED_AFTER = 60.0


def orphaned(job: Any, now: float) -> bool:
    """Left half-done by a process that may have died: never announced, or ending outside a run."""
    half_done = job.state is JobState.ACCEPTED or (job.delivery_intent is not None and job.state is JobState.QUEUED)
    return half_done and now - job.updated_at > ORPHANED_AFTER


async def recover_jobs(bot: Any, *, shared: bool = False) -> dict[str, int]:
    """Re-attach to every unfinished job; returns how many went which way (for the log).
    ``shared``: other processes write to the store too, so a half-done job (accepted, or
    waiting with a delivery under way) is left to its process until it is ``orphaned``."""
    outcome = {"followed": 0, "delivered": 0, "requeued": 0, "failed": 0}
    now = time.time()
    for job in await bot.jobs.store.unfinished():
        if shared and job.state is not JobState.RUNNING and not orphaned(job, now) \
                and (job.state is JobState.ACCEPTED or job.delivery_intent is not None):
            continue
        try:
            kind = await recover_one(bot, job)
        except Exception as exc:
            log.error("recovery of job %s failed", job.id, exc_info=exc)
            await deliver_failure(bot, job, user_message_for(exc), retry=True, resume=job.delivery_intent is not None)
            kind = "failed"
        outcome[kind] += 1
    if any(outcome.values()):
        log.info("recovered jobs after restart: %s", outcome)
    return outcome


async def recover_one(bot: Any, job: Any, *, capped: bool = True) -> str:
    """Resume one unfinished job; ``capped=False`` queues a waiting job past the per-user cap
    (it was counted when a shared store admitted it)."""
    resume = job.delivery_intent is not None
    if resume and job.delivery_outcome != "result":  # a failure was being delivered: finish it
        state = job.delivery_outcome if job.delivery_outcome in ("cancelled", "withheld") else "failed"
        await deliver_failure(bot, job, job.error_message or LOST, retry=job.delivery_outcome == "failed+retry",
                              state=state, resume=True)
        return "failed"
    spec = bot.plugins.workflows.get(job.workflow)
    if spec is None:
        await deliver_failure(bot, job, f"The workflow `{job.workflow}` is no longer installed on this bot.", resume=resume)
        return "failed"
    server = bot.jobs.servers.get(job.server) if job.server else None
    if job.prompt_id and server is not None:
        return await _reattach(bot, job, spec, server, capped)
    if job.progress_message_id is None:  # the user was never told it was queued
        await deliver_failure(bot, job, NOT_ANNOUNCED, retry=True)
        return "failed"
    if had_images(job, spec):  # its images were only in the old process's memory: read them again
        images = await read_inputs_again(bot, job, spec)
        if images is None:
            await deliver_failure(bot, job, NOT_UPLOADED)
            return "failed"
        bot.jobs.generation.runs.open(job.id).inputs = images
    # routed like a new job: only to servers that have what it needs
    servers = await bot.jobs.servers.check_choices(spec, job.parameters)
    bot.jobs.job_queue.submit(job.id, job.user_id, servers=[server.name for server in servers],
                         models=models_needed(bot, job, spec), capped=capped)
    await bot.jobs.store.update(job.id, expect=("queued", "running"), state="queued", server=None, prompt_id=None)
    return "requeued"


def models_needed(bot: Any, job: Any, spec: Any) -> frozenset[str]:
    """The model files ``job`` loads, from its stored parameters: what model-aware scheduling
    groups it by (empty if they no longer render; it then goes wherever a slot frees)."""
    try:
        return models_of(bot.plugins.updater().render(spec, replay_options(job, spec)))
    except DisComfyError:
        return frozenset()


def had_images(job: Any, spec: Any) -> bool:
    """The job really had input images (an optional image parameter may have been left out)."""
    return any(job.parameters.get(p) for p in spec.image_parameters)


async def read_inputs_again(bot: Any, job: Any, spec: Any) -> dict[str, ImageInput] | None:
    """The job's attached images, read again from where Discord serves them (checked like the
    first time); None when one is not known or can no longer be read."""
    images = {}
    for name in (p for p in spec.image_parameters if job.parameters.get(p)):
        url, filename = job.input_urls.get(name), job.parameters.get(name)
        if not url or not isinstance(filename, str):
            return None
        source = SimpleNamespace(url=url, filename=filename, size=None, content_type=None)
        try:
            data = await read_capped(source, bot.image_validator, field=name)
        except DisComfyError as exc:
            log.warning("job %s: could not read its input %s again: %s", job.id, name, exc.detail)
            return None
        checked = await bot.image_validator.validate_async(source, data)
        if not checked.is_valid:
            return None
        images[name] = ImageInput(filename, data, url)
    return images


async def _reattach(bot: Any, job: Any, spec: Any, server: Any, capped: bool) -> str:
    if not server.healthy and not had_images(job, spec) and job.delivery_intent is None:
        # its server was found down as the bot started, so no failover will ever see it go
        # down: move the job now, as failover would have (once; the old prompt is abandoned)
        try:
            others = [s.name for s in await bot.jobs.servers.check_choices(spec, job.parameters) if s.name != server.name]
        except DisComfyError:
            others = []  # no other server can: follow it, in case its own comes back
        if others:
            if await bot.jobs.store.update(job.id, expect="running", expect_prompt=job.prompt_id, state="queued",
                                      server=None, prompt_id=None) is not None:
                bot.jobs.job_queue.submit(job.id, job.user_id, servers=others, models=models_needed(bot, job, spec),
                                     capped=capped)
                return "requeued"
    client = server.client
    try:
        entry = (await client.get_history(job.prompt_id)).get(job.prompt_id)
    except ComfyUIError as exc:
        # Down right now (often both restarted together): follow anyway. When the socket
        # connects, the client reconciles open jobs from /history and /queue, and the job's
        # deadline bounds the wait if the server never comes back.
        log.warning("job %s: %s; following it until the server answers", job.id, exc.detail)
        return _adopt(bot, job, spec, server)
    resume = job.delivery_intent is not None
    if entry is not None:
        try:
            result = await result_of(client, terminal_from_history(job.prompt_id, entry), tuple(spec.outputs))
        except DisComfyError as exc:
            if not await _already_shown(bot, job):
                await deliver_failure(bot, job, exc.user_message, resume=resume)
            return "failed"
        await deliver_result(bot, job, spec, result, resume=resume)
        return "delivered"
    try:
        position = (await client.get_queue()).position(job.prompt_id)
    except ComfyUIError as exc:
        log.warning("job %s: %s; following it until the server answers", job.id, exc.detail)
        return _adopt(bot, job, spec, server)
    if position is None:
        if await _already_shown(bot, job):
            return "delivered"
        await deliver_failure(bot, job, LOST, retry=True, resume=resume)
        return "failed"
    return _adopt(bot, job, spec, server)


async def _already_shown(bot: Any, job: Any) -> bool:
    """A result whose send may have landed before the stop, and that ComfyUI can no longer
    give again: if its message shows it, record it delivered instead of sending a failure."""
    if job.delivery_outcome != "result":
        return False
    kind, _, ref = job.delivery_intent.partition(":")
    message = None
    try:
        if kind == "edit":
            message = await bot.get_partial_messageable(job.channel_id).fetch_message(int(ref))
        elif kind == "post":
            message = await find_own_message(bot, job, job.intent_at or 0)
    except discord.HTTPException as exc:
        log.info("job %s: could not look at its message (%s)", job.id, exc)
    if message is None or not message.attachments:
        return False
    return await bot.jobs.store.finish(job.id, "delivered", intent=job.delivery_intent, result_message_id=message.id)


def _adopt(bot: Any, job: Any, spec: Any, server: Any) -> str:
    bot.jobs.job_queue.adopt_running(job.id, job.user_id, server.name)
    bot.jobs.generation.runs.start(job.id, _follow(bot, job, spec, server))
    return "followed"


async def _follow(bot: Any, job: Any, spec: Any, server: Any) -> None:
    editor, on_event = track_progress(bot, job, spec)
    try:
        result = await follow_to_result(server.client, job.prompt_id, on_event=on_event,
                                        deadline=float(bot.config.comfyui.job_deadline),
                                        output_nodes=tuple(spec.outputs))
        await editor.stop()
        await deliver_result(bot, job, spec, result, resume=job.delivery_intent is not None)
    except Exception as exc:
        await editor.stop()
        await deliver_failure(bot, job, user_message_for(exc), resume=job.delivery_intent is not None)
    finally:
        await editor.stop()
        bot.jobs.job_queue.release(job.id)
