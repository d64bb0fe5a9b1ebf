"""Which ComfyUI the playground's bot uses: the configured server(s) if they answer, else the fake.

The built-in fake speaks ComfyUI's real protocol and draws placeholder images; it is given every
model file the loaded workflows name, so every command runs. The page shows a banner whenever
the fake is in use, saying how to point the playground at a real server instead.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from typing import Any

import aiohttp

from discomfy.bot.offline import load_offline
from discomfy.core.comfyui.workflows.loading import load_manifest
from discomfy.core.comfyui.workflows.manifest import MANIFEST_NAME
from discomfy.exceptions import DisComfyError
from discomfy.shipped import folders
from discomfy.testing.bot_harness import install_model_files, install_models
from discomfy.testing.fake_comfyui import FakeComfyUI

PROBE_TIMEOUT = 2.0  # seconds a configured server gets to answer GET /system_stats
#: Seconds per sampling step on the fake: a /generate takes a few seconds, so progress is visible.
PLACEHOLDER_STEP_DELAY = 0.12


@dataclasses.dataclass
class ComfyUIChoice:
    urls: list[str]  # what the bot is pointed at
    fake: FakeComfyUI | None = None
    banner: str | None = None  # shown on the page (and printed) when the images are placeholders

    async def close(self) -> None:
        if self.fake is not None:
            await self.fake.stop()

    def refresh_models(self, config: Any) -> None:
        """Give the fake the model files of workflows added since it started (a pack dropped in
        under ``--dev``); a real server has what its owner installed.

        Reads the manifests in the folders ``--dev`` watches rather than loading the plugins
        again: a second load in this process would swap the running bot's plugin modules."""
        if self.fake is None:
            return

        for folder in [*folders(config, "dirs"), *folders(config, "workflow_dirs")]:
            for manifest in sorted(folder.glob(f"*/{MANIFEST_NAME}")):
                try:
                    spec = load_manifest(manifest, check=False)
                except (DisComfyError, OSError, ValueError):
                    continue  # the bot's reload reports a broken pack, with its reason
                install_model_files(self.fake, spec.model_files)


def configured_urls(config: Any) -> list[str]:
    """``comfyui.servers`` (URLs or ``{name, url}`` tables), else ``comfyui.url``."""
    servers = list(config.comfyui.servers or [])
    if not servers:
        return [str(config.comfyui.url)]
    return [str(s.get("url") if isinstance(s, Mapping) else s) for s in servers]


async def answers(url: str, timeout: float = PROBE_TIMEOUT) -> bool:
    """True when ``url`` answers ComfyUI's ``GET /system_stats`` with JSON."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
            async with session.get(url.rstrip("/") + "/system_stats") as response:
                if response.status != 200:
                    return False
                await response.json(content_type=None)
                return True
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
        return False


async def choose_comfyui(config: Any, *, probe_timeout: float = PROBE_TIMEOUT) -> ComfyUIChoice:
    urls = configured_urls(config)
    up = await asyncio.gather(*(answers(url, probe_timeout) for url in urls))
    if any(up):
        return ComfyUIChoice(urls=urls)
    fake = FakeComfyUI(step_delay=PLACEHOLDER_STEP_DELAY, preview_frames=True)
    await fake.start()
    try:
        await _install_models(config, fake)
    except BaseException:
        await fake.stop()
        raise
    tried = ", ".join(urls)
    banner = (f"No ComfyUI server answered at {tried}, so the images are placeholders drawn by the built-in "
              "fake ComfyUI. To use a real server, set comfyui.url in settings.toml "
              "(or DISCOMFY_COMFYUI__URL=http://host:8188) and start discomfy play again.")
    return ComfyUIChoice(urls=[fake.url], fake=fake, banner=banner)


async def _install_models(config: Any, fake: FakeComfyUI) -> None:
    """Give the fake every model file the workflows need, learnt by loading the plugins offline
    exactly as ``discomfy check`` does."""

    probe = await load_offline(config)
    try:
        install_models(fake, probe)
    finally:
        await probe.close()
