"""Errors that users can cause, each pointing at a place in a file and saying how to fix it.

A Problem may quote file names and values from the user's files; control characters in them
are made visible (``\\x1b``) here, so no message can drive the terminal it is printed on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# C0 and C1 controls (line breaks too: a message is one line), lone surrogates (unprintable),
# Unicode line separators, and the bidirectional embeddings, overrides and isolates.
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


MAX_SHOWN = 2000  # characters of one field of a message; a value may be a megabyte long


def _shorten(text: str) -> str:
    if len(text) <= MAX_SHOWN:
        return text
    half = MAX_SHOWN // 2 - 10
    return f"{text[:half]} … ({len(text) - 2 * half:,} characters) … {text[-half:]}"


def visible(text: str) -> str:
    """``text`` with every control character written out as an escape, e.g. ESC → ``\\x1b``."""
    return _INVISIBLE.sub(_escape, text)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the user's input, located as precisely as we can."""

    path: Path | str
    message: str
    line: int | None = None  # 1-based
    col: int | None = None  # 1-based
    key: str = ""  # key path inside the file, e.g. ``questions[2].answer``
    hint: str = ""

    def __post_init__(self) -> None:
        # Everything a Problem shows may come from a file or a file name: make it printable.
        # A quoted value may be huge: each field is cut to its two ends.
        for name in ("message", "key", "hint"):
            value = getattr(self, name)
            if isinstance(value, str) and (len(value) > MAX_SHOWN or _INVISIBLE.search(value)):
                object.__setattr__(self, name, visible(_shorten(value)))
        shown = str(self.path)
        if len(shown) > MAX_SHOWN or _INVISIBLE.search(shown):
            object.__setattr__(self, "path", visible(_shorten(shown)))

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
