"""The intermediate model every importer produces and the writer turns into handout YAML.

A draft holds only what the source says, with every guess the importer made attached to the
piece it concerns (the writer prints each as a ``# CHECK:`` comment there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Reference fields, in the order the writer prints them (models.Reference).
REFERENCE_FIELDS = (
    "authors",
    "journal",
    "publisher",
    "year",
    "date",
    "volume",
    "doi",
    "pmid",
    "url",
    "note",
)


@dataclass
class DraftNotice:
    kind: str  # info | warning
    text: str  # Markdown
    sources: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)


@dataclass
class DraftQuestion:
    question: str
    answer: str  # Markdown
    sources: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)  # about the question line
    answer_checks: list[str] = field(default_factory=list)  # about the answer's text


@dataclass
class DraftReference:
    id: str
    title: str
    fields: dict[str, Any] = field(default_factory=dict)  # REFERENCE_FIELDS only
    checks: list[str] = field(default_factory=list)

    @property
    def has_link(self) -> bool:
        return any(self.fields.get(k) for k in ("doi", "pmid", "url"))


@dataclass
class DraftClosing:
    heading: str
    text: str | None = None
    checks: list[str] = field(default_factory=list)


@dataclass
class Draft:
    """One imported handout, before it is written."""

    source: str  # the file it came from, as the user named it
    fmt: str  # text | markdown | html | docx
    title: str = ""
    subtitle: str | None = None
    title_checks: list[str] = field(default_factory=list)
    language: str | None = None  # what the source says its language is, if it says
    notices: list[DraftNotice] = field(default_factory=list)
    questions: list[DraftQuestion] = field(default_factory=list)
    references: list[DraftReference] = field(default_factory=list)
    closing: DraftClosing | None = None
    warnings: list[str] = field(default_factory=list)
