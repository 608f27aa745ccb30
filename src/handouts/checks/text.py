"""Content as the reader sees it: Markdown reduced to plain blocks, sentences and words, and
the place in the YAML file where a word or character was written."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Protocol

from ..errors import HandoutsError, Problem
from ..files import read_file
from ..yamlio import MAX_BYTES, KeyPath, Mark, format_key, locate

_WORD = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*")
# A sentence ends at . ! ? or … (closing quotes and brackets may follow) before a space and a
# character that is not lower case; "e.g. a" and "U.S. Food" are kept whole below.
_BOUNDARY = re.compile(r"(?<=[.!?…])([\"'\u201d\u2019)\]]*)\s+(?=[^\sa-zß-ÿ])")
_ABBREVIATION = re.compile(
    # "etc." and "No." end sentences more often than they sit inside one: not listed.
    r"(?:\b(?:[A-Za-z]\.){2,}|\b(?:e\.g|i\.e|vs|approx|Dr|Mr|Mrs|Ms|Fig|Sr|Sra|Dra|Ud|Uds|"
    r"p\.ej|aprox)\.)$"
)


def sentences(block: str) -> list[str]:
    """Split one block into sentences; a block without end punctuation is one sentence."""
    result: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(block):
        if _ABBREVIATION.search(block[start : match.start()]):
            continue
        result.append(block[start : match.start() + len(match.group(1))].strip())
        start = match.end()
    tail = block[start:].strip()
    if tail:
        result.append(tail)
    return [s for s in result if words(s)]


def words(text: str) -> list[str]:
    """Words, keeping hyphenated words and contractions whole (as readability formulas do)."""
    return _WORD.findall(text)


# ---------------------------------------------------------------- where it was written


class Located(Protocol):
    """A loaded handout or brand: what a check needs to point at a line of its file."""

    @property
    def path(self) -> Path: ...
    @property
    def display(self) -> str: ...
    @property
    def marks(self) -> dict[KeyPath, Mark]: ...


class Locator:
    """Finds the line and column where a pattern occurs inside one field of a YAML file.

    A field's text runs from its value's mark to the next value's mark; searching the source
    there (rather than counting lines in the parsed value) also works for quoted and folded
    scalars, whose line breaks YAML has removed.
    """

    def __init__(self, loaded: Located) -> None:
        self.display = loaded.display
        self.path = loaded.path
        self.marks = loaded.marks

    @cached_property
    def _lines(self) -> list[str]:
        try:
            raw = read_file(self.path, limit=MAX_BYTES, roots=(self.path.parent,))
        except HandoutsError:  # the file changed under us: fall back to the marks alone
            return []
        return raw.decode("utf-8-sig", errors="replace").splitlines()

    @cached_property
    def _starts(self) -> list[tuple[int, int]]:
        return sorted({(m.line, m.col) for m in self.marks.values()})

    def _region(self, mark: Mark) -> Iterator[tuple[int, int, str]]:
        """(line, first column, text) of each source line of the field starting at ``mark``."""
        start = (mark.line, mark.col)
        end = next((s for s in self._starts if s > start), (len(self._lines) + 1, 1))
        for number in range(mark.line, min(end[0], len(self._lines)) + 1):
            text = self._lines[number - 1]
            first = mark.col if number == mark.line else 1
            last = end[1] - 1 if number == end[0] else len(text)
            yield number, first, text[first - 1 : last]

    def find(self, key: KeyPath, pattern: re.Pattern[str]) -> tuple[int, int] | None:
        """Line and column (1-based) of the first match of ``pattern`` in the field ``key``.

        Words may be broken over lines or wrapped in Markdown: a pattern should allow
        ``\\W+`` between words.
        """
        mark = locate(self.marks, key)
        if mark is None:
            return None
        region = list(self._region(mark))
        text = "\n".join(part for _, _, part in region)
        match = pattern.search(text)
        if not match:
            return None
        offset = match.start()
        for number, first, part in region:
            if offset <= len(part):
                return number, first + offset
            offset -= len(part) + 1
        return None  # pragma: no cover - the match lies inside the region

    def problem(
        self, key: KeyPath, message: str, hint: str = "", pattern: re.Pattern[str] | None = None
    ) -> Problem:
        """A Problem at the first match of ``pattern`` in ``key``, else at the field itself."""
        where = self.find(key, pattern) if pattern is not None else None
        if where is None:
            mark = locate(self.marks, key)
            where = (mark.line, mark.col) if mark else (None, None)
        return Problem(self.display, message, where[0], where[1], format_key(key), hint)


def phrase_pattern(text: str, max_words: int = 5) -> re.Pattern[str] | None:
    """A pattern for the first words of ``text`` as written in YAML, where Markdown marks,
    line breaks and indentation may sit between the words."""
    first = words(text)[:max_words]
    if not first:
        return None
    return re.compile(r"[\W_]+".join(re.escape(w) for w in first), re.IGNORECASE)
