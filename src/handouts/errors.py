"""Errors that users can cause, each pointing at a place in a file and saying how to fix it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the user's input, located as precisely as we can."""

    path: Path | str
    message: str
    line: int | None = None  # 1-based
    col: int | None = None  # 1-based
    key: str = ""  # key path inside the file, e.g. ``questions[2].answer``
    hint: str = ""

    def location(self) -> str:
        where = str(self.path)
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        return where

    def __str__(self) -> str:
        text = self.location()
        if self.key:
            text += f" {self.key}"
        text += f": {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class HandoutsError(Exception):
    """Base class for every error a user can cause; carries one or more Problems."""

    def __init__(self, problems: Problem | Iterable[Problem] | str) -> None:
        if isinstance(problems, str):
            self.problems: tuple[Problem, ...] = ()
            text = problems
        else:
            self.problems = (problems,) if isinstance(problems, Problem) else tuple(problems)
            text = "\n".join(str(p) for p in self.problems)
        super().__init__(text)


class RenderError(HandoutsError):
    """A document could not be rendered safely (blocked resource, broken template, ...)."""
