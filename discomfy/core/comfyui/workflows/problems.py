"""One problem found in a plugin or pack, with enough location to fix it without guessing."""

from __future__ import annotations

from dataclasses import dataclass

from discomfy.exceptions import WorkflowError


@dataclass(frozen=True)
class Problem:
    """``plugin``/``file``/``node``/``input`` locate the problem; ``message`` says what is wrong
    and, where possible, how to fix it. ``node`` and ``input`` are None when not applicable."""

    plugin: str
    file: str
    message: str
    node: str | None = None
    input: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.node is not None:
            where += f" node {self.node}"
        if self.input is not None:
            where += f" input `{self.input}`"
        return f"{self.plugin}: {where}: {self.message}"


class PackLoadError(WorkflowError):
    """A workflow manifest could not be loaded; ``problems`` says every reason found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        text = "; ".join(str(p) for p in self.problems)
        super().__init__(detail=text)
