"""The container image, built and run with podman as an operator would run it.

One scenario, because building the image is the expensive part: the image's ``discomfy check``
lists every shipped plugin; the bot in a container (host network, configured by environment
variables and a mounted secrets file, job store on a named volume) completes a /generate against
the emulator and the fake ComfyUI of this test; a second /generate is interrupted by stopping the
container mid-job, and a new container on the same volume delivers that job exactly once.

Exhaustive (deselected by a plain ``pytest``): the first build on a machine also makes the base
image, and every build installs the dependencies.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest

from discomfy.bot.offline import load_offline
from discomfy.testing.audit import jobs_in, seen
from discomfy.testing.bot_harness import build_config, install_models
from discomfy.testing.playground import free_port
from tests.bot.support import embed_text, is_result, wait_result
from tests.conftest import REPO_ROOT
from tests.ops.podman import Podman
from tests.ops.wheel import shipped_plugins

pytestmark = [pytest.mark.exhaustive, pytest.mark.timeout(1800)]

IMAGE = "localhost/discomfy:test"
# a /generate that takes 20 s on the fake: longer than `podman stop` waits before it kills
SLOW_SAMPLER = ("SamplerCustomAdvanced", 40, 0.5)


@pytest.fixture
def podman(tmp_path: Path) -> Podman:
    return Podman(tmp_path)


@pytest.fixture
def volume(podman: Podman):
    name = f"discomfy-test-{uuid.uuid4().hex[:8]}"
    podman("volume", "create", name)
    yield name
    podman("volume", "rm", "-f", name, check=False)


class BotContainer:
    """``podman run`` of the image as compose.yaml runs it, pointed at this test's stand-ins."""

    def __init__(self, podman: Podman, emu, fake, volume: str, secrets: Path) -> None:
        self.podman, self.emu, self.names = podman, emu, []
        self.args = [
            "--network=host", "-v", f"{volume}:/data", "-v", f"{secrets}:/config/.secrets.toml:ro",
            "-e", f"DISCOMFY_DISCORD__API_BASE={emu.api_base}", "-e", f"DISCOMFY_DISCORD__GATEWAY_URL={emu.gateway_url}",
            "-e", f"DISCOMFY_DISCORD__DEV_GUILD_ID={emu.guild_id}", "-e", f"DISCOMFY_COMFYUI__URL={fake.url}",
            "-e", f"DISCOMFY_OPS__PORT={free_port()}",  # the host's network: not the default 8700 others may hold
            "-e", "DISCOMFY_PROGRESS__EDIT_INTERVAL=0.2", "-e", "DISCOMFY_COMFYUI__RECONNECT_MAX_DELAY=0.5",
        ]

    async def start(self) -> str:
        name = f"discomfy-test-{uuid.uuid4().hex[:8]}"
        self.names.append(name)
        self.emu.gateway.guild_sent.clear()
        await asyncio.to_thread(self.podman, "run", "-d", "--name", name, *self.args, IMAGE)
        await self.until_connected(name)
        return name

    async def until_connected(self, name: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not (self.emu.gateway.guild_sent.is_set() and any(c["name"] == "generate" for c in self.emu.commands)):
            assert time.monotonic() < deadline, f"the bot in {name} did not connect:\n{self.logs(name)}"
            state = (await asyncio.to_thread(self.podman, "inspect", "--format", "{{.State.Status}}", name)).stdout
            assert state.strip() == "running", f"the container {name} is {state.strip()}:\n{self.logs(name)}"
            await asyncio.sleep(0.5)

    def logs(self, name: str) -> str:
        result = self.podman("logs", name, check=False)
        return (result.stdout + result.stderr)[-6000:]

    def remove_all(self) -> None:
        for name in self.names:
            self.podman("rm", "-f", "-t", "0", name, check=False)


async def install_shipped_models(tmp_path: Path, emu, fake) -> None:
    """Give the fake ComfyUI every model file the shipped workflows name."""
    config = build_config(tmp_path, emulator=emu, comfyui_url=fake.url, plugin_dirs=[REPO_ROOT / "plugins"],
                          workflow_dirs=[REPO_ROOT / "workflows"])
    bot = await load_offline(config)
    try:
        install_models(fake, bot)
    finally:
        await bot.close()


async def test_the_image_checks_serves_and_delivers_a_job_interrupted_by_a_container_stop_once(
        podman, volume, tmp_path, discord_emulator, fake_comfyui, record_property):
    emu, fake = discord_emulator, fake_comfyui
    started = time.monotonic()
    await asyncio.to_thread(podman.build, REPO_ROOT, IMAGE)
    built = f"image built in {time.monotonic() - started:.0f} s, {podman.image_size(IMAGE) / 1e6:.0f} MB"
    record_property("image", built)
    print(built)

    check = await asyncio.to_thread(podman, "run", "--rm", "--network=host", IMAGE, "check")
    for name in shipped_plugins():
        assert f"loaded   {name:<16} (" in check.stdout, check.stdout
    assert check.stdout.rstrip().endswith("Everything loaded."), check.stdout

    await install_shipped_models(tmp_path, emu, fake)
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'[discord]\ntoken = "{emu.token}"\n')
    secrets.chmod(0o644)  # the container's user (uid 10001) reads it
    bots = BotContainer(podman, emu, fake, volume, secrets)
    try:
        first = await bots.start()
        healthy = await asyncio.to_thread(podman, "healthcheck", "run", first, check=False)
        assert healthy.returncode == 0, f"HEALTHCHECK failed: {healthy.stdout}{healthy.stderr}\n{bots.logs(first)}"
        await wait_result(emu, await emu.invoke("generate", {"prompt": "a lighthouse at dusk"}), timeout=60)

        fake.simulate(*SLOW_SAMPLER)
        inter = await emu.invoke("generate", {"prompt": "a harbour at night"})
        progress = await emu.wait_for_message(
            lambda m: m.id == inter.original_message.id and "Step" in embed_text(m), timeout=60)
        (job,) = jobs_in(progress)
        await asyncio.to_thread(podman, "stop", "-t", "10", first)
        assert not is_result(emu.messages[progress.id]), "the job finished before the container stopped"

        await bots.start()  # a new container on the same volume
        await emu.wait_for_message(lambda m: job in jobs_in(m) and is_result(m), timeout=60)
        await asyncio.sleep(2)  # a second delivery would come now
        outcome = seen(emu, job)
        assert outcome.kind == "result" and outcome.duplicates == 0, (outcome, bots.logs(bots.names[-1]))
        assert not emu.violations, emu.violations
    finally:
        bots.remove_all()
        podman("rmi", "-f", IMAGE, check=False)  # 460 MB; the next run builds from its own sources anyway
