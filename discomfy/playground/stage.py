"""``discomfy play``: the emulator, the bot (started by ``discomfy run``'s own path) and the page.

Order: the loopback Discord starts (three channels, one of them age-restricted; four users: the
server's owner, alice and bob as plain members, admin with Manage Server through the "Admin"
role), the ComfyUI is chosen
(:mod:`.comfyui_choice`), the settings are pointed at both, the bot starts through
:func:`discomfy.bot.runner.run_bot`, and once the emulator has sent the bot its guild (commands
are synced before that) the page is served and its URL printed. The bot's jobs go to a
throwaway store: the emulated Discord forgets everything when the playground stops, so there is
nothing to recover on the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

from aiohttp import web

from discomfy.bot.runner import run_bot
from discomfy.config import override
from discomfy.testing.discord_emulator import DiscordEmulator
from discomfy.testing.discord_emulator.permissions import MANAGE_GUILD

from .app import PageApp
from .comfyui_choice import ComfyUIChoice, choose_comfyui

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8765
BOT_READY_TIMEOUT = 60.0
USERS = ("alice", "bob")  # plain members, besides the owner (who may use the owner-only commands)
ADMIN_USER, ADMIN_ROLE = "admin", "Admin"  # a server admin: moderation commands, not the owner's
AGE_RESTRICTED_CHANNEL = "nsfw-art"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(host).is_loopback
    return False


class Playground:
    def __init__(self, config: Any, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, dev: bool = False,
                 out: TextIO = sys.stdout) -> None:
        self.config, self.host, self.port, self.dev, self.out = config, host, port, dev, out
        # like the Discord client, the page does not offer (and refuses) a command whose
        # default_member_permissions the user lacks
        self.emu = DiscordEmulator(enforce_command_permissions=True)
        self.comfyui: ComfyUIChoice | None = None
        self.page: PageApp | None = None
        self.bot_task: asyncio.Task[int] | None = None
        self._runner: web.AppRunner | None = None
        self.store_dir = Path(tempfile.mkdtemp(prefix="discomfy-play-"))

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        emu = self.emu
        emu.bot_user.update(username="DisComfy", global_name="DisComfy")
        emu.add_channel("sandbox")
        emu.add_channel(AGE_RESTRICTED_CHANNEL, nsfw=True)
        admin = emu.make_user(ADMIN_USER, roles=[emu.add_role(ADMIN_ROLE, permissions=MANAGE_GUILD)])
        users = [emu.owner.id, *(emu.make_user(name).id for name in USERS), admin.id]
        await emu.start()
        self.comfyui = await choose_comfyui(self.config)
        self._point_settings()
        # the same start-up path as `discomfy run`
        self.bot_task = asyncio.create_task(run_bot(self.config, dev=self.dev), name="discomfy-bot")
        if self.dev and self.comfyui.fake is not None:
            emu.observe_requests(self._after_request)
        await self._wait_for_bot()
        self.page = PageApp(emu, banner=self.comfyui.banner, comfyui=self.comfyui.urls, user_ids=users)
        self._runner = web.AppRunner(self.page.build(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self.port).start()
        except OSError as exc:
            raise PlaygroundError(f"cannot serve the page on {self.host}:{self.port} ({exc.strerror or exc}); "
                                  "pick another port with --port") from exc

    def _point_settings(self) -> None:
        emu, comfyui = self.emu, self.comfyui
        assert comfyui is not None
        values: dict[str, Any] = {
            "discord.token": emu.token,
            "discord.api_base": emu.api_base,
            "discord.gateway_url": emu.gateway_url,
            "discord.dev_guild_id": int(emu.guild_id),  # commands are synced to the emulated guild
            "discord.owner_ids": [int(emu.owner.id)],
            # ids from a real server mean nothing here; keep them from refusing every command
            "discord.allowed_guilds": [], "discord.allowed_channels": [], "discord.allowed_roles": [],
            "jobs.store_path": str(self.store_dir / "jobs.sqlite3"),
        }
        if comfyui.fake is not None:
            values.update({"comfyui.url": comfyui.fake.url, "comfyui.servers": []})
        for key, value in values.items():
            override(self.config, key, value)

    def _after_request(self, rec: Any) -> None:
        """A command sync after a hot reload: a new pack may name model files the fake lacks."""
        if rec.method == "PUT" and rec.path.endswith("/commands") and rec.status == 200 and self.page is not None:
            assert self.comfyui is not None
            self.comfyui.refresh_models(self.config)

    async def _wait_for_bot(self) -> None:
        assert self.bot_task is not None
        ready = asyncio.create_task(self.emu.gateway.guild_sent.wait())
        done, _ = await asyncio.wait({ready, self.bot_task}, timeout=BOT_READY_TIMEOUT,
                                     return_when=asyncio.FIRST_COMPLETED)
        if ready in done:
            return
        ready.cancel()
        if self.bot_task in done:
            raise PlaygroundError(f"the bot stopped while starting ({bot_ending(self.bot_task)}); "
                                  "its log above says why")
        raise PlaygroundError(f"the bot did not connect to the emulated Discord within {BOT_READY_TIMEOUT:.0f} s; "
                              "its log above says why")

    def announce(self, started: float) -> None:
        assert self.comfyui is not None
        print(f"DisComfy playground: {self.url}  (ready in {time.monotonic() - started:.1f} s; Ctrl+C stops it)",
              file=self.out, flush=True)
        if self.comfyui.banner:
            print(f"  {self.comfyui.banner}", file=self.out, flush=True)
        else:
            print(f"  ComfyUI: {', '.join(self.comfyui.urls)}", file=self.out, flush=True)

    async def wait_closed(self, stop: asyncio.Event) -> int:
        """Until ``stop`` is set or the bot ends; the bot's exit status (0 when stopped)."""
        assert self.bot_task is not None
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({stopper, self.bot_task}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if self.bot_task.done():
            print(f"The bot stopped ({bot_ending(self.bot_task)}); its log above says why. "
                  "Stopping the playground.", file=sys.stderr)
            return 1
        return 0

    async def stop(self) -> None:
        if self.bot_task is not None and not self.bot_task.done():
            self.bot_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.bot_task
        if self._runner is not None:
            await self._runner.cleanup()
        await self.emu.stop()
        if self.comfyui is not None:
            await self.comfyui.close()
        shutil.rmtree(self.store_dir, ignore_errors=True)


def bot_ending(task: "asyncio.Task[int]") -> str:
    """How the bot's task ended, for a message: its exit status or the error that ended it."""
    if task.cancelled():
        return "cancelled"
    error = task.exception()
    return f"exit status {task.result()}" if error is None else f"{type(error).__name__}: {error}"


class PlaygroundError(Exception):
    """The playground could not start; the text names the cause and the fix."""


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


async def play(config: Any, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, dev: bool = False) -> int:
    started = time.monotonic()
    if not is_loopback(host):
        print(f"warning: serving the playground on {host}: anyone who can reach this machine on port {port} "
              "can use the bot (and its ComfyUI) as any playground user.", file=sys.stderr, flush=True)
    playground = Playground(config, host=host, port=port, dev=dev)
    stop = asyncio.Event()
    _stop_on_signals(stop)
    try:
        await playground.start()
        # `discomfy run`'s start-up path installs its own graceful SIGTERM handler, which would
        # end the bot under the playground's feet (and the playground with exit status 1); the
        # playground stops its parts itself, and its store is throwaway
        _stop_on_signals(stop)
        playground.announce(started)
        return await playground.wait_closed(stop)
    except PlaygroundError as exc:
        print(f"discomfy play: {exc}", file=sys.stderr)
        return 1
    finally:
        await playground.stop()
