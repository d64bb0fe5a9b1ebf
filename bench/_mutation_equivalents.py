"""The equivalent mutants written down in docs/mutation.md, read back for bench/mutation.py.

docs/mutation.md is the one place an equivalent mutant is declared: under a heading naming the
module's path, a table row gives the function, the line as the mutant has it, and why no user
or operator could tell the difference. A mutant is matched by function and mutated line, not by
mutmut's number, which shifts whenever the function is edited; an entry whose line no longer
occurs simply stops matching, and the mutant counts as a survivor again until it is looked at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_HEADING = re.compile(r"^#+ .*`(discomfy/[\w/]+\.py)`")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")


@dataclass(frozen=True)
class Equivalent:
    """One declared equivalent mutant: where it is, what its line reads, and why it is harmless."""

    path: str
    function: str
    line: str
    reason: str

    def matches(self, path: str, mutant: str, diff: str) -> bool:
        """Whether mutmut's ``mutant`` (named ``<module>.x_<function>__mutmut_<n>``, methods as
        ``xǁ<Class>ǁ<method>``) with this ``diff`` is this entry."""
        return path == self.path and function_of(mutant) == self.function and self.line == mutated_line(diff)


def function_of(mutant: str) -> str:
    """``Class.method`` or ``function`` from a mutmut mutant name."""
    mangled = mutant.rsplit(".", 1)[-1].rsplit("__mutmut_", 1)[0]
    if mangled.startswith("xǁ"):
        return ".".join(part for part in mangled[2:].split("ǁ") if part)
    return mangled.removeprefix("x_")


def mutated_line(diff: str) -> str:
    """The mutant's changed line(s), stripped and joined by `` / `` (the removed line, marked
    ``removed:``, when the mutant only deletes)."""
    added = [line[1:].strip() for line in diff.splitlines() if line.startswith("+")]
    if added:
        return " / ".join(added)
    return "removed: " + " / ".join(line[1:].strip() for line in diff.splitlines() if line.startswith("-"))


def _cells(row: str) -> list[str]:
    cells = [cell.strip().replace("\\|", "|") for cell in _CELL_SPLIT.split(row.strip().strip("|"))]
    return [cell[1:-1] if cell.startswith("`") and cell.endswith("`") else cell for cell in cells]


def load_equivalents(doc: Path) -> list[Equivalent]:
    """Every row of an equivalents table (header ``| function | mutated line | why … |``)."""
    found: list[Equivalent] = []
    path = None
    in_table = False
    for row in doc.read_text().splitlines():
        heading = _HEADING.match(row)
        if heading:
            path, in_table = heading.group(1), False
            continue
        if not row.startswith("|"):
            in_table = False
            continue
        cells = _cells(row)
        if cells[:2] == ["function", "mutated line"]:
            in_table = True
            continue
        if not in_table or set(row) <= set("|-: "):
            continue
        if path is None or len(cells) != 3 or not all(cells):
            raise ValueError(f"{doc}: an equivalent mutant needs a module heading and 3 filled cells: {row}")
        found.append(Equivalent(path, *cells))
    return found
