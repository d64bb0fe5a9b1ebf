"""Interaction callback and webhook routes, with Discord's interaction deadlines.

The callback must come within 3 s of the interaction (else 404/10062) and only once (else
400/40060); the token then lives 15 minutes for ``@original`` and followups (else 401/50027).
Time is the emulator's clock, so tests advance it instead of sleeping. These routes carry no
Authorization header on Discord: the token in the path is the credential.
"""

from __future__ import annotations

from typing import Any

from . import limits, message_ops
from .http_layer import ApiDispatcher
from .interactions import (ALLOWED_CALLBACKS, AUTOCOMPLETE_RESULT, DEFERRED_MESSAGE, DEFERRED_UPDATE,
                           MESSAGE, MODAL, UPDATE_MESSAGE, EmulatedInteraction)
from .messages import EPHEMERAL_FLAG, LOADING_FLAG, StoredMessage
from .recording import RecordedRequest

# The emulator is handed to this part, not imported: server.py assembles the parts.
DiscordEmulator = Any

INITIAL_RESPONSE_SECONDS = 3.0
TOKEN_LIFETIME_SECONDS = 15 * 60


def register(api: ApiDispatcher, emu: "DiscordEmulator") -> None:
    routes = InteractionRoutes(emu)
    api.add("POST", "/interactions/{interaction_id}/{token}/callback", routes.callback)
    api.add("POST", "/webhooks/{app_id}/{token}", routes.followup)
    for method, handler in (("GET", routes.get_message), ("PATCH", routes.edit_message),
                            ("DELETE", routes.delete_message)):
        api.add(method, "/webhooks/{app_id}/{token}/messages/{message_id}", handler)


class InteractionRoutes:
    def __init__(self, emu: "DiscordEmulator") -> None:
        self.emu = emu

    async def callback(self, rec: RecordedRequest, params: dict[str, str]) -> tuple[int, Any]:
        inter = self.emu.interactions.get(params["interaction_id"])
        if inter is None or inter.token != params["token"]:
            raise limits.unknown_interaction()
        try:
            return 200, await self._respond(inter, rec)
        except limits.DiscordAPIError as error:
            if inter.response is None:
                inter.response_error = error
            raise
        finally:
            inter.mark_answered()

    async def _respond(self, inter: EmulatedInteraction, rec: RecordedRequest) -> dict[str, Any]:
        if inter.response is not None:
            raise limits.already_acknowledged()
        if self.emu.clock.now() - inter.created_at > self.emu.response_window:
            raise limits.unknown_interaction()
        body = rec.json or {}
        kind = body.get("type")
        data = body.get("data") or {}
        if kind not in ALLOWED_CALLBACKS[inter.type]:
            errors = limits.FormErrors()
            errors.add(["type"], "INTERACTION_RESPONSE_TYPE_INVALID",
                       f"Interaction response type {kind} is not valid for interaction type {inter.type}")
            errors.raise_if_any()
        try:
            message = self._apply_callback(inter, kind, data, rec)
        except limits.DiscordAPIError as error:
            if error.code == 50035 and error.errors and kind != MODAL and kind != AUTOCOMPLETE_RESULT:
                error.errors = {"data": error.errors}  # message fields sit under "data" in a callback
            raise
        inter.response = body
        interaction_info: dict[str, Any] = {"id": inter.id, "type": inter.type}
        resource: dict[str, Any] = {"type": kind}
        if message is not None:
            inter.original_message = message
            await self.emu._store_message(message, created=kind in (MESSAGE, DEFERRED_MESSAGE))
            interaction_info.update(response_message_id=message.id,
                                    response_message_loading=message.loading,
                                    response_message_ephemeral=message.ephemeral)
            if kind != DEFERRED_UPDATE:
                resource["message"] = message.to_payload()
        return {"interaction": interaction_info, "resource": resource}

    def _apply_callback(self, inter: EmulatedInteraction, kind: int, data: dict[str, Any],
                        rec: RecordedRequest) -> StoredMessage | None:
        """Validate the callback and build the message it creates or updates (if any)."""
        message: StoredMessage | None = None
        if kind == MESSAGE:
            message = self.emu._new_message(inter.payload["channel_id"], interaction=inter)
            message_ops.apply(self.emu, message, data, rec, creating=True)
        elif kind == DEFERRED_MESSAGE:
            flags = int(data.get("flags") or 0)
            if flags & ~EPHEMERAL_FLAG:
                errors = limits.FormErrors()
                errors.add(["data", "flags"], "INTERACTION_RESPONSE_FLAGS_INVALID",
                           "Only the EPHEMERAL flag can be set on a deferred response")
                errors.raise_if_any()
            message = self.emu._new_message(inter.payload["channel_id"], interaction=inter)
            message.flags = LOADING_FLAG | flags
        elif kind in (UPDATE_MESSAGE, DEFERRED_UPDATE):
            message = inter.message
            if message is None:
                raise limits.unknown_message()
            if kind == UPDATE_MESSAGE:
                message_ops.apply(self.emu, message, data, rec, creating=False)
        elif kind == MODAL:
            limits.check_modal(data)
        elif kind == AUTOCOMPLETE_RESULT:
            limits.check_autocomplete(data)
        return message

    def _live(self, params: dict[str, str]) -> EmulatedInteraction:
        inter = self.emu.interactions_by_token.get(params["token"])
        if inter is None or params["app_id"] != self.emu.application_id:
            raise limits.invalid_webhook_token()
        if self.emu.clock.now() - inter.created_at > TOKEN_LIFETIME_SECONDS:
            raise limits.invalid_webhook_token()
        return inter

    def _target(self, inter: EmulatedInteraction, message_id: str) -> StoredMessage:
        if message_id == "@original":
            msg = inter.original_message
        else:
            msg = next((m for m in inter.followups if m.id == message_id), None)
            if msg is None and inter.original_message is not None and inter.original_message.id == message_id:
                msg = inter.original_message
        if msg is None or msg.deleted:
            raise limits.unknown_message()
        return msg

    async def followup(self, rec: RecordedRequest, params: dict[str, str]) -> tuple[int, Any]:
        inter = self._live(params)
        if inter.response is None:
            raise limits.DiscordAPIError(404, 10015, "Unknown Webhook")
        body = rec.json or {}
        original = inter.original_message
        if inter.response_type == DEFERRED_MESSAGE and original is not None and original.loading:
            # Discord's documented quirk: the first followup after a defer edits the loading message.
            message_ops.apply(self.emu, original, body, rec, creating=False)
            await self.emu._store_message(original, created=False)
            return 200, original.to_payload()
        msg = self.emu._new_message(inter.payload["channel_id"], interaction=inter)
        message_ops.apply(self.emu, msg, body, rec, creating=True)
        inter.followups.append(msg)
        await self.emu._store_message(msg, created=True)
        return 200, msg.to_payload()

    async def get_message(self, rec: RecordedRequest, params: dict[str, str]) -> tuple[int, Any]:
        inter = self._live(params)
        return 200, self._target(inter, params["message_id"]).to_payload()

    async def edit_message(self, rec: RecordedRequest, params: dict[str, str]) -> tuple[int, Any]:
        inter = self._live(params)
        msg = self._target(inter, params["message_id"])
        message_ops.apply(self.emu, msg, rec.json or {}, rec, creating=False)
        await self.emu._store_message(msg, created=False)
        return 200, msg.to_payload()

    async def delete_message(self, rec: RecordedRequest, params: dict[str, str]) -> tuple[int, Any]:
        inter = self._live(params)
        msg = self._target(inter, params["message_id"])
        msg.deleted = True
        await self.emu._store_message(msg, created=False)
        return 204, None
