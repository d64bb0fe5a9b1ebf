"""Discord's documented limits, checked the way Discord checks them.

Each check answers with Discord's own status code and JSON error body (50035 "Invalid Form
Body" with the nested ``errors`` tree, 50006, 40005...), so discord.py raises the same
``HTTPException`` a bot would get in production. The server records every one as a violation.
"""

from __future__ import annotations

from typing import Any, Sequence

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
EMBED_TEXT_LIMITS = {"title": 256, "description": 4096}
MAX_EMBED_FIELDS = 25
MAX_FILES = 10
MAX_ACTION_ROWS = 5
MAX_ROW_ITEMS = 5
MAX_CUSTOM_ID = 100
MAX_BUTTON_LABEL = 80
MAX_SELECT_OPTIONS = 25
MAX_CHOICES = 25
MAX_OPTIONS = 25
MAX_MODAL_COMPONENTS = 5
MAX_MODAL_TITLE = 45
MAX_DESCRIPTION = 100
MAX_NAME = 32


class DiscordAPIError(Exception):
    """A Discord error response: HTTP status plus ``{"message", "code"[, "errors"]}``."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None):
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body


def unknown_interaction() -> DiscordAPIError:
    return DiscordAPIError(404, 10062, "Unknown interaction")


def invalid_webhook_token() -> DiscordAPIError:
    return DiscordAPIError(401, 50027, "Invalid Webhook Token")


def already_acknowledged() -> DiscordAPIError:
    return DiscordAPIError(400, 40060, "Interaction has already been acknowledged.")


def unknown_message() -> DiscordAPIError:
    return DiscordAPIError(404, 10008, "Unknown Message")


def empty_message() -> DiscordAPIError:
    return DiscordAPIError(400, 50006, "Cannot send an empty message")


def too_large() -> DiscordAPIError:
    return DiscordAPIError(413, 40005, "Request entity too large")


class FormErrors:
    """Collects field errors and raises one 50035 with Discord's nested ``errors`` tree."""

    def __init__(self) -> None:
        self.items: list[tuple[Sequence[str | int], str, str]] = []

    def add(self, path: Sequence[str | int], code: str, message: str) -> None:
        self.items.append((path, code, message))

    def max_length(self, path: Sequence[str | int], value: Any, limit: int) -> None:
        if value is not None and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def length_between(self, path: Sequence[str | int], value: Any, low: int, high: int) -> None:
        if value is None or not (low <= len(value) <= high):
            self.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")

    def raise_if_any(self) -> None:
        if not self.items:
            return
        tree: dict[str, Any] = {}
        for path, code, message in self.items:
            node = tree
            for key in path:
                node = node.setdefault(str(key), {})
            node.setdefault("_errors", []).append({"code": code, "message": message})
        raise DiscordAPIError(400, 50035, "Invalid Form Body", tree)


def check_message(body: dict[str, Any], files: Sequence[tuple[str, bytes]], *, size_limit: int,
                  creating: bool) -> None:
    """Content, embeds, components, file count/size of a message create or edit."""
    if creating and not (body.get("content") or body.get("embeds") or body.get("components")
                         or files or body.get("sticker_ids") or body.get("poll")):
        raise empty_message()
    if any(len(data) > size_limit for _, data in files):
        raise too_large()
    errors = FormErrors()
    errors.max_length(["content"], body.get("content"), MAX_CONTENT)
    if len(files) > MAX_FILES:
        errors.add(["files"], "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_FILES} or fewer in length.")
    check_embeds(body.get("embeds") or [], errors)
    check_components(body.get("components") or [], errors, ["components"])
    errors.raise_if_any()


def check_embeds(embeds: list[dict[str, Any]], errors: FormErrors) -> None:
    errors.max_length(["embeds"], embeds, MAX_EMBEDS)
    total = 0
    for i, embed in enumerate(embeds):
        base = ["embeds", i]
        for key, limit in EMBED_TEXT_LIMITS.items():
            errors.max_length([*base, key], embed.get(key), limit)
            total += len(embed.get(key) or "")
        fields = embed.get("fields") or []
        errors.max_length([*base, "fields"], fields, MAX_EMBED_FIELDS)
        for j, field in enumerate(fields):
            errors.max_length([*base, "fields", j, "name"], field.get("name"), 256)
            errors.max_length([*base, "fields", j, "value"], field.get("value"), 1024)
            total += len(field.get("name") or "") + len(field.get("value") or "")
        footer = (embed.get("footer") or {}).get("text")
        author = (embed.get("author") or {}).get("name")
        errors.max_length([*base, "footer", "text"], footer, 2048)
        errors.max_length([*base, "author", "name"], author, 256)
        total += len(footer or "") + len(author or "")
    if total > MAX_EMBED_TOTAL:
        errors.add(["embeds"], "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")


def check_components(rows: list[dict[str, Any]], errors: FormErrors, base: list[str | int]) -> None:
    """Legacy (non components-V2) layout: ≤ 5 rows of ≤ 5 buttons or one select; ids ≤ 100."""
    errors.max_length(base, rows, MAX_ACTION_ROWS)
    seen: set[str] = set()
    for i, row in enumerate(rows):
        children = row.get("components") or []
        if row.get("type") != 1:
            continue
        errors.max_length([*base, i, "components"], children, MAX_ROW_ITEMS)
        selects = [c for c in children if c.get("type") in (3, 5, 6, 7, 8)]
        if selects and len(children) > 1:
            errors.add([*base, i, "components"], "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                       "The specified component exceeds the maximum width")
        for j, comp in enumerate(children):
            path = [*base, i, "components", j]
            custom_id = comp.get("custom_id")
            if custom_id is not None:
                errors.length_between([*path, "custom_id"], custom_id, 1, MAX_CUSTOM_ID)
                if custom_id in seen:
                    errors.add([*path, "custom_id"], "COMPONENT_CUSTOM_ID_DUPLICATED",
                               "Component custom id cannot be duplicated")
                seen.add(custom_id)
            errors.max_length([*path, "label"], comp.get("label"), MAX_BUTTON_LABEL)
            errors.max_length([*path, "options"], comp.get("options"), MAX_SELECT_OPTIONS)


def check_modal(data: dict[str, Any]) -> None:
    errors = FormErrors()
    errors.length_between(["data", "title"], data.get("title"), 1, MAX_MODAL_TITLE)
    errors.length_between(["data", "custom_id"], data.get("custom_id"), 1, MAX_CUSTOM_ID)
    errors.length_between(["data", "components"], data.get("components") or [], 1, MAX_MODAL_COMPONENTS)
    errors.raise_if_any()


def check_autocomplete(data: dict[str, Any]) -> None:
    errors = FormErrors()
    errors.max_length(["data", "choices"], data.get("choices") or [], MAX_CHOICES)
    errors.raise_if_any()


def check_commands(commands: list[dict[str, Any]]) -> None:
    """What Discord rejects on a bulk overwrite: names, descriptions, ≤ 25 options/choices."""
    errors = FormErrors()
    chat = [c for c in commands if c.get("type", 1) == 1]
    if len(chat) > 100:
        errors.add([], "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
    for i, cmd in enumerate(commands):
        errors.length_between([i, "name"], cmd.get("name"), 1, MAX_NAME)
        if cmd.get("type", 1) == 1:
            errors.length_between([i, "description"], cmd.get("description"), 1, MAX_DESCRIPTION)
        _check_options(cmd.get("options") or [], errors, [i, "options"])
    errors.raise_if_any()


def _check_options(options: list[dict[str, Any]], errors: FormErrors, base: list[str | int]) -> None:
    errors.max_length(base, options, MAX_OPTIONS)
    seen_optional = False
    for j, opt in enumerate(options):
        path = [*base, j]
        errors.length_between([*path, "name"], opt.get("name"), 1, MAX_NAME)
        errors.length_between([*path, "description"], opt.get("description"), 1, MAX_DESCRIPTION)
        errors.max_length([*path, "choices"], opt.get("choices"), MAX_CHOICES)
        if opt.get("type") in (1, 2):
            _check_options(opt.get("options") or [], errors, [*path, "options"])
            continue
        if opt.get("required"):
            if seen_optional:
                errors.add([*path, "required"], "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                           "Required options must be placed before non-required options")
        else:
            seen_optional = True
