"""Discord's answers to a delivery, each as Discord gives it (docs/delivery-errors.md).

A permanent refusal (a 4xx other than 429) gets the same answer however often it is sent: the
job must end at once -- a plain failure naming why where the refused result would have gone,
or, when even that is refused, ended unseen (logged) -- and never reach the next start open,
where recovery would be refused the same way. A gone message or interaction has a route that
works, and the result still arrives once. A transient answer (429, 5xx) is retried.
"""

from __future__ import annotations

import asyncio

import pytest

from discomfy.bot.delivery_errors import REFUSALS
from discomfy.testing.audit import jobs_in, seen
from discomfy.testing.bot_harness import running_bot
from tests.bot.support import embed_text
from tests.faults.audit import until

SAMPLER = "SamplerCustomAdvanced"
PAST_TOKEN = 16 * 60
#: a refusal is acted on at once: well under the first pause before a transient retry (1 s)
AT_ONCE = 0.9


def carries_result(rec) -> bool:
    """A request uploading a job's result (not a progress preview)."""
    return rec.method in ("PATCH", "POST") and any(p.filename and p.filename != "preview.jpg" for p in rec.files)


def webhook(rec) -> bool:
    return rec.path.startswith("/webhooks/")


def channel_post(rec) -> bool:
    return rec.method == "POST" and rec.path.startswith("/channels/") and rec.path.endswith("/messages")


async def run_one(emu, fake, config, *, past_token: bool = False, private: bool = False, inject=None):
    """One /generate whose delivery meets ``inject(emu)``'s errors; returns the stored job once
    it ended, how long after its first refused request it ended, and the store's open jobs
    as the next start would find them."""
    fake.simulate(SAMPLER, 20, 0.02)
    user = emu.make_user("refused")
    async with running_bot(emu, fake, config) as bot:
        if private:
            await emu.invoke("settings set", {"results": "me"}, user=user)
        rule = inject(emu)
        inter = await emu.invoke("generate", {"prompt": "a refused lighthouse"}, user=user)
        (job_id,) = jobs_in(inter.original_message)
        if past_token:
            await emu.wait_for_message(lambda m: m.id == inter.original_message.id and "Step" in embed_text(m))
            emu.clock.advance(PAST_TOKEN)
        refused = await emu.wait_for_request(lambda r: r.status is not None and r.status >= 400, timeout=15)
        loop = asyncio.get_running_loop()
        first_refusal = loop.time()
        job = await until(lambda: _final(bot.jobs.store, job_id), timeout=25, what="the job ended")
        ended_after = loop.time() - first_refusal
    async with running_bot(emu, fake, config) as bot:
        left_open = await bot.jobs.store.unfinished()
    return job, ended_after, left_open, rule, refused


async def _final(store, job_id):
    job = await store.get(job_id)
    return job if job.is_final else None


# (where the result is refused, status, Discord code): every request carrying the result gets it
RESULT_REFUSED = [
    ("webhook", 413, 40005), ("webhook", 400, 50035), ("webhook", 400, 50006), ("webhook", 403, 50013),
    ("webhook", 403, 50001), ("channel", 413, 40005), ("channel", 400, 50035),
]


@pytest.mark.parametrize("where,status,code", RESULT_REFUSED, ids=[f"{w}-{s}-{c}" for w, s, c in RESULT_REFUSED])
async def test_a_result_discord_refuses_for_good_ends_the_job_at_once_with_a_failure_naming_why(
        discord_emulator, fake_comfyui, bot_config, where, status, code):
    emu = discord_emulator
    route = webhook if where == "webhook" else channel_post
    job, ended_after, left_open, rule, _ = await run_one(
        emu, fake_comfyui, bot_config, past_token=where == "channel",
        inject=lambda e: e.inject_error(lambda r: route(r) and carries_result(r), status, code, "refused", times=99))
    assert job.state.value == "failed" and job.error_message == REFUSALS[code], job
    assert ended_after < AT_ONCE, f"ended {ended_after:.1f} s after the refusal: it was retried"
    assert rule.times == 98, f"the refused result was sent {99 - rule.times} times"
    view = seen(emu, job.id)
    assert view.kind == "failure" and view.reason == REFUSALS[code] and view.duplicates == 0, view
    assert not left_open, "the next start found the job open"


# (status, code) refusing every post in the job's channel (a private job's: its DMs)
CHANNEL_REFUSED = [(404, 10003, False), (403, 50001, False), (403, 50013, False), (403, 50007, True)]


@pytest.mark.parametrize("status,code,private", CHANNEL_REFUSED, ids=[str(c) for _, c, _ in CHANNEL_REFUSED])
async def test_an_outcome_no_post_can_show_still_ends_the_job_once_and_leaves_nothing_open(
        discord_emulator, fake_comfyui, bot_config, status, code, private):
    """Past the token the outcome can only be posted; when Discord refuses every post there
    (the channel is gone, the bot lost access, the user closed their DMs) the failure cannot
    be shown either: the job is ended (logged) rather than retried at every start."""
    emu = discord_emulator
    job, ended_after, left_open, rule, _ = await run_one(
        emu, fake_comfyui, bot_config, past_token=True, private=private,
        inject=lambda e: e.inject_error(channel_post, status, code, "refused", times=99))
    assert job.state.value == "failed" and job.error_message == REFUSALS[code], job
    assert ended_after < AT_ONCE, f"ended {ended_after:.1f} s after the refusal: it was retried"
    assert 99 - rule.times == 2, f"{99 - rule.times} posts: the result, then its plain failure, once each"
    assert not left_open, "the next start found the job open"


# the job's message or interaction is gone: a route that works exists, and the result arrives once
GONE = [(404, 10008), (404, 10015), (404, 10062), (401, 50027)]


@pytest.mark.parametrize("status,code", GONE, ids=[str(c) for _, c in GONE])
async def test_a_gone_message_or_interaction_still_gets_its_result_once_another_way(
        discord_emulator, fake_comfyui, bot_config, status, code):
    emu = discord_emulator
    job, _, left_open, rule, _ = await run_one(
        emu, fake_comfyui, bot_config,
        inject=lambda e: e.inject_error(lambda r: webhook(r) and carries_result(r), status, code, "gone", times=1))
    assert rule.times == 0
    view = seen(emu, job.id)
    assert job.state.value == "delivered" and view.kind == "result" and view.duplicates == 0, view
    assert not left_open


# (route, status): answers that may pass later; discord.py retries webhook 5xx itself, the bot the rest
TRANSIENT = [("webhook", 500), ("webhook", 502), ("webhook", 503), ("webhook", 504), ("channel", 500),
             ("channel", 503)]


@pytest.mark.parametrize("where,status", TRANSIENT, ids=[f"{w}-{s}" for w, s in TRANSIENT])
async def test_a_transient_answer_is_retried_and_the_result_arrives_once(
        discord_emulator, fake_comfyui, bot_config, where, status):
    emu = discord_emulator
    route = webhook if where == "webhook" else channel_post
    job, _, left_open, rule, refused = await run_one(
        emu, fake_comfyui, bot_config, past_token=where == "channel",
        inject=lambda e: e.inject_error(lambda r: route(r) and carries_result(r), status, 0, "try again", times=1))
    assert refused.status == status and rule.times == 0
    view = seen(emu, job.id)
    assert job.state.value == "delivered" and view.kind == "result" and view.duplicates == 0, view
    assert view.uploads == 1 and not left_open


async def test_a_transient_answer_after_the_message_turned_out_gone_retries_the_channel_post(
        discord_emulator, fake_comfyui, bot_config):
    """The job's message is gone (10008), so the delivery moves to a channel post; that post
    meets a 503. The retry continues the moved delivery rather than abandoning it to a restart."""
    emu = discord_emulator

    def inject(e):
        e.inject_error(channel_post, 503, 0, "try again", times=1)
        return e.inject_error(lambda r: webhook(r) and carries_result(r), 404, 10008, "Unknown Message", times=1)

    job, _, left_open, _, _ = await run_one(emu, fake_comfyui, bot_config, inject=inject)
    view = seen(emu, job.id)
    assert job.state.value == "delivered" and view.kind == "result" and view.uploads == 1, view
    assert not left_open
