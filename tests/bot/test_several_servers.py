"""Several ComfyUI servers behind one bot: routing by models, failover when one dies."""

from __future__ import annotations

import pytest_asyncio

from discomfy.testing.audit import jobs_in, seen
from discomfy.testing.bot_harness import build_config, install_models, running_bot
from discomfy.testing.fake_comfyui import FakeComfyUI
from tests.bot.support import no_open_jobs
from tests.faults.audit import until
from tests.conftest import REPO_ROOT


@pytest_asyncio.fixture
async def second_comfyui():
    fake = FakeComfyUI()
    await fake.start()
    yield fake
    await fake.stop()


def two_server_config(tmp_path, emu, first, second):
    servers = [{"name": "gpu1", "url": first.url}, {"name": "gpu2", "url": second.url}]
    return build_config(tmp_path, emulator=emu, comfyui_url=first.url, plugin_dirs=[REPO_ROOT / "plugins"],
                        workflow_dirs=[REPO_ROOT / "workflows"],
                        settings={"comfyui.servers": servers, "comfyui.health_interval": 0.2})


async def test_each_job_goes_to_the_server_that_has_its_model(tmp_path, discord_emulator, fake_comfyui, second_comfyui):
    emu = discord_emulator
    config = two_server_config(tmp_path, emu, fake_comfyui, second_comfyui)
    async with running_bot(emu, fake_comfyui, config) as bot:
        # gpu2 has only the SDXL checkpoint; gpu1 has everything
        second_comfyui.checkpoints = ["sd_xl_base_1.0.safetensors"]
        await bot.jobs.servers.refresh_object_info()
        flux = await emu.invoke("generate", {"prompt": "flux job", "seed": 1})
        await emu.wait_for_message(lambda m: m.id == flux.original_message.id and m.attachments, timeout=10)
        assert fake_comfyui.count("POST", "/prompt") == 1 and second_comfyui.count("POST", "/prompt") == 0
    assert not emu.violations and not emu.unhandled


async def test_a_server_dying_mid_job_moves_the_job_and_it_is_delivered(tmp_path, discord_emulator, fake_comfyui, second_comfyui):
    emu = discord_emulator
    config = two_server_config(tmp_path, emu, fake_comfyui, second_comfyui)
    async with running_bot(emu, fake_comfyui, config) as bot:
        install_models(second_comfyui, bot)
        await bot.jobs.servers.refresh_object_info()
        for fake in (fake_comfyui, second_comfyui):
            fake.simulate("SamplerCustomAdvanced", 40, 0.05)  # two seconds of sampling
        inter = await emu.invoke("generate", {"prompt": "survives a dead server", "seed": 5})
        first = await _server_of_running_job(bot)
        dead, alive = (fake_comfyui, second_comfyui) if first == "gpu1" else (second_comfyui, fake_comfyui)
        await dead.stop()
        result = await emu.wait_for_message(lambda m: m.id == inter.original_message.id and m.attachments, timeout=20)
        assert result.attachments[0].data.startswith(b"\x89PNG")
        assert alive.count("POST", "/prompt") == 1
        status = await emu.invoke("status")
        message = await emu.wait_for_message(lambda m: m.id == status.original_message.id and m.embeds, timeout=10)
        servers_field = message.embeds[0]["fields"][0]["value"]
        assert "not reachable" in servers_field and "reachable," in servers_field
    assert not emu.violations and not emu.unhandled


async def _server_of_running_job(bot):
    from tests.bot.test_restart_recovery import until

    async def running():
        jobs = await bot.jobs.store.unfinished()
        return jobs and jobs[0].prompt_id and jobs[0].server

    return await until(running)


async def test_the_only_server_dying_mid_job_fails_the_job_promptly_with_retry(discord_emulator, fake_comfyui, start_bot):
    emu = discord_emulator
    async with start_bot(**{"comfyui.health_interval": 0.2}) as bot:
        fake_comfyui.simulate("SamplerCustomAdvanced", 200, 0.05)  # ten seconds of sampling
        inter = await emu.invoke("generate", {"prompt": "never finishes", "seed": 9})
        await _server_of_running_job(bot)
        await fake_comfyui.stop()
        failed = await emu.wait_for_message(
            lambda m: m.id == inter.original_message.id and m.embeds and "failed" in m.embeds[0].get("title", ""),
            timeout=8)
        assert any(c.startswith("discomfy:retry:") for c in failed.custom_ids)
        assert await no_open_jobs(bot)
    assert not emu.violations and not emu.unhandled


async def test_a_job_waiting_for_a_server_that_stays_down_fails_at_its_deadline(discord_emulator, fake_comfyui, start_bot):
    emu = discord_emulator
    async with start_bot(**{"comfyui.health_interval": 0.2, "comfyui.job_deadline": 2.0}) as bot:
        fake_comfyui.simulate("SamplerCustomAdvanced", 200, 0.05)
        running = await emu.invoke("generate", {"prompt": "first", "seed": 1})
        waiting = await emu.invoke("generate", {"prompt": "second", "seed": 2}, user=emu.make_user("bob"))
        await _server_of_running_job(bot)
        await fake_comfyui.stop()
        for inter in (running, waiting):
            failed = await emu.wait_for_message(
                lambda m, i=inter: m.id == i.original_message.id and m.embeds and "failed" in m.embeds[0].get("title", ""),
                timeout=8)
            assert any(c.startswith("discomfy:retry:") for c in failed.custom_ids)
        assert "No image server could run your job" in failed.embeds[0]["description"]
        assert await no_open_jobs(bot)
    assert not emu.violations and not emu.unhandled


async def test_status_shows_what_each_server_holds_with_model_affinity(tmp_path, discord_emulator, fake_comfyui, second_comfyui):
    emu = discord_emulator
    config = two_server_config(tmp_path, emu, fake_comfyui, second_comfyui)
    config.set("comfyui.scheduling", "model_affinity")
    async with running_bot(emu, fake_comfyui, config) as bot:
        second_comfyui.checkpoints = ["sd_xl_base_1.0.safetensors"]
        await bot.jobs.servers.refresh_object_info()
        flux = await emu.invoke("generate", {"prompt": "flux job", "seed": 1})
        await emu.wait_for_message(lambda m: m.id == flux.original_message.id and m.attachments, timeout=10)
        status = await emu.invoke("status")
        message = await emu.wait_for_message(lambda m: m.id == status.original_message.id and m.embeds, timeout=10)
        lines = message.embeds[0]["fields"][0]["value"].splitlines()
        gpu1 = next(line for line in lines if line.startswith("**gpu1**"))
        gpu2 = next(line for line in lines if line.startswith("**gpu2**"))
        assert "holds" in gpu1 and "flux1-dev" in gpu1  # the FLUX job's models stay loaded there
        assert "holds" not in gpu2
    assert not emu.violations and not emu.unhandled


async def test_a_server_dying_while_the_result_is_being_delivered_does_not_cut_the_delivery_off(
        tmp_path, discord_emulator, fake_comfyui, second_comfyui):
    """ComfyUI finished; the result is on its way to Discord (slowed by a 429) when the server
    dies. Failover must let that delivery finish -- one result, no failure, no second run's
    failure message -- instead of cutting it off and leaving the job open."""
    emu = discord_emulator
    config = two_server_config(tmp_path, emu, fake_comfyui, second_comfyui)
    async with running_bot(emu, fake_comfyui, config) as bot:
        install_models(second_comfyui, bot)
        await bot.jobs.servers.refresh_object_info()
        limited = emu.inject_429(lambda r: r.method == "PATCH" and any(p.filename != "preview.jpg" for p in r.files),
                                 retry_after=1.5, times=1)
        inter = await emu.invoke("generate", {"prompt": "delivered while its server dies", "seed": 4})

        async def delivering():
            job = await bot.jobs.store.get(_job_of(inter))
            return job.delivery_intent is not None and job

        job = await until(delivering, what="the delivery intent")
        dead = fake_comfyui if job.server == "gpu1" else second_comfyui
        await dead.stop()  # the health check (every 0.2 s) sees it during the 1.5 s upload
        await emu.wait_for_message(lambda m: m.id == inter.original_message.id and m.attachments, timeout=10)
        assert await no_open_jobs(bot)
        final = await bot.jobs.store.get(job.id)
    assert limited.times == 0, "the result upload must have been slowed while the server died"
    view = seen(emu, job.id)
    assert final.state.value == "delivered" and view.kind == "result" and view.duplicates == 0, (final.state, view)
    assert not emu.violations and not emu.unhandled


def _job_of(inter) -> str:
    (job_id,) = jobs_in(inter.original_message)
    return job_id
