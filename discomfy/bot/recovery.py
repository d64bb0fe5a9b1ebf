"""Restart recovery: every job the store says is unfinished ends delivered or clearly failed.

On start the bot looks at each unfinished job:

* queued on ComfyUI or running there: follow it to its end, as if nothing happened;
* finished while the bot was down: fetch its result from ``/history`` and deliver it;
* on a server that is down right now: follow it; the reconnect settles it from ``/history``;
* waiting in our own queue, with nothing to upload: queue it again;
* gone (the server lost it): tell the user, with a Retry button; a job whose input images were
  only in the old process's memory: tell the user to run the command again.

``mark_delivered`` in the store is atomic, so a job recovered twice is still delivered once.
"""

from __future__ import annotations

import logging
from typing import Any

from discomfy.bot.delivery import deliver_failure, deliver_result
from discomfy.bot.progress import track_progress
from discomfy.bot.responses import user_message_for
from discomfy.core.comfyui.reconcile import terminal_from_history
from discomfy.core.jobs.execution import follow_to_result, result_of
from discomfy.exceptions import ComfyUIError, DisComfyError

log = logging.getLogger(__name__)

LOST = "The bot restarted and your job was lost on the image server. Press Retry to run it again."
NOT_UPLOADED = "The bot restarted before your image reached the image server; please run the command again with it."


async def recover_jobs(bot: Any) -> dict[str, int]:
    """Re-attach to every unfinished job; returns how many went which way (for the log)."""
    outcome = {"followed": 0, "delivered": 0, "requeued": 0, "failed": 0}
    for job in await bot.store.unfinished():
        try:
            kind = await recover_one(bot, job)
        except Exception as exc:
            log.error("recovery of job %s failed", job.id, exc_info=exc)
            await deliver_failure(bot, job, user_message_for(exc), retry=True)
            kind = "failed"
        outcome[kind] += 1
    if any(outcome.values()):
        log.info("recovered jobs after restart: %s", outcome)
    return outcome


async def recover_one(bot: Any, job: Any) -> str:
    spec = bot.workflows.get(job.workflow)
    if spec is None:
        await deliver_failure(bot, job, f"The workflow `{job.workflow}` is no longer installed on this bot.")
        return "failed"
    server = bot.servers.get(job.server) if job.server else None
    if job.prompt_id and server is not None:
        return await _reattach(bot, job, spec, server)
    if job.progress_message_id is None:  # the user was never told it was queued
        await bot.store.update(job.id, state="cancelled", error_message="bot stopped before answering")
        return "failed"
    if any(job.parameters.get(p) for p in spec.image_parameters):  # its images were only in the old process's memory
        await deliver_failure(bot, job, NOT_UPLOADED)
        return "failed"
    # routed like a new job: only to servers that have what it needs
    servers = await bot.servers.check_choices(spec, job.parameters)
    bot.job_queue.submit(job.id, job.user_id, servers=[server.name for server in servers])
    await bot.store.update(job.id, state="queued")
    return "requeued"


async def _reattach(bot: Any, job: Any, spec: Any, server: Any) -> str:
    client = server.client
    try:
        entry = (await client.get_history(job.prompt_id)).get(job.prompt_id)
    except ComfyUIError as exc:
        # Down right now (often both restarted together): follow anyway. When the socket
        # connects, the client reconciles open jobs from /history and /queue, and the job's
        # deadline bounds the wait if the server never comes back.
        log.warning("job %s: %s; following it until the server answers", job.id, exc.detail)
        return _adopt(bot, job, spec, server)
    if entry is not None:
        try:
            result = await result_of(client, terminal_from_history(job.prompt_id, entry), tuple(spec.outputs))
        except DisComfyError as exc:
            await deliver_failure(bot, job, exc.user_message)
            return "failed"
        await deliver_result(bot, job, spec, result)
        return "delivered"
    try:
        position = (await client.get_queue()).position(job.prompt_id)
    except ComfyUIError as exc:
        log.warning("job %s: %s; following it until the server answers", job.id, exc.detail)
        return _adopt(bot, job, spec, server)
    if position is None:
        await deliver_failure(bot, job, LOST, retry=True)
        return "failed"
    return _adopt(bot, job, spec, server)


def _adopt(bot: Any, job: Any, spec: Any, server: Any) -> str:
    bot.job_queue.adopt_running(job.id, job.user_id, server.name)
    bot.generation.runs.start(job.id, _follow(bot, job, spec, server))
    return "followed"


async def _follow(bot: Any, job: Any, spec: Any, server: Any) -> None:
    editor, on_event = track_progress(bot, job, spec)
    try:
        result = await follow_to_result(server.client, job.prompt_id, on_event=on_event,
                                        deadline=float(bot.config.comfyui.job_deadline),
                                        output_nodes=tuple(spec.outputs))
        await editor.stop()
        await deliver_result(bot, job, spec, result)
    except Exception as exc:
        await editor.stop()
        await deliver_failure(bot, job, user_message_for(exc))
    finally:
        await editor.stop()
        bot.job_queue.release(job.id)
