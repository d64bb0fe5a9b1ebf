"""Message nonces, as Discord documents them for Create Message.

``nonce`` is an integer or a string of at most 25 characters. With ``enforce_nonce: true``,
Discord checks it for uniqueness over the past few minutes: if the same author already created
a message with that nonce, that message is returned (200) and no new one is created. After the
window the nonce is not checked any more, so a second copy *is* created -- which is why a bot
recovering later must look for its own message first. ``NONCE_WINDOW`` is this emulator's
"few minutes"; tests move the emulator clock past it to reach the second case.
"""

from __future__ import annotations

from typing import Any

from . import limits
from .messages import StoredMessage

NONCE_WINDOW = 5 * 60.0
MAX_NONCE_LENGTH = 25


def nonce_of(body: dict[str, Any]) -> str | None:
    """The request's nonce as Discord keeps it (a string), refusing what Discord refuses."""
    nonce = body.get("nonce")
    if nonce is None:
        return None
    if isinstance(nonce, bool) or not isinstance(nonce, (int, str)) or len(str(nonce)) > MAX_NONCE_LENGTH:
        raise limits.DiscordAPIError(400, 50035, "Invalid Form Body", {"nonce": {"_errors": [
            {"code": "BASE_TYPE_BAD_LENGTH", "message": f"Must be an integer or a string of at most {MAX_NONCE_LENGTH} characters"}]}})
    return str(nonce)


def earlier_message(emu: Any, body: dict[str, Any], author_id: str) -> StoredMessage | None:
    """With ``enforce_nonce``, the message this author already created with this nonce within
    the window (Discord returns it instead of creating another). ``emu`` is the
    ``DiscordEmulator`` (not imported: the server imports this module)."""
    nonce = nonce_of(body)
    if nonce is None or not body.get("enforce_nonce"):
        return None
    window = getattr(emu, "nonce_window", NONCE_WINDOW)
    now = emu.clock.now()
    for msg in reversed(list(emu.messages.values())):
        if msg.nonce == nonce and msg.author.get("id") == author_id and now - msg.created_at < window:
            return msg
    return None
