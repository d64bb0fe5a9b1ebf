"""The bot process stopped and started while jobs are in every state at once.

One restart finds: a job that finished on ComfyUI while the bot was down, a job still running
there, a text-only job waiting in the bot's own queue, and two image edits waiting in that
queue whose upload only ever existed in the old process's memory: one is read again from where
Discord serves it, the other's file is gone from Discord by then. A second restart happens in
the middle of recovery itself. Each job must end exactly once, visibly.
"""

from __future__ import annotations

import io

from PIL import Image

from discomfy.core.jobs.store import JobStore
from discomfy.testing.bot_harness import running_bot
from tests.faults.audit import settle, until

SAMPLER = ("SamplerCustomAdvanced", 20, 0.05)  # about a second per /generate job


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(buffer, "PNG")
    return buffer.getvalue()


async def job_of(store: JobStore, user) -> object:
    (job,) = await store.jobs_for_user(int(user.id), active_only=False)
    return job


async def test_restart_with_jobs_in_every_state_ends_each_exactly_once(discord_emulator, fake_comfyui, bot_config,
                                                                       fault_figures, request):
    emu, fake = discord_emulator, fake_comfyui
    bot_config.set("comfyui.max_running_per_server", 2)  # two prompts on ComfyUI, the rest wait with us
    fake.simulate(*SAMPLER)
    fake.simulate("KSampler", 20, 0.05)
    fake.hold_at(SAMPLER[0])  # no /generate prompt finishes before the test lets it, however slow the machine
    names = ("a", "b", "c", "d", "e")
    done_meanwhile, still_running, waiting, waiting_edit, edit_file_gone = users = [emu.make_user(n) for n in names]
    async with running_bot(emu, fake, bot_config) as bot:
        for user in (done_meanwhile, still_running, waiting):
            await emu.invoke("generate", {"prompt": f"job of {user.name}"}, user=user)
        for user, name in ((waiting_edit, "cat.png"), (edit_file_gone, "dog.png")):
            await emu.invoke("editflux", {"prompt": "add a hat"}, user=user,
                             attachments={"image": (name, png_bytes(), "image/png")})

        async def two_on_comfyui() -> bool:
            return all([(await job_of(bot.jobs.store, u)).prompt_id for u in (done_meanwhile, still_running)])

        await until(two_on_comfyui, what="two jobs queued on ComfyUI")
        first = await job_of(bot.jobs.store, done_meanwhile)
        second = await job_of(bot.jobs.store, still_running)
    # the bot is down; ComfyUI finishes the first prompt and starts the second, which it holds:
    # the first is let go and the next sampler held again in one step, with nothing run between
    fake.clear_faults()
    fake.hold_at(SAMPLER[0])
    await until(lambda: first.prompt_id in fake.worker.history, what="first prompt finished while the bot was down")
    assert second.prompt_id not in fake.worker.history
    async with JobStore.from_config(bot_config) as store:
        states = {u.name: (await job_of(store, u)).state.value for u in users}
    assert states == {"a": "running", "b": "running", "c": "queued", "d": "queued", "e": "queued"}, states
    for key in [k for k, att in emu.cdn.items() if att.filename == "dog.png"]:
        del emu.cdn[key]  # Discord no longer serves e's attachment

    async with running_bot(emu, fake, bot_config) as bot:
        fake.clear_faults()  # the second prompt, followed again, and the requeued ones run to their end
        settled = await settle(bot.jobs.store, users, emu=emu, at_least=5, timeout=30)
    audit = await fault_figures.audit(request, emu, bot_config, users, faults=1)
    assert settled, audit.explain()
    outcome = {v.job_id: v for v in audit.verdicts}
    async with JobStore.from_config(bot_config) as store:
        by_user = {u.name: outcome[(await job_of(store, u)).id] for u in users}
    assert [by_user[n].state for n in "abcd"] == ["delivered"] * 4, audit.explain()
    assert by_user["e"].state == "failed" and "run the command again" in by_user["e"].reason, audit.explain()
    assert not emu.violations and not emu.unhandled


async def test_bot_stopped_again_during_recovery_still_delivers_once(discord_emulator, fake_comfyui, bot_config,
                                                                     fault_figures, request):
    emu, fake = discord_emulator, fake_comfyui
    fake.simulate(*SAMPLER)
    users = [emu.make_user(f"user{i}") for i in range(3)]
    restarts = 0
    async with running_bot(emu, fake, bot_config) as bot:
        for user in users:
            await emu.invoke("generate", {"prompt": f"job of {user.name}"}, user=user)
        await until(lambda: _any_prompt(bot.jobs.store, users), what="a job on ComfyUI")
    for _ in range(2):  # start, let recovery begin, stop again before everything is done
        restarts += 1
        async with running_bot(emu, fake, bot_config) as bot:
            await until(lambda: _any_prompt(bot.jobs.store, users), what="recovery re-attached a job")
    restarts += 1
    async with running_bot(emu, fake, bot_config) as bot:
        settled = await settle(bot.jobs.store, users, emu=emu, at_least=3, timeout=40)
    audit = await fault_figures.audit(request, emu, bot_config, users, faults=restarts)
    assert settled, audit.explain()
    assert audit.delivered == 3, audit.explain()
    assert not emu.violations and not emu.unhandled


async def _any_prompt(store: JobStore, users) -> bool:
    for user in users:
        jobs = await store.jobs_for_user(int(user.id), active_only=False)
        if any(j.prompt_id for j in jobs):
            return True
    return False


async def test_bot_restarted_while_comfyui_is_down_follows_the_job_once_it_is_back(
        discord_emulator, fake_comfyui, bot_config, fault_figures, request):
    """Both processes restarted (a host reboot): the bot comes up first and cannot ask ComfyUI
    about its job; when ComfyUI is back with the prompt still queued, the job is delivered."""
    emu, fake = discord_emulator, fake_comfyui
    fake.simulate(*SAMPLER)
    user = emu.make_user("rebooted")
    async with running_bot(emu, fake, bot_config) as bot:
        await emu.invoke("generate", {"prompt": "survives a reboot"}, user=user)
        await until(lambda: _any_prompt(bot.jobs.store, [user]), what="the job on ComfyUI")
    kept = [item for item in (fake.worker.running, *fake.worker.pending) if item is not None]
    await fake.stop()
    async with running_bot(emu, fake, bot_config) as bot:
        await fake.start()  # back with its persisted queue, the bot already running
        for item in kept:
            fake.worker.put(item)
        settled = await settle(bot.jobs.store, [user], emu=emu, timeout=20)
    audit = await fault_figures.audit(request, emu, bot_config, [user], faults=2)
    assert settled and audit.delivered == 1, audit.explain()
    assert not emu.violations and not emu.unhandled
