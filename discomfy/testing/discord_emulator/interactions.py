"""An interaction the emulator sent to the bot, and everything the bot answered to it."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from .messages import StoredMessage

# Interaction types (Discord): 2 command, 3 component, 4 autocomplete, 5 modal submit.
COMMAND, COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5
# Callback types.
MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE, AUTOCOMPLETE_RESULT, MODAL = 4, 5, 6, 7, 8, 9
#: Turns of the event loop the bot needs to read an interaction response (see ``wait_response``).
RESPONSE_READ_TURNS = 5  # 1 suffices with discord.py 2.7 over loopback; the rest is margin

ALLOWED_CALLBACKS = {
    COMMAND: {MESSAGE, DEFERRED_MESSAGE, MODAL},
    COMPONENT: {MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE, MODAL},
    AUTOCOMPLETE: {AUTOCOMPLETE_RESULT},
    MODAL_SUBMIT: {MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE},
}


@dataclasses.dataclass
class EmulatedInteraction:
    """State of one interaction, updated as the bot calls back, edits and follows up.

    ``response`` is the callback body (``{"type": 5}``, ``{"type": 4, "data": {...}}``...);
    ``original_message`` is the live message behind ``@original``; ``followups`` are messages
    created through the followup webhook (the first followup after a defer edits the original
    instead, as on Discord, so it is not listed there).
    """

    id: str
    token: str
    type: int
    data: dict[str, Any]
    payload: dict[str, Any]
    user_id: str
    created_at: float
    message: StoredMessage | None = None  # the message a component was clicked on
    response: dict[str, Any] | None = None
    response_error: Any = None  # the Violation if the callback itself was rejected
    original_message: StoredMessage | None = None
    followups: list[StoredMessage] = dataclasses.field(default_factory=list)
    _answered: asyncio.Event = dataclasses.field(default_factory=asyncio.Event, repr=False)

    @property
    def response_type(self) -> int | None:
        return None if self.response is None else self.response.get("type")

    @property
    def modal(self) -> dict[str, Any] | None:
        """The modal the bot opened in response (``custom_id``, ``title``, ``components``)."""
        if self.response_type == MODAL:
            return self.response["data"]
        return None

    @property
    def choices(self) -> list[dict[str, Any]] | None:
        """Autocomplete choices the bot returned."""
        if self.response_type == AUTOCOMPLETE_RESULT:
            return list((self.response.get("data") or {}).get("choices") or [])
        return None

    def mark_answered(self) -> None:
        self._answered.set()

    async def wait_response(self, timeout: float = 5.0) -> dict[str, Any]:
        """Wait for the bot's initial callback (or its rejection); fail clearly if none comes."""
        try:
            async with asyncio.timeout(timeout):
                await self._answered.wait()
        except asyncio.TimeoutError:
            raise AssertionError(
                f"the bot sent no interaction response to {self.describe()} within {timeout} s"
            ) from None
        # We answered from inside the request; the bot reads that answer (and only then stores
        # the message's buttons) a few turns of the loop later. A user sees the message only
        # after that, so a test's next click must not overtake it.
        for _ in range(RESPONSE_READ_TURNS):
            await asyncio.sleep(0)
        if self.response is None:
            raise AssertionError(f"the bot's response to {self.describe()} was rejected: {self.response_error}")
        return self.response

    def describe(self) -> str:
        if self.type in (COMMAND, AUTOCOMPLETE):
            return f"/{self.data.get('name')} (interaction {self.id})"
        return f"custom_id {self.data.get('custom_id')!r} (interaction {self.id})"
