"""Words for what came back when an HTTP answer from ComfyUI is not what ComfyUI sends.

Between the bot and ComfyUI there is often a reverse proxy (nginx, Caddy, a tunnel, an auth
gateway). When ComfyUI is down or the route is wrong, the proxy answers for it: an HTML error
page, a redirect to a login form, a body cut off mid-way. Quoting 300 bytes of ``<html>`` at an
operator says little; naming the page's title, the redirect target, or "cut off" says what
happened and where to look.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_REDIRECTS = (301, 302, 303, 307, 308)


def looks_like_html(raw: bytes, content_type: str = "") -> bool:
    head = raw[:200].lstrip().lower()
    return "html" in content_type.lower() or head.startswith((b"<!doctype html", b"<html"))


def describe_status(status: int, raw: bytes, headers: Mapping[str, str]) -> str:
    """One line for an answer whose status was not expected."""
    if status in _REDIRECTS:
        target = headers.get("Location", "somewhere else")
        return (f"HTTP {status} redirect to {target} — something in front of ComfyUI (a login page or "
                "proxy?) answered instead; point comfyui.url at ComfyUI itself")
    if looks_like_html(raw, headers.get("Content-Type", "")):
        match = _TITLE.search(raw)
        title = html.unescape(match.group(1).decode("utf-8", "replace")).strip() if match else ""
        return f"HTTP {status} with an HTML page" + (f" titled {title!r}" if title else "") + \
            " — a proxy in front of ComfyUI answered, ComfyUI itself may be down"
    snippet = raw[:300].decode("utf-8", "replace").strip()
    return f"HTTP {status}" + (f": {snippet}" if snippet else "")


def describe_unparsable(status: int, raw: bytes, headers: Mapping[str, str]) -> str:
    """One line for a 2xx answer that should have been JSON and is not."""
    if looks_like_html(raw, headers.get("Content-Type", "")):
        return describe_status(status, raw, headers).replace(
            "ComfyUI itself may be down", "it is not ComfyUI's API (check comfyui.url)")
    text = raw.lstrip()
    if text[:1] in (b"{", b"["):
        return f"answer was cut off: {len(raw)} bytes of JSON that do not parse (HTTP {status})"
    return f"answer was not JSON (HTTP {status})"
