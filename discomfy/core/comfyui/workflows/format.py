"""Telling a ComfyUI API-format export from a UI-format (editor) export.

The editor's default "Save" writes the UI format (``{"nodes": [...], "links": [...]}``),
which the server cannot queue. It is the most common mistake when making a pack, so it is
recognised and explained instead of failing later with a confusing error.
"""

from __future__ import annotations

from typing import Any, Literal

UI_FORMAT_HELP = ("this is a UI-format export (the editor's plain Save); ComfyUI cannot queue it. "
                  "In ComfyUI enable the dev mode option, then export with Save (API) and use that file")


def detect_format(data: Any) -> Literal["api", "ui", "unknown"]:
    if isinstance(data, dict) and isinstance(data.get("nodes"), list) and "links" in data:
        return "ui"
    if (isinstance(data, dict) and data
            and all(isinstance(v, dict) and "class_type" in v for v in data.values())):
        return "api"
    return "unknown"
