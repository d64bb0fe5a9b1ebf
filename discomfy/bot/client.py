"""``ComfyUIBot``: the discord.py bot that owns config, plugins, ComfyUI and the job machinery.

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
from discomfy.bot.command_sync import CommandSyncer
from discomfy.bot.generation import GenerationFlow
from discomfy.bot.views import JobButton
from discomfy.core.catalog import WorkflowCatalog
from discomfy.core.comfyui.workflows.strategies import builtin_strategies
from discomfy.core.job_store import JobStore
from discomfy.core.jobs import JobState
from discomfy.core.queue import FairQueue
from discomfy.core.failover import Failover
from discomfy.core.servers import ServerPool
from discomfy.core.validators.image import ImageValidator
from discomfy.hookspecs import hookimpl
from discomfy.plugins import LoadReport, make_plugin_manager
from discomfy.utils.rate_limit import RateLimitConfig, RateLimiter
from discomfy.utils.tasks import cancel_and_wait

log = logging.getLogger(__name__)

# DisComfy never joins voice; don't warn every start that voice libraries are absent.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False


STORE_BUSY_TIMEOUT = 1.0  # seconds to wait for a lock held by another process
STOP_DELIVERY_TIMEOUT = 8.0  # a failover waits this long for a delivery under way (its limit is 10 s)


class BuiltinStrategies:
    """The built-in updater strategies, offered through the same hook plugins use."""

    @hookimpl
    def discomfy_register_strategies(self) -> list[Any]:
        return builtin_strategies()


class ComfyUIBot(commands.Bot):
    """The bot. Its ``add_cog``/``remove_cog`` keep the pluggy manager in step with discord.py,
    so a cog instance *is* the plugin: loading, unloading and reloading an extension registers,
    unregisters and re-registers its hooks atomically with its commands."""

    def __init__(self, config: Any, *, plugin_manager: Any = None, dev: bool = False, **options: Any) -> None:
        options.setdefault("intents", discord.Intents.default())
        options.setdefault("help_command", None)
        options.setdefault("tree_cls", DisComfyTree)
        # the bot never reads discord.py's message cache; its 1,000 messages only cost memory
        options.setdefault("max_messages", None)
        super().__init__(command_prefix=commands.when_mentioned, **options)
        self.config = config
        self.plugin_manager = plugin_manager or make_plugin_manager()
        self.load_report = LoadReport()
        # extension module -> plugin name, and pluggy registration name -> owning plugin
        self.extension_plugins: dict[str, str] = {}
        self.plugin_owners: dict[str, str] = {}
        # slash command name -> plugin that owns it (to name both owners on a clash)
        self.command_owners: dict[str, str] = {}
        self.dev = dev
        # Discord's idea of now, for the 3 s and 15 min interaction windows (tests use the emulator's)
        self.discord_clock = time.time
        self.plugin_manager.register(BuiltinStrategies(), name="discomfy-strategies")
        self.workflows = WorkflowCatalog(self.plugin_manager)
        self.command_syncer = CommandSyncer(self)
        self.rate_limiter = RateLimiter(RateLimitConfig.from_config(config))
        self.image_validator = ImageValidator.from_config(config)
        self.job_queue = FairQueue.from_config(config)
        self.generation = GenerationFlow(self)
        self.button_actions = ButtonActions(self)
        self.servers = ServerPool.from_config(config, job_queue=self.job_queue)
        self.failover = Failover.from_config(config, self.job_queue, self.servers, stop_run=self._stop_run)
        # a locked store must fail fast: a job is stored inside Discord's 3-second window
        self.store = JobStore.from_config(config, busy_timeout=STORE_BUSY_TIMEOUT)
        self._background: list[asyncio.Task[Any]] = []
        self.reloader: Any = None  # the hot reloader, with `discomfy run --dev`

    # --- plugins ----------------------------------------------------------------------------

    def plugin_name_of(self, obj: Any) -> str:
        """The plugin a cog or module belongs to, from the extension that defined it."""
        if getattr(obj, "plugin_owner", None):
            return obj.plugin_owner
        module = getattr(obj, "__module__", None) or type(obj).__module__
        for extension, plugin in self.extension_plugins.items():
            if module == extension or module.startswith(extension + "."):
                return plugin
        return module

    async def add_cog(self, cog: commands.Cog, /, **kwargs: Any) -> None:
        owner = self.plugin_name_of(cog)
        name = f"{owner}:{cog.qualified_name}"
        self._claim_commands(cog, owner)
        self.plugin_manager.register(cog, name=name)
        self.plugin_owners[name] = owner
        try:
            await super().add_cog(cog, **kwargs)
        except BaseException:
            self.plugin_manager.unregister(cog)
            self.plugin_owners.pop(name, None)
            self._release_commands(owner)
            raise

    async def remove_cog(self, name: str, /, **kwargs: Any) -> commands.Cog | None:
        cog = await super().remove_cog(name, **kwargs)
        if cog is not None and self.plugin_manager.is_registered(cog):
            plugin_name = self.plugin_manager.get_name(cog)
            self.plugin_manager.unregister(cog)
            owner = self.plugin_owners.pop(plugin_name, None)
            if owner is not None and owner not in self.plugin_owners.values():
                self._release_commands(owner)
        return cog

    def _claim_commands(self, cog: commands.Cog, owner: str) -> None:
        """Refuse a cog whose slash command another plugin already owns, naming both."""
        names = [c.name for c in cog.get_app_commands()]
        for command_name in names:
            current = self.command_owners.get(command_name)
            if current is not None and current != owner:
                raise discord.ClientException(
                    f"duplicate command /{command_name}: owned by plugin {current!r} and by plugin {owner!r}; "
                    "disable one in settings (plugins.disabled) or rename its command"
                )
        for command_name in names:
            self.command_owners[command_name] = owner

    def _release_commands(self, owner: str) -> None:
        for command_name in [n for n, o in self.command_owners.items() if o == owner]:
            del self.command_owners[command_name]

    async def load_plugins(self) -> LoadReport:
        """Load every plugin the settings point at; the report says what happened to each."""
        from discomfy.bot.plugin_loading import load_plugins

        return await load_plugins(self)

    # --- what plugins and the generation flow ask the bot -----------------------------------

    def autocompleters(self) -> dict[str, Any]:
        """Parameter name -> async provider, from every plugin's ``discomfy_register_autocomplete``."""
        merged: dict[str, Any] = {}
        for result in self.plugin_manager.hook.discomfy_register_autocomplete():
            merged.update(result or {})
        return merged

    def render(self, spec: Any, options: dict[str, Any], user_id: int) -> Any:
        """Validate options against the workflow's schema and render its graph (no I/O)."""
        def prepare(values: dict[str, Any]) -> None:
            self.plugin_manager.hook.discomfy_prepare_parameters(workflow=spec, parameters=values, user_id=user_id)

        return self.updater().render(spec, options, prepare=prepare)

    def updater(self) -> Any:
        from discomfy.core.comfyui.workflows.updater import WorkflowUpdater

        return WorkflowUpdater(self.workflows.registry())

    def edit_targets(self) -> list[tuple[str, str]]:
        """(workflow name, label) of every loaded workflow that edits an image: the result
        buttons offer them, whichever plugins provide them."""
        return [(spec.name, spec.model) for spec in self.workflows.all().values() if spec.image_parameters]

    def check_access_to_generate(self, user_id: int) -> None:
        """Raise ``RateLimitError`` if the user may not start a job right now (no side effect)."""
        if not self._check_rate_limit(user_id):
            self.rate_limiter.acquire(user_id)  # raises with the user-facing wording

    def _check_rate_limit(self, user_id: int) -> bool:
        """True when ``user_id`` may start another generation now (API.md)."""
        return self.rate_limiter.retry_after(user_id) <= 0

    async def _create_unified_progress_callback(self, interaction: discord.Interaction, title: str, prompt: str | None, settings: Any = None) -> Any:
        """A callback ``(ProgressState fields) -> None`` that keeps one progress message current,
        throttled by ``progress.edit_interval`` (API.md). Used by the generation flow for every
        job; plugins with custom flows can use it too."""
        from discomfy.bot.progress import ThrottledEditor

        async def edit(embed: discord.Embed, files: list[discord.File]) -> None:
            await interaction.edit_original_response(embed=embed, attachments=files)

        interval = float(getattr(settings, "edit_interval", None) or self.config.progress.edit_interval)
        editor = ThrottledEditor(title, prompt, edit, interval=interval)
        return editor.update


    async def cancel_job(self, job: Any) -> bool:
        """Cancel a waiting or running job; False when it was too late."""
        return await self.generation.cancel(job)

    # --- lifecycle --------------------------------------------------------------------------

    async def login(self, token: str) -> None:
        from discomfy.bot.discord_endpoints import point_discord_at
        from discomfy.bot.log_redaction import redact_tokens

        redact_tokens(token)
        point_discord_at(self.config.discord.api_base, self.config.discord.gateway_url)
        await super().login(token)

    async def setup_hook(self) -> None:
        await self.store.open()
        pruned = await self.store.prune(float(self.config.jobs.prune_after_days))
        if pruned:
            log.info("pruned %d finished jobs older than %s days", pruned, self.config.jobs.prune_after_days)
        self.failover.attach(on_report=self._tell_failover)
        await self.servers.start()
        self._background.append(asyncio.create_task(self.servers.watch(), name="server-health"))
        self._background.append(asyncio.create_task(self._expire_waiting_jobs(), name="queue-deadline"))
        report = await self.load_plugins()
        log.info("%s", report.format())
        self.add_dynamic_items(JobButton)
        await self.command_syncer.sync_on_start()
        from discomfy.bot.recovery import recover_jobs

        await recover_jobs(self)
        for server in self.servers:
            self._background.append(asyncio.create_task(self._dispatch(server), name=f"dispatch:{server.name}"))
        if self.dev:
            from discomfy.bot.reload import PluginReloader

            self.reloader = PluginReloader(self)
            self._background.append(asyncio.create_task(self.reloader.watch(), name="hot-reload"))

    async def _stop_run(self, job_id: str) -> None:
        """Stop our side of a job whose server died (Failover then retries or fails it), and
        put it back to queued *before* Failover requeues it, guarded on the old prompt id, so
        the new run's own write can never be overwritten by this reset."""
        task = self.generation.tasks.get(job_id)
        job = await self.store.get(job_id)
        if task is not None and job is not None and job.delivery_intent is not None:
            # already delivering its outcome, which needs the server no more: let it finish
            # (a delivery cut off here would stay open until the next start)
            await asyncio.wait({task}, timeout=STOP_DELIVERY_TIMEOUT)
        await cancel_and_wait(task)
        job = await self.store.get(job_id)
        if job is not None and job.state is JobState.RUNNING and job.delivery_intent is None:
            await self.store.update(job_id, expect="running", expect_prompt=job.prompt_id, state="queued",
                                    server=None, prompt_id=None)

    async def _tell_failover(self, report: Any) -> None:
        """Tell each affected user what a server going down means for their job."""
        from discomfy.bot.delivery import deliver_failure

        for action in report.failed:
            job = await self.store.get(action.job_id)
            if job is not None:
                await deliver_failure(self, job, action.message, retry=True)
        for action in [*report.retried, *report.waiting]:
            editor = self.generation.editors.get(action.job_id)
            if editor is not None:
                editor.update(phase=action.message[:200])

    async def _expire_waiting_jobs(self) -> None:
        """Fail, with Retry, jobs that waited in our queue longer than ``comfyui.job_deadline``
        (e.g. every server able to run them went down): no job waits forever."""
        deadline = float(self.config.comfyui.job_deadline)
        message = (f"No image server could run your job within {max(1, round(deadline / 60))} minute(s); "
                   "they may be down. Press Retry to try again.")
        while True:
            await asyncio.sleep(min(30.0, deadline / 4))
            for queued in self.job_queue.waiting_longer_than(deadline):
                job = await self.store.get(queued.job_id)
                if job is not None:
                    await self.generation.withdraw(job, message, retry=True)

    async def _dispatch(self, server: Any) -> None:
        """Hand jobs to ``server`` as the fair queue releases them."""
        from discomfy.core.queue import QueueClosedError

        while True:
            try:
                queued = await self.job_queue.next(server.name)
            except QueueClosedError:
                return
            task = asyncio.create_task(self.generation.process(queued.job_id, server), name=f"job:{queued.job_id}")
            self.generation.tasks[queued.job_id] = task
            task.add_done_callback(lambda t, job_id=queued.job_id: self.generation.tasks.pop(job_id, None))

    async def close(self) -> None:
        self.job_queue.close()
        for task in self._background:
            task.cancel()
        for task in list(self.generation.tasks.values()):
            task.cancel()
        await asyncio.gather(*self._background, *self.generation.tasks.values(), return_exceptions=True)
        self._background.clear()
        await self.servers.close()
        await self.store.close()
        await super().close()
