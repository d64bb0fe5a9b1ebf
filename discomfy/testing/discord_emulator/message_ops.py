"""Turning a message create/edit request into a ``StoredMessage``, as Discord does.

Multipart semantics: ``files[n]`` is referenced by ``attachments[{"id": n}]``; on an edit,
``attachments`` lists what remains, so existing attachments not listed are removed. discord.py
uploads everything as ``application/octet-stream``; like Discord, the type is guessed from the
file name.
"""

from __future__ import annotations

import mimetypes
import re
from typing import Any

from . import limits
from .messages import EPHEMERAL_FLAG, LOADING_FLAG, StoredAttachment, StoredMessage
from .recording import RecordedRequest, RequestPart

# The emulator is handed to this part, not imported: server.py assembles the parts.
DiscordEmulator = Any

_FILE_PART = re.compile(r"^files\[(\d+)\]$")


def uploaded_files(rec: RecordedRequest) -> dict[int, RequestPart]:
    files: dict[int, RequestPart] = {}
    for part in rec.parts:
        match = _FILE_PART.match(part.name)
        if match and part.filename is not None:
            files[int(match.group(1))] = part
    return files


def make_attachment(emu: "DiscordEmulator", channel_id: str, filename: str, data: bytes,
                    content_type: str | None = None, description: str | None = None) -> StoredAttachment:
    att_id = emu.snowflakes.next()
    guessed = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    if not content_type or content_type == "application/octet-stream":
        content_type = guessed
    url = f"{emu.base_url}/attachments/{channel_id}/{att_id}/{filename}"
    attachment = StoredAttachment(att_id, filename, content_type, data, url, description)
    emu.cdn[att_id] = attachment
    return attachment


def check(emu: "DiscordEmulator", body: dict[str, Any], rec: RecordedRequest, *, creating: bool) -> None:
    files = [(p.filename or "", p.data) for p in uploaded_files(rec).values()]
    limits.check_message(body, files, size_limit=emu.attachment_size_limit, creating=creating)


def apply(emu: "DiscordEmulator", msg: StoredMessage, body: dict[str, Any], rec: RecordedRequest,
          *, creating: bool) -> StoredMessage:
    """Validate then write ``body`` (+ uploaded files) into ``msg``; raises DiscordAPIError."""
    check(emu, body, rec, creating=creating)
    if "content" in body:
        msg.content = body["content"] or ""
    if "embeds" in body:
        msg.embeds = body["embeds"] or []
    if "components" in body:
        msg.components = body["components"] or []
    if creating and body.get("flags"):
        msg.flags |= int(body["flags"]) & EPHEMERAL_FLAG
    files = uploaded_files(rec)
    if "attachments" in body or files:
        msg.attachments = _resolve_attachments(emu, msg, body.get("attachments"), files)
    if not creating:
        msg.flags &= ~LOADING_FLAG
        msg.edited_at = emu.clock.now()
        msg.edits += 1
    return msg


def _resolve_attachments(emu: "DiscordEmulator", msg: StoredMessage, listed: list[dict[str, Any]] | None,
                         files: dict[int, RequestPart]) -> list[StoredAttachment]:
    existing = {a.id: a for a in msg.attachments}
    result: list[StoredAttachment] = []
    used: set[int] = set()
    if listed is None:  # no attachments key: keep what is there and append the uploads
        result = list(msg.attachments)
        listed = []
    for entry in listed:
        ref = str(entry.get("id"))
        if ref in existing:
            result.append(existing[ref])
        elif ref.isdigit() and int(ref) in files:
            part = files[int(ref)]
            used.add(int(ref))
            result.append(make_attachment(emu, msg.channel_id, entry.get("filename") or part.filename or "file",
                                          part.data, part.content_type, entry.get("description")))
        else:
            raise limits.DiscordAPIError(400, 50035, "Invalid Form Body", {"attachments": {"_errors": [
                {"code": "ATTACHMENT_NOT_FOUND", "message": f"Unknown attachment id {ref}"}]}})
    for index, part in sorted(files.items()):
        if index not in used:
            result.append(make_attachment(emu, msg.channel_id, part.filename or "file", part.data, part.content_type))
    return result
