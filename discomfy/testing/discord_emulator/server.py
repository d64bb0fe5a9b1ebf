"""``DiscordEmulator``: a loopback Discord (REST + gateway) that a real discord.py bot logs into.

One aiohttp server on 127.0.0.1 (free port) serves ``/api/v10/...``, the gateway WebSocket at
``/gateway`` and uploaded attachment bytes at ``/attachments/...``. discord.py is redirected by
two class attributes (see ``discomfy.bot.discord_endpoints``), so everything the bot does goes
over real HTTP and WebSocket through discord.py's own code.

Over 300 lines on purpose: this is the emulator's one public object, what tests and the
playground call on it; each method is a few lines over the parts it assembles.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fnmatch
from typing import Any, AsyncIterator, Callable

from aiohttp import web

from . import payloads, routes_app, routes_interactions
from .actions import InteractionActions
from .clock import EmulatorClock, SnowflakeFactory
from .gateway import PRIVILEGED_INTENTS, Gateway
from .guilds import EmulatedGuild, Guilds
from .http_layer import API_PREFIX, ApiDispatcher, ErrorRule, RateLimitRule
from .interactions import EmulatedInteraction
from .injection import find_command
from .message_ops import make_attachment
from .messages import StoredAttachment, StoredMessage
from .recording import Observers, RecordedRequest, Violation, Waiters
from .roles import GuildRoles
from .sessions import message_for
from .shards import DISCORD_MAX_GUILDS_PER_SHARD, ShardPolicy, shards_of

DEFAULT_ATTACHMENT_LIMIT = 10 * 1024 * 1024


@dataclasses.dataclass
class EmulatedUser:
    """A guild member that can invoke commands and click buttons."""

    id: str
    name: str
    user: dict[str, Any]
    member: dict[str, Any]

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    @property
    def roles(self) -> list[str]:
        """The member's role ids (@everyone not listed, as in Discord's member object)."""
        return list(self.member["roles"])


class DiscordEmulator(InteractionActions, GuildRoles, Guilds):
    """A guild with one text channel, an application and its bot user, served on loopback.

    ``enforce_command_permissions``: refuse (``CommandNotAvailable``) to invoke a command whose
    ``default_member_permissions`` the member lacks, as the Discord client never offers it. Off by
    default, so tests that invoke such a command as a plain member (to test the bot's own check)
    keep working; the playground turns it on.

    Sharding (see :mod:`.shards`): ``add_guild`` adds guilds; a session holding more than
    ``max_guilds_per_shard`` of them is refused with 4011; ``GET /gateway/bot`` recommends
    ``recommended_shards`` (default: Discord's one per 1,000 guilds) with ``max_concurrency``.
    """

    def __init__(self, token: str = "test-token", *, guild_id: int | str | None = None,
                 channel_id: int | str | None = None, owner_id: int | str | None = None,
                 attachment_size_limit: int = DEFAULT_ATTACHMENT_LIMIT,
                 enabled_privileged_intents: int = sum(PRIVILEGED_INTENTS),
                 enforce_command_permissions: bool = False,
                 max_guilds_per_shard: int = DISCORD_MAX_GUILDS_PER_SHARD,
                 recommended_shards: int | None = None, max_concurrency: int = 1) -> None:
        self.token = token
        self.clock = EmulatorClock()
        self.snowflakes = SnowflakeFactory(self.clock)
        self.attachment_size_limit = attachment_size_limit
        self.application_id = self.snowflakes.next()
        self.guild_id = str(guild_id or self.snowflakes.next())
        self.channel_id = str(channel_id or self.snowflakes.next())
        self.bot_user = payloads.user(self.application_id, "DisComfy Test Bot", bot=True)
        self.enforce_command_permissions = enforce_command_permissions
        # Discord's window for an interaction's first answer (else 404 10062), in wall-clock
        # seconds. A test that judges something else under a burst may widen it: how fast a
        # loaded machine answers is a benchmark's figure (bench/shards.py), not a test's verdict.
        self.response_window = routes_interactions.INITIAL_RESPONSE_SECONDS
        self.roles: dict[str, dict[str, Any]] = {  # by id; @everyone's id is the guild's
            self.guild_id: payloads.role(self.guild_id, "@everyone", payloads.EVERYONE_PERMISSIONS, 0)}
        self.users: dict[str, EmulatedUser] = {}
        self.channels = {self.channel_id: payloads.text_channel(self.channel_id, self.guild_id)}
        self.guilds = {self.guild_id: EmulatedGuild(self.guild_id, "Emulated Guild", self.channel_id)}
        self.gateway = Gateway(self, enabled_privileged_intents, ShardPolicy(
            max_guilds_per_shard=max_guilds_per_shard, recommended_shards=recommended_shards,
            max_concurrency=max_concurrency))
        self.owner = self.make_user("owner", user_id=owner_id)
        self.application = payloads.application(self.application_id, self.owner.user)
        self.messages: dict[str, StoredMessage] = {}
        self.cdn: dict[str, StoredAttachment] = {}
        self.interactions: dict[str, EmulatedInteraction] = {}
        self.interactions_by_token: dict[str, EmulatedInteraction] = {}
        self.requests: list[RecordedRequest] = []
        self.violations: list[Violation] = []
        self.unhandled: list[RecordedRequest] = []
        self._global_commands: dict[str, dict[str, Any]] = {}
        self._guild_commands: dict[str, dict[str, dict[str, Any]]] = {}  # by guild id
        self._message_waiters: Waiters[StoredMessage] = Waiters("message")
        self._request_waiters: Waiters[RecordedRequest] = Waiters("request")
        self._message_observers = Observers()
        self._request_observers = Observers()
        self._finished: list[RecordedRequest] = []
        self._api = ApiDispatcher(self)
        routes_app.register(self._api, self)
        routes_interactions.register(self._api, self)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=1024 ** 3)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._api.handle)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/gateway/", self.gateway.handle)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._serve_attachment)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "DiscordEmulator":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("DiscordEmulator is not started; await emu.start() first")
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """What ``Route.BASE`` must be: ``http://127.0.0.1:PORT/api/v10``."""
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    @contextlib.asynccontextmanager
    # a bound for a bot that never connects, not a speed goal: four test workers on a loaded
    # 2-core machine took over 10 s to start a bot
    async def run_bot(self, bot: Any, *, token: str | None = None, timeout: float = 60.0) -> AsyncIterator[Any]:
        """Point discord.py here, start ``bot``, wait until each of its shards was sent its
        guilds (GUILD_CREATE); close it after.

        ``token`` is what the bot logs in with (default: the emulator's, so login succeeds).
        Readiness is GUILD_CREATE, not ``on_ready`` (which discord.py delays by
        ``guild_ready_timeout``): interactions dispatched from here on are handled. Several bots
        may run at once (an ``AutoShardedBot`` each, on its own ``shard_ids``).
        """
        # discord.py is imported only when the emulator runs a bot: the emulator itself speaks
        # the wire protocol and needs none of it
        from discomfy.bot.discord_endpoints import point_discord_at

        point_discord_at(self.api_base, self.gateway_url)
        self.gateway.guild_sent.clear()
        task = asyncio.create_task(bot.start(token or self.token), name="discord-emulator-bot")
        shards = shards_of(bot)
        ready = asyncio.create_task(self.gateway.guild_sent.wait() if shards is None
                                    else self.gateway.wait_for_shards(shards, timeout + 1))
        done, _ = await asyncio.wait({task, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            await bot.close()  # release its HTTP session whatever happened
            if task.done():
                task.result()  # re-raise why the bot stopped (bad token, crash in setup_hook...)
                raise AssertionError("the bot stopped before connecting to the emulated gateway")
            task.cancel()
            raise AssertionError(f"the bot did not reach GUILD_CREATE within {timeout} s; "
                                 f"requests so far: {self.requests}")
        try:
            yield bot
        finally:
            await bot.close()
            with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
                async with asyncio.timeout(5):
                    await task

    # ---- guild state -----------------------------------------------------------------------
    def make_user(self, name: str, *, user_id: int | str | None = None, admin: bool = False,
                  roles: list[str] | None = None) -> EmulatedUser:
        """A new guild member (distinct id) to act as in multi-user tests, holding ``roles`` (ids
        from ``add_role``); ``admin`` adds a role with ADMINISTRATOR."""
        uid = str(user_id or self.snowflakes.next())
        user = payloads.user(uid, name)
        held = self._known_roles([*(roles or []), *([self._administrator_role()] if admin else [])])
        emulated = EmulatedUser(uid, name, user, payloads.member(user, self.clock.now(), roles=held))
        self.users[uid] = emulated
        return emulated

    def add_channel(self, name: str, *, nsfw: bool = False, guild_id: str | None = None) -> str:
        """Another text channel in the guild (``nsfw``: age-restricted; ``guild_id``: one from
        ``add_guild``); GUILD_CREATE lists it, or a connected bot is sent CHANNEL_CREATE so
        discord.py's cache (``channel.is_nsfw()``) knows it."""
        channel_id = self.snowflakes.next()
        self.channels[channel_id] = {**payloads.text_channel(channel_id, guild_id or self.guild_id, name, nsfw=nsfw),
                                     "position": len(self.channels)}
        self._tell_bot_soon("CHANNEL_CREATE", self.channels[channel_id])
        return channel_id

    def _tell_bot_soon(self, event: str, data: dict[str, Any]) -> None:
        """A guild change made by synchronous code: once the bot has its guild, Discord would tell
        it at once; before that, GUILD_CREATE carries the change."""
        if self.gateway.session_id is not None:
            self.gateway.dispatch_soon(event, data)

    def _user_for(self, user: EmulatedUser | str | int | None) -> EmulatedUser:
        if user is None:
            return self.owner
        if isinstance(user, EmulatedUser):
            return user
        found = self.users.get(str(getattr(user, "id", user)))
        if found is None:
            raise AssertionError(f"unknown user {user!r}; create users with emu.make_user(name)")
        return found

    @property
    def commands(self) -> list[dict[str, Any]]:
        """Every command the bot synced: global ones, then guild ones (these carry guild_id)."""
        return [*self._global_commands.values(), *(c for g in self._guild_commands.values() for c in g.values())]

    def command(self, name: str) -> dict[str, Any]:
        return find_command(self, name)[0]

    # ---- messages & recording --------------------------------------------------------------
    def _new_message(self, channel_id: str, *, interaction: EmulatedInteraction | None = None) -> StoredMessage:
        return StoredMessage(
            id=self.snowflakes.next(), channel_id=channel_id, author=self.bot_user,
            guild_id=None if self.channels.get(channel_id, {}).get("type") == 1  # DMs have no guild
            else self.channels.get(channel_id, {}).get("guild_id", self.guild_id),
            created_at=self.clock.now(), interaction_id=interaction.id if interaction else None,
            webhook_id=self.application_id if interaction else None)

    async def _store_message(self, msg: StoredMessage, *, created: bool) -> None:
        """Keep the message, wake waiters, and tell the bot like Discord does (GUILD_MESSAGES)."""
        self.messages[msg.id] = msg
        self._message_waiters.notify(msg)
        self._message_observers.notify(msg, created)
        if msg.ephemeral:
            return
        if msg.deleted:
            deleted = {"id": msg.id, "channel_id": msg.channel_id, "guild_id": msg.guild_id}
            await self.gateway.dispatch_shaped("MESSAGE_DELETE", msg.guild_id, lambda s: message_for(s, deleted))
            return
        payload = msg.to_payload()
        author = self.users.get(msg.author["id"])
        if author is not None:
            payload["member"] = {k: v for k, v in author.member.items() if k != "user"}
        hidden = author is not None and f"<@{self.bot_user['id']}>" not in msg.content  # a user's, not to the bot
        await self.gateway.dispatch_shaped("MESSAGE_CREATE" if created else "MESSAGE_UPDATE", msg.guild_id,
                                           lambda s: message_for(s, payload, content_needs_intent=hidden))

    async def post_message(self, content: str, *, user: EmulatedUser | None = None,
                           channel_id: str | None = None,
                           attachments: list[tuple[str, bytes, str]] | None = None) -> StoredMessage:
        """A user writes in a channel (``attachments``: ``(filename, bytes, content_type)``,
        served by the CDN): stored and sent to the bot as MESSAGE_CREATE."""
        member = self._user_for(user)
        channel = channel_id or self.channel_id
        msg = StoredMessage(id=self.snowflakes.next(), channel_id=channel,
                            guild_id=self.guild_of(channel), author=member.user, created_at=self.clock.now(),
                            content=content,
                            attachments=[make_attachment(self, channel, *a) for a in attachments or []])
        await self._store_message(msg, created=True)
        return msg

    def observe_messages(self, observer: Callable[[StoredMessage, bool], None]) -> Callable[[], None]:
        """Call ``observer(message, created)`` on every message created, edited or deleted
        (ephemeral ones included), as it happens; returns the function that stops it."""
        return self._message_observers.add(observer)

    def observe_requests(self, observer: Callable[[RecordedRequest], None]) -> Callable[[], None]:
        """Call ``observer(request)`` on every REST request once it is answered (status set);
        returns the function that stops it."""
        return self._request_observers.add(observer)

    def _request_finished(self, rec: RecordedRequest) -> None:
        self._finished.append(rec)
        self._request_waiters.notify(rec)
        self._request_observers.notify(rec)

    def _record_violation(self, violation: Violation) -> None:
        self.violations.append(violation)

    async def _serve_attachment(self, request: web.Request) -> web.Response:
        att = self.cdn.get(request.match_info["attachment_id"])
        if att is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=att.data, headers={"Content-Type": att.content_type})

    async def wait_for_message(self, predicate: Callable[[StoredMessage], bool], timeout: float = 5.0) -> StoredMessage:
        """The first message (current state, created or edited) matching ``predicate``."""
        return await self._message_waiters.wait(predicate, self.messages.values(), timeout,
                                                lambda: self.messages.values())

    async def wait_for_request(self, predicate: Callable[[RecordedRequest], bool],
                               timeout: float = 5.0) -> RecordedRequest:
        """The first answered REST request matching ``predicate`` (already recorded or future)."""
        return await self._request_waiters.wait(predicate, self._finished, timeout, lambda: self._finished)

    def channel_messages(self, channel_id: str | None = None) -> list[StoredMessage]:
        """Live messages in a channel, oldest first (interaction responses included)."""
        cid = channel_id or self.channel_id
        return [m for m in self.messages.values() if m.channel_id == cid and not m.deleted]

    # ---- injection -------------------------------------------------------------------------
    def inject_429(self, route: str | Callable[[RecordedRequest], bool], retry_after: float = 0.2,
                   times: int = 1, global_: bool = False) -> RateLimitRule:
        """Answer the next ``times`` requests matching ``route`` with a 429 discord.py will retry.

        ``route`` is a path glob without ``/api/v10`` (``"/channels/*/messages"``), optionally
        preceded by a method (``"PATCH /webhooks/*"``), or a predicate on ``RecordedRequest``.
        """
        rule = RateLimitRule(_route_matcher(route), retry_after, times, global_)
        self._api.rate_limit_rules.append(rule)
        return rule

    def inject_error(self, route: str | Callable[[RecordedRequest], bool], status: int, code: int,
                     message: str = "injected error", times: int = 1) -> ErrorRule:
        """Answer the next ``times`` requests matching ``route`` (as for ``inject_429``) with
        Discord's error ``status`` and JSON code, e.g. ``(403, 50013, "Missing Permissions")``
        or ``(502, 0, "Bad Gateway")``; the request has no effect."""
        rule = ErrorRule(_route_matcher(route), status, code, message, times)
        self._api.error_rules.append(rule)
        return rule

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send any gateway dispatch (``MESSAGE_CREATE``...) to the bot."""
        await self.gateway.dispatch(event, data)

    async def request_reconnect(self, timeout: float = 5.0) -> None:
        """Gateway op 7 RECONNECT; returns once the bot has RESUMEd its session."""
        await self.gateway.request_reconnect(timeout)


def _route_matcher(route: str | Callable[[RecordedRequest], bool]) -> Callable[[RecordedRequest], bool]:
    """``"PATCH /webhooks/*"`` (method optional, path glob without ``/api/v10``) or a predicate."""
    if callable(route):
        return route
    method, _, pattern = route.rpartition(" ")
    return lambda rec: (not method or rec.method == method.upper()) and fnmatch.fnmatchcase(rec.path, pattern)
