"""The page's HTTP side: static files, the state a page starts from, actions, attachment bytes.

Routes: ``/`` and ``/static/*`` (HTML, CSS, plain JavaScript: no build step), ``/ws`` (the live
feed), ``/api/commands`` (the commands the bot synced, read when ``/`` is typed so a hot reload
shows up; with ``?user=ID`` only those the Discord client offers that user, by the commands'
``default_member_permissions``), ``/api/invoke`` (multipart: the command, its options as text, and one file per
attachment option), ``/api/autocomplete``, ``/api/click``, ``/api/modal``, ``/api/say``,
``/api/message-commands`` and ``/api/message-command`` (a message's context menu, Apps → …),
``/cdn/{id}/{name}`` (attachment bytes from the emulator) and ``/favicon.ico``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .actions import ActionRefused, PageActions, Upload
from .feed import EventFeed
from .messages import message_json

if TYPE_CHECKING:
    from discomfy.testing.discord_emulator import DiscordEmulator

STATIC = Path(__file__).with_name("static")
MAX_UPLOAD = 64 * 1024 * 1024


class PageApp:
    def __init__(self, emu: "DiscordEmulator", *, banner: str | None, comfyui: list[str],
                 user_ids: list[str]) -> None:
        self.emu = emu
        self.banner = banner
        self.comfyui = comfyui
        self.user_ids = user_ids  # the switcher's users, in order
        self.actions = PageActions(emu)
        self.feed = EventFeed(emu, self.state)

    def build(self) -> web.Application:
        app = web.Application(client_max_size=MAX_UPLOAD)
        app.router.add_get("/", self.index)
        app.router.add_static("/static/", STATIC, append_version=False)
        app.router.add_get("/ws", self.feed.handle)
        app.router.add_get("/api/commands", self.commands)
        app.router.add_post("/api/invoke", self.invoke)
        app.router.add_post("/api/autocomplete", self.autocomplete)
        app.router.add_post("/api/click", self.click)
        app.router.add_post("/api/modal", self.modal)
        app.router.add_post("/api/say", self.say)
        app.router.add_get("/cdn/{attachment_id}/{filename}", self.cdn)
        app.router.add_get("/api/message-commands", self.message_commands)
        app.router.add_post("/api/message-command", self.message_command)
        app.router.add_get("/favicon.ico", self.favicon)  # browsers ask for it whatever the page links
        app.on_shutdown.append(self._close_feed)
        return app

    async def _close_feed(self, app: web.Application) -> None:
        self.feed.close()  # open pages' sockets end, so the server stops without waiting on them

    # --- reading ----------------------------------------------------------------------------------
    async def index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    def state(self) -> dict[str, Any]:
        emu = self.emu
        channels = sorted(emu.channels.values(), key=lambda c: c.get("position", 0))
        messages = sorted((m for m in emu.messages.values() if not m.deleted), key=lambda m: int(m.id))
        return {
            "guild": {"id": emu.guild_id, "name": "DisComfy playground"},
            "bot": {"id": emu.bot_user["id"], "name": emu.bot_user.get("global_name") or emu.bot_user["username"]},
            "channels": [{"id": c["id"], "name": c["name"], "nsfw": bool(c.get("nsfw"))} for c in channels],
            "users": [{"id": u.id, "name": u.name, "owner": u.id == emu.owner.id,
                       "roles": [emu.roles[r]["name"] for r in u.roles]}
                      for u in (emu.users[uid] for uid in self.user_ids)],
            "banner": self.banner,
            "comfyui": self.comfyui,
            "commands": self.command_list(),
            "messages": [message_json(emu, m) for m in messages],
        }

    def command_list(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Every slash command as the composer offers it: subcommands flattened to ``group sub``.

        Given a user, only what the Discord client would offer them: a command whose
        ``default_member_permissions`` they lack is hidden, subcommands and all.
        """
        user = self.emu.users.get(user_id) if user_id else None
        found: list[dict[str, Any]] = []
        for cmd in sorted(self.emu.commands, key=lambda c: c["name"]):
            if cmd.get("type", 1) != 1 or (user is not None and not self.emu.can_use_command(cmd, user)):
                continue
            subs = [o for o in cmd.get("options") or [] if o["type"] in (1, 2)]
            if not subs:
                found.append({"name": cmd["name"], "description": cmd.get("description", ""),
                              "options": cmd.get("options") or []})
            for sub in subs:
                leaves = [o for o in sub.get("options") or [] if o["type"] == 1] if sub["type"] == 2 else [sub]
                for leaf in leaves:
                    name = " ".join([cmd["name"], *([sub["name"]] if sub is not leaf else []), leaf["name"]])
                    found.append({"name": name, "description": leaf.get("description", ""),
                                  "options": leaf.get("options") or []})
        return found

    async def commands(self, request: web.Request) -> web.Response:
        user_id = request.query.get("user")
        if user_id and user_id not in self.emu.users:
            return web.json_response({"error": f"Unknown user {user_id!r}; pick one in the user switcher."},
                                     status=400)
        return web.json_response(self.command_list(user_id))

    async def message_commands(self, request: web.Request) -> web.Response:
        user_id = request.query.get("user")
        if user_id and user_id not in self.emu.users:
            return web.json_response({"error": f"Unknown user {user_id!r}; pick one in the user switcher."},
                                     status=400)
        return web.json_response(self.actions.message_commands(user_id))

    async def favicon(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "favicon.svg", headers={"Content-Type": "image/svg+xml",
                                                                 "Cache-Control": "max-age=86400"})

    async def cdn(self, request: web.Request) -> web.Response:
        att = self.emu.cdn.get(request.match_info["attachment_id"])
        if att is None:
            return web.Response(status=404, text="no such attachment")
        return web.Response(body=att.data, content_type=att.content_type.split(";")[0])

    # --- acting -------------------------------------------------------------------------------------
    async def invoke(self, request: web.Request) -> web.Response:
        fields: dict[str, str] = {}
        uploads: dict[str, Upload] = {}
        reader = await request.multipart()
        async for part in reader:
            if part.filename is not None and part.name and part.name.startswith("file:"):
                data = await part.read(decode=False)
                uploads[part.name[len("file:"):]] = Upload(part.filename, bytes(data),
                                                           part.headers.get("Content-Type", "application/octet-stream"))
            elif part.name:
                fields[part.name] = await part.text()
        options = json.loads(fields.get("options") or "{}")
        return await self._answer(self.actions.invoke(fields.get("user", ""), fields.get("channel", ""),
                                                      fields.get("command", ""), options, uploads))

    async def autocomplete(self, request: web.Request) -> web.Response:
        body = await request.json()
        choices = self.actions.autocomplete(body["user"], body["command"], body.get("options") or {}, body["focused"])
        return await self._answer(choices, wrap="choices")

    async def click(self, request: web.Request) -> web.Response:
        body = await request.json()
        return await self._answer(self.actions.click(body["user"], body["message_id"], body["custom_id"],
                                                     body.get("values")))

    async def modal(self, request: web.Request) -> web.Response:
        body = await request.json()
        return await self._answer(self.actions.submit_modal(body["user"], body["modal_id"], body.get("values") or {}))

    async def message_command(self, request: web.Request) -> web.Response:
        body = await request.json()
        return await self._answer(self.actions.message_command(body["user"], body["message_id"], body["name"]))

    async def say(self, request: web.Request) -> web.Response:
        body = await request.json()
        return await self._answer(self.actions.say(body["user"], body["channel"], body.get("content", "")))

    @staticmethod
    async def _answer(action: Any, wrap: str | None = None) -> web.Response:
        try:
            result = await action
        except ActionRefused as refused:
            return web.json_response({"error": str(refused)}, status=400)
        if wrap:
            result = {wrap: result}
        return web.json_response(result if isinstance(result, dict) else {"ok": True})
