"""``ComfyUIBot``: the discord.py bot, and the one object the rest of DisComfy is handed.

It owns the config and Discord; plugins live in a :class:`~discomfy.bot.plugin_host.PluginHost`
(``bot.plugins``: the plugin manager, the load report, the workflow catalog, rendering) and jobs
in a :class:`~discomfy.bot.job_runner.JobRunner` (``bot.jobs``: the store, the queue, the
servers, the generation flow). Callers reach those two directly; the bot forwards nothing to
them, so what it declares itself is only what discord.py and API.md ask of it.

Nothing here is global: ``discomfy run`` and the tests both build a config, hand it to this
class and start it the same way (the settings may point discord.py at another API base and
gateway, which is how tests reach the loopback emulator).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import discord
from discord.ext import commands

from discomfy.bot.access import DisComfyTree
from discomfy.bot.button_actions import ButtonActions
from discomfy.bot.discord_endpoints import point_discord_at
from discomfy.bot.job_runner import JobRunner
from discomfy.bot.log_redaction import redact_tokens
from discomfy.bot.plugin_host import PluginHost
from discomfy.bot.default_actions import DefaultResultActions
from discomfy.bot.result_actions import ActionRegistry
from discomfy.bot.result_forms import FormSubmissions
from discomfy.bot.views import JobButton
from discomfy.core.validators.image import ImageValidator
from discomfy.ops.deliveries import Deliveries
from discomfy.ops.loop_lag import LoopLag
from discomfy.ops.metrics import BotMetrics
from discomfy.ops.observers import attach, discord_trace
from discomfy.utils.rate_limit import RateLimitConfig, RateLimiter

log = logging.getLogger(__name__)

# DisComfy never joins voice; don't warn every start that voice libraries are absent.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False


class ComfyUIBot(commands.Bot):
    """The bot: Discord's side, with plugins (``self.plugins``) and jobs (``self.jobs``)."""

    def __init__(self, config: Any, *, plugin_manager: Any = None, dev: bool = False, **options: Any) -> None:
        options.setdefault("intents", discord.Intents.default())
        options.setdefault("help_command", None)
        options.setdefault("tree_cls", DisComfyTree)
        # the bot never reads discord.py's message cache; its 1,000 messages only cost memory
        options.setdefault("max_messages", None)
        # this bot's own metrics registry; its trace counts Discord's 429s on discord.py's session
        self.metrics = BotMetrics()
        options.setdefault("http_trace", discord_trace(self.metrics))
        super().__init__(command_prefix=commands.when_mentioned, **options)
        self.config = config
        self.dev = dev
        # Discord's idea of now, for the 3 s and 15 min interaction windows (tests use the emulator's)
        self.discord_clock = time.time
        self.rate_limiter = RateLimiter(RateLimitConfig.from_config(config))
        self.image_validator = ImageValidator.from_config(config)
        self.plugins = PluginHost(self, plugin_manager)
        self.jobs = JobRunner(self)
        self.button_actions = ButtonActions(self)
        self.result_actions = ActionRegistry(self.plugins.manager)
        self.plugins.manager.register(DefaultResultActions(self), name="discomfy-result-actions")
        FormSubmissions(self)  # listens for the forms that ResultForm buttons open
        self.deliveries = Deliveries()  # what a graceful stop waits for
        self.loop_lag = LoopLag(self.metrics)
        self.stopping = False  # set on SIGTERM: commands are answered "restarting" (discomfy.ops.stop)
        attach(self, self.metrics)

    # --- plugins: pluggy in step with discord.py's cogs -------------------------------------

    async def add_cog(self, cog: commands.Cog, /, **kwargs: Any) -> None:
        self.plugins.adding_cog(cog)
        try:
            await super().add_cog(cog, **kwargs)
        except BaseException:
            self.plugins.removed_cog(cog)
            raise

    async def remove_cog(self, name: str, /, **kwargs: Any) -> commands.Cog | None:
        cog = await super().remove_cog(name, **kwargs)
        self.plugins.removed_cog(cog)
        return cog

    def check_access_to_generate(self, user_id: int) -> None:
        """Raise ``RateLimitError`` if the user may not start a job right now (no side effect)."""
        if not self._check_rate_limit(user_id):
            self.rate_limiter.acquire(user_id)  # raises with the user-facing wording

    def _check_rate_limit(self, user_id: int) -> bool:
        """True when ``user_id`` may start another generation now (API.md)."""
        return self.rate_limiter.retry_after(user_id) <= 0

    # --- lifecycle --------------------------------------------------------------------------

    async def login(self, token: str) -> None:
        redact_tokens(token)
        point_discord_at(self.config.discord.api_base, self.config.discord.gateway_url)
        await super().login(token)

    async def setup_hook(self) -> None:
        # first: opening the store and checking every server may take request_timeout, and /healthz
        # must not call a bot whose loop runs fine stalled meanwhile
        self.jobs.keep(asyncio.create_task(self.loop_lag.run(), name="loop-lag"))
        await self.jobs.open()
        report = await self.plugins.load()  # through the attribute: the test harness wraps it
        log.info("%s", report.format())
        self.add_dynamic_items(JobButton)
        await self.plugins.syncer.sync_on_start()
        await self.jobs.start()
        if self.dev:
            self.plugins.watch()

    async def close(self) -> None:
        await self.plugins.close()
        await self.jobs.close()
        await super().close()
