"""In-memory files for the fake: the input, output and temp folders.

Kept in memory so a test leaves nothing on disk; names follow the real server's rules
(SaveImage ``prefix_00001_.png`` counters per folder, upload renames ``x (1).png`` when the
same name arrives with different bytes, ``..`` and absolute paths refused).
"""

from __future__ import annotations

import posixpath
import secrets

FOLDER_TYPES = ("input", "output", "temp")


class PathRefused(ValueError):
    """A filename or subfolder tried to leave its folder."""


def safe_join(subfolder: str, filename: str) -> str:
    """``subfolder/filename`` normalised; raises ``PathRefused`` on escapes."""
    if filename.startswith("/") or ".." in filename.split("/") or "\\" in filename:
        raise PathRefused(filename)
    joined = posixpath.normpath(posixpath.join(subfolder or ".", filename))
    if joined.startswith("..") or joined.startswith("/"):
        raise PathRefused(subfolder)
    return joined


class FileStore:
    """``{folder_type: {relative_path: bytes}}`` with the real server's naming."""

    def __init__(self) -> None:
        self.files: dict[str, dict[str, bytes]] = {t: {} for t in FOLDER_TYPES}
        self._counters: dict[tuple[str, str, str], int] = {}

    def get(self, folder_type: str, subfolder: str, filename: str) -> bytes | None:
        return self.files.get(folder_type, {}).get(safe_join(subfolder, filename))

    def put(self, folder_type: str, path: str, data: bytes) -> None:
        self.files[folder_type][path] = data

    def upload(
        self, data: bytes, filename: str, subfolder: str, folder_type: str, overwrite: bool
    ) -> str:
        """Store an upload; returns the name used (renamed on a clash with other bytes)."""
        path = safe_join(subfolder, filename)
        folder = self.files[folder_type]
        if not overwrite and path in folder and folder[path] != data:
            stem, dot, ext = filename.rpartition(".")
            stem, ext = (stem, "." + ext) if dot else (filename, "")
            n = 1
            while True:
                candidate = f"{stem} ({n}){ext}"
                path = safe_join(subfolder, candidate)
                if path not in folder or folder[path] == data:
                    filename = candidate
                    break
                n += 1
        folder[path] = data
        return filename

    def input_names(self) -> list[str]:
        """What LoadImage lists: files directly in the input folder, sorted."""
        return sorted(p for p in self.files["input"] if "/" not in p)

    def has_input_image(self, name: str) -> bool:
        """LoadImage's check: ``sub/x.png`` and ``x.png [temp]`` forms are accepted."""
        folder_type = "input"
        for tag in ("input", "output", "temp"):
            if name.endswith(f" [{tag}]"):
                name, folder_type = name[: -len(tag) - 3], tag
        try:
            return safe_join("", name) in self.files[folder_type]
        except PathRefused:
            return False

    def read_input_image(self, name: str) -> bytes | None:
        folder_type = "input"
        for tag in ("input", "output", "temp"):
            if name.endswith(f" [{tag}]"):
                name, folder_type = name[: -len(tag) - 3], tag
        try:
            return self.files[folder_type].get(safe_join("", name))
        except PathRefused:
            return None

    def next_save_name(self, folder_type: str, prefix: str) -> tuple[str, str]:
        """``(subfolder, filename)`` for the next SaveImage/PreviewImage file of ``prefix``."""
        subfolder, _, base = prefix.rpartition("/")
        if folder_type == "temp":
            base = f"{base}_temp_{''.join(secrets.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(5))}"
        key = (folder_type, subfolder, base)
        if key not in self._counters:  # first save of this prefix: continue from what exists
            counter = 1
            for path in self.files[folder_type]:
                name = posixpath.basename(path)
                if posixpath.dirname(path) == subfolder and name.startswith(base + "_"):
                    digits = name[len(base) + 1 :].split("_")[0]
                    if digits.isdigit():
                        counter = max(counter, int(digits) + 1)
            self._counters[key] = counter
        counter = self._counters[key]
        self._counters[key] = counter + 1
        return subfolder, f"{base}_{counter:05d}_.png"
