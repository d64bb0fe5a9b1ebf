"""The owner's settings as written (settings.toml, .secrets.toml, DISCOMFY_* variables), before
dynaconf merges them.

dynaconf reads the files with its own TOML parser and shows a mistake as a 40-line traceback that
names neither the file nor the fix, and once the sources are merged nobody can tell which one set
a value. Reading the files here first lets ``discomfy`` name the file, line and column of a syntax
error, and say which file or variable a bad or misspelt setting came from.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: The owner's files, lowest precedence first; DISCOMFY_* variables win over both.
USER_FILES = ("settings.toml", ".secrets.toml")
ENV_PREFIX = "DISCOMFY"  # dynaconf's envvar_prefix: it reads DISCOMFY_<SECTION>__<KEY>

# Python 3.11's TOMLDecodeError has no lineno/colno attributes (3.14 adds them): its message ends so.
_POSITION = re.compile(r"^(?P<what>.*) \(at (?:line (?P<line>\d+), column (?P<column>\d+)|end of document)\)$", re.S)

# What an owner does about tomllib's most common complaints; anything else gets the general rule.
_HINTS = (
    ("at the end of a table declaration", "Close the section name on the same line: [comfyui]."),
    ("Invalid value", 'A value is text in double quotes, a number, true/false or a [list].'),
    ("Illegal character", 'A text value must close its quotes on the same line: key = "text".'),
    ("after a key in a key/value pair", "Each setting is one line of the form key = value."),
    ("after a statement", "Put one key = value per line, and quote text values."),
    ("twice", "A section appears twice: merge the two into one."),
    ("Cannot overwrite a value", "A key appears twice: keep one of them."),
)
_GENERAL_HINT = 'TOML wants [section] headers and key = value lines, with text in "double quotes".'


def shown(path: Path) -> str:
    """``path`` as an owner would type it: relative to the working directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def syntax_problem(path: Path, error: tomllib.TOMLDecodeError | UnicodeDecodeError) -> str:
    """One problem text naming the file, line and column, what TOML expected there, and the fix."""
    text = path.read_bytes().decode("utf-8", "replace")
    if isinstance(error, UnicodeDecodeError):
        line = text.count("\n", 0, error.start) + 1
        return f"{shown(path)} line {line} is not UTF-8 text; save the file as UTF-8."
    lines = text.splitlines() or [""]
    match = _POSITION.match(str(error))
    what = match["what"] if match else str(error)
    at_end = not (match and match["line"])
    line, column = (len(lines), len(lines[-1]) + 1) if at_end else (int(match["line"]), int(match["column"]))
    source = lines[line - 1] if line <= len(lines) else ""
    hint = ("The file ends inside a value: close the [list], {table} or quotes it opens." if at_end
            else _hint(what, source, column))
    return (f"{shown(path)} line {line}, column {column} is not valid TOML: {what}.\n"
            f"      {line:>4} | {source}\n             {' ' * (column - 1)}^\n    {hint}")


def _hint(what: str, source: str, column: int) -> str:
    key, equals, value = source.partition("=")
    at_value = equals and column - 1 == len(source) - len(value.lstrip())
    if what == "Invalid value" and at_value and value.strip()[:1] not in ("", "[", "{", '"', "'"):  # unquoted text
        return (f'Text goes in double quotes: {key.strip()} = "{value.strip()}" '
                "(numbers, true/false and [lists] need none).")
    return next((hint for needle, hint in _HINTS if needle in what), _GENERAL_HINT)


def read_user_files(root: Path) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The tables of the owner's files in ``root`` by file name (absent files left out), and a
    problem text for each file that is not valid TOML."""
    tables: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for name in USER_FILES:
        path = root / name
        if not path.is_file():
            continue
        try:
            tables[name] = tomllib.loads(path.read_bytes().decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            problems.append(syntax_problem(path, exc))
    return tables, problems


def env_name(dotted: str) -> str:
    """The variable that sets ``section.key``: DISCOMFY_SECTION__KEY."""
    return f"{ENV_PREFIX}_{dotted.upper().replace('.', '__')}"


def setting_variables(environ: Mapping[str, str]) -> list[str]:
    """The DISCOMFY_* variables dynaconf reads (its prefix is case-sensitive, the rest is not)."""
    return sorted(name for name in environ if name.startswith(f"{ENV_PREFIX}_"))


def fix_where(config: Any, dotted: str) -> str:
    """How a problem text ends: where the value of ``section.key`` was set, to fix it there."""
    key = dotted.split("[", 1)[0]  # comfyui.servers[1] is set where comfyui.servers is
    variable = next((name for name in setting_variables(os.environ) if name.upper() == env_name(key)), None)
    if variable:
        return f"it comes from the environment variable {variable}, which wins over the files: fix or unset it"
    tables, _ = read_user_files(Path(config.ROOT))
    section, _, name = key.partition(".")
    for file in reversed(USER_FILES):
        table = tables.get(file, {}).get(section)
        if isinstance(table, dict) and name in table:
            return f"fix it in {file}"
    return "set it in settings.toml"
