"""Running the real bot between the Discord emulator and the fake ComfyUI.

``running_bot`` builds a config for a project folder (plugins, packs, job store in it), points
it at both stand-ins, installs on the fake every model file the loaded workflows name, and
starts the bot exactly as ``discomfy run`` does. Tests then talk to it only through the
emulator, so what they check is what a Discord user would see.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

from discomfy.bot.client import ComfyUIBot
from discomfy.config import get_config, override
from discomfy.testing.fake_comfyui import FakeComfyUI
from discomfy.testing.fake_comfyui.catalog import model_folder

TEST_SETTINGS: dict[str, Any] = {
    "progress.edit_interval": 0.05,
    "comfyui.request_timeout": 5.0,
    "comfyui.job_deadline": 60.0,
    "comfyui.reconnect_max_delay": 0.5,
    # the community plugin's NSFW classifier costs CPU on every result; tests about moderation
    # turn it back on ("nsfw_channels", the shipped default)
    "community.nsfw_policy": "everywhere",
}


def build_config(root: Path, *, emulator: Any, comfyui_url: str, plugin_dirs: list[Path] | None = None,
                 workflow_dirs: list[Path] | None = None, settings: dict[str, Any] | None = None,
                 store_dir: Path | None = None) -> Any:
    """A config for ``root`` wired to the emulator and the fake; ``settings`` override keys.
    The job store goes to ``store_dir`` (default: ``root``)."""
    config = get_config(root)
    values: dict[str, Any] = {
        "discord.token": emulator.token,
        "discord.api_base": emulator.api_base,
        "discord.gateway_url": emulator.gateway_url,
        "discord.dev_guild_id": int(emulator.guild_id),
        "comfyui.url": comfyui_url,
        "jobs.store_path": str((store_dir or root) / "jobs.sqlite3"),
        **TEST_SETTINGS,
    }
    if plugin_dirs is not None:
        values["plugins.dirs"] = [str(p) for p in plugin_dirs]
    if workflow_dirs is not None:
        values["plugins.workflow_dirs"] = [str(p) for p in workflow_dirs]
    values.update(settings or {})
    for key, value in values.items():
        override(config, key, value)
    return config


def install_models(fake: FakeComfyUI, bot: ComfyUIBot) -> None:
    """Put every model file the bot's workflows need on the fake server."""
    install_model_files(fake, [needed for spec in bot.plugins.workflows.all().values() for needed in spec.model_files])


def install_model_files(fake: FakeComfyUI, model_files: Iterable[Any]) -> None:
    """Put these ``ModelFile``s (a workflow spec's ``model_files``) in the fake's model folders."""
    for needed in model_files:
        folder = model_folder(needed.node_class, needed.input)
        if folder and needed.filename not in fake.models.setdefault(folder, []):
            fake.models[folder].append(needed.filename)


@contextlib.asynccontextmanager
async def running_bot(emulator: Any, fake: FakeComfyUI, config: Any, **bot_options: Any) -> AsyncIterator[ComfyUIBot]:
    bot = ComfyUIBot(config, **bot_options)
    bot.discord_clock = emulator.clock.now  # Discord's time is the emulator's (tests advance it)
    original = bot.plugins.load

    async def load_then_install() -> Any:
        report = await original()
        install_models(fake, bot)
        return report

    bot.plugins.load = load_then_install  # type: ignore[method-assign]
    async with emulator.run_bot(bot):
        yield bot
