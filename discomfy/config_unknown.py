"""Settings nothing reads: misspelt keys and sections in the files, and misspelt DISCOMFY_* variables.

dynaconf keeps whatever it is given, so ``per_usr = 2`` used to be ignored without a word while
the bot enforced the default. Every name is compared with the packaged defaults, which list every
DisComfy setting. A section named after a plugin (``[upscale]``) is that plugin's to read and
check, so only its name is checked: a misspelt one (``[upscal]``) is still reported. Each unknown
name comes with where it was set and the nearest known name.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from discomfy.config import DEFAULTS_FILE, default_values
from discomfy.config_files import ENV_PREFIX, env_name, read_user_files, setting_variables, shown
from discomfy.plugins import discover

#: DISCOMFY_* variables that are not settings (dynaconf would read them as top-level keys).
OTHER_VARIABLES = frozenset({
    "DISCOMFY_ROOT",  # the project folder when --root is not given
    "DISCOMFY_CHROMIUM",  # the browser of the playground's browser tests (discomfy.testing.playground)
})


def _nearest(name: str, candidates: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


class KnownNames:
    """The sections and keys DisComfy reads, and the sections its plugins read. Each ``*_problem``
    returns None for a name that is read, else the nearest known name (None when none is near)
    in a one-item tuple, so "unknown, nothing near" differs from "known"."""

    def __init__(self, plugins: Iterable[str]) -> None:
        self.keys: dict[str, set[str]] = {}
        for dotted in default_values():
            section, _, key = dotted.partition(".")
            self.keys.setdefault(section, set()).add(key)
        self.plugins = set(plugins)
        self.dotted = sorted(f"{s}.{k}" for s, keys in self.keys.items() for k in keys)

    def section_problem(self, section: str) -> tuple[str | None] | None:
        if section in self.keys or section in self.plugins:
            return None
        return (_nearest(section, [*self.keys, *self.plugins]),)

    def key_problem(self, section: str, key: str) -> tuple[str | None] | None:
        """``key`` inside ``section``; inside a plugin's section every key is the plugin's."""
        if section in self.plugins and section not in self.keys:
            return None
        if section not in self.keys:
            near = _nearest(section, [*self.keys, *self.plugins])
            return (f"{near}.{key}" if near else None,)
        if key in self.keys[section]:
            return None
        near = _nearest(key, self.keys[section])
        return (f"{section}.{near}" if near else self.key_anywhere(key),)

    def top_level_problem(self, name: str) -> tuple[str | None] | None:
        """A key outside any section (``token = ...`` above ``[discord]``): never read."""
        return (self.key_anywhere(name),)

    def key_anywhere(self, key: str) -> str | None:
        """``section.key`` of the known key nearest to ``key`` in any section."""
        near = _nearest(key, [d.partition(".")[2] for d in self.dotted])
        return next((d for d in self.dotted if d.partition(".")[2] == near), None) if near else None

    def sections_text(self) -> str:
        plugins = sorted(self.plugins - set(self.keys))
        return f"the sections are {', '.join(sorted(self.keys))}" + (f", and the plugins' {', '.join(plugins)}" if plugins else "")


def _file_problems(file: str, table: dict[str, Any], known: KnownNames) -> list[str]:
    found = []
    every = f"{shown(DEFAULTS_FILE)} lists every setting"
    for section, value in table.items():
        if not isinstance(value, dict):
            (near,) = known.top_level_problem(section)
            fix = f"did you mean {near}?" if near else f"move it under its [section]; {every}"
            found.append(f"{file} sets {section} outside any [section], so nothing reads it; {fix}")
            continue
        problem = known.section_problem(section)
        if problem:
            fix = f"did you mean [{problem[0]}]?" if problem[0] else f"rename or remove it; {known.sections_text()}"
            found.append(f"{file} has a section [{section}] that nothing reads, so it is ignored; {fix}")
            continue
        for key in value:
            problem = known.key_problem(section, key)
            if problem:
                fix = f"did you mean {problem[0]}?" if problem[0] else f"rename or remove it; {every}"
                found.append(f"{file} sets {section}.{key}, which nothing reads, so it is ignored; {fix}")
    return found


def _variable_problem(variable: str, known: KnownNames) -> str | None:
    section, _, rest = variable[len(ENV_PREFIX) + 1:].lower().partition("__")
    key = rest.partition("__")[0]  # deeper levels are inside the key's own value
    if key:
        problem, wrong = known.key_problem(section, key), f"{section}.{key}"
    else:  # DISCOMFY_LIMITS='{...}' sets a whole section; DISCOMFY_TOKEN a top-level key
        problem, wrong = known.section_problem(section) and known.top_level_problem(section), section
    if problem is None:
        return None
    fix = (f"did you mean {env_name(problem[0])}?" if problem[0]
           else f"rename or unset it; {shown(DEFAULTS_FILE)} lists every setting")
    return f"the environment variable {variable} sets {wrong}, which nothing reads, so it is ignored; {fix}"


def unknown_settings(config: Any, environ: Mapping[str, str] | None = None) -> list[str]:
    """One text per setting or DISCOMFY_* variable that neither DisComfy nor a plugin reads."""
    sources, _ = discover(config)
    known = KnownNames(source.name for source in sources)
    tables, _ = read_user_files(Path(config.ROOT))
    found = [text for file, table in tables.items() for text in _file_problems(file, table, known)]
    variables = setting_variables(os.environ if environ is None else environ)
    found += [text for v in variables if v not in OTHER_VARIABLES and (text := _variable_problem(v, known))]
    return found
