"""What the web app's pages show: plain data made by the backend, read by the templates,
and the names of form fields and key paths in words. Nothing here calls the library."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import Problem

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
LANG = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
HEX = re.compile(r"^#[0-9a-fA-F]{6}$")

STATUS_LABELS = {
    "current": "Up to date",
    "changed": "Changed",
    "failed": "Failed",
    "draft": "Draft",
}


@dataclass(frozen=True, order=True)
class DocKey:
    """One document: brand, handout, language and layout (all validated slugs)."""

    brand: str
    handout: str
    language: str
    layout: str

    @property
    def url(self) -> str:
        return f"/doc/{self.brand}/{self.handout}/{self.language}/{self.layout}"

    @property
    def output(self) -> str:
        return f"{self.brand}/{self.handout}.{self.language}.{self.layout}.pdf"

    @classmethod
    def parse(cls, brand: str, handout: str, language: str, layout: str) -> DocKey | None:
        """A key from request text, or None when any part is not a plain id."""
        if not (SLUG.fullmatch(brand) and SLUG.fullmatch(handout) and SLUG.fullmatch(layout)):
            return None
        if not LANG.fullmatch(language):
            return None
        return cls(brand, handout, language, layout)


@dataclass
class FindingView:
    """A check, build or preflight finding as the pages show it."""

    severity: str  # error | warning
    code: str
    message: str
    hint: str = ""
    where: str = ""  # file:line, as the CLI says it
    key: str = ""  # questions[2].answer
    field: str = ""  # the form field it concerns (f-questions-2-answer)
    edit_url: str = ""  # the page where it is fixed, with the field's anchor
    page: int | None = None  # preflight: the page (1-based) and the spot on it, in points
    bbox: tuple[float, float, float, float] | None = None
    text: str = ""  # the whole line, as `handouts check` prints it
    label: str = ""  # the field in words: "Answer 2"
    line: int | None = None
    file: str = ""


@dataclass
class DocRow:
    key: DocKey
    output: str
    title: str
    brand_name: str
    language_name: str
    status: str  # current | changed | failed | draft
    reason: str
    reading: str
    reading_ok: bool | None
    review: str
    review_state: str  # reviewed | overdue | none
    findings: list[FindingView]
    thumbnail: bool
    sha256: str
    pages: int
    built_at: str
    error: str = ""
    built_label: str = ""

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def layout_label(self) -> str:
        return layout_label(self.key.layout)

    @property
    def warnings(self) -> list[FindingView]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def errors(self) -> list[FindingView]:
        return [f for f in self.findings if f.severity == "error"]


@dataclass
class BlockedRow:
    """A document that a file with errors keeps from being made."""

    label: str
    error: str
    edit_url: str


@dataclass
class Facets:
    brands: list[tuple[str, str]]
    languages: list[tuple[str, str]]
    layouts: list[str]


@dataclass
class SaveOutcome:
    saved: bool
    problems: list[Problem] = field(default_factory=list)
    sha256: str = ""
    conflict: bool = False
    message: str = ""


@dataclass
class BuildStatus:
    running: bool = False
    kind: str = ""  # "all" or a document label
    total: int = 0
    done: int = 0
    built: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    waiting: str = ""
    finished_at: str = ""
    seconds: float = 0.0
    cancelled: bool = False
    error: str = ""


@dataclass
class PairView:
    what: str
    text: str
    background: str
    ratio: float
    needs: float

    @property
    def ok(self) -> bool:
        return self.ratio >= self.needs


@dataclass
class ContrastView:
    primary: str
    accent: str
    pairs: list[PairView]
    problems: list[FindingView]
    proposed: str | None  # the nearest darker primary that passes, when it fails
    invalid: list[tuple[str, str]]  # (field, message) for a colour that is not #RRGGBB


_LAYOUTS = {"leaflet": "Leaflet", "large-print": "Large print", "trifold": "Tri-fold"}


def layout_label(name: str) -> str:
    return _LAYOUTS.get(name, name.replace("-", " ").capitalize())


_FIELDS = {
    "title": "Title",
    "subtitle": "Subtitle",
    "notices": "Notice {}",
    "questions": "Question {}",
    "references": "Source {}",
    "closing": "Closing",
    "review": "Review",
    "translation": "Translation",
    "colors": "Colours",
    "contact": "Contact",
    "logo": "Logo",
    "name": "Clinic name",
}
_PARTS = {
    "answer": "answer",
    "question": "question",
    "text": "text",
    "heading": "heading",
    "sources": "sources",
    "primary": "main colour",
    "accent": "accent colour",
    "next_review": "next review date",
    "reviewed_on": "review date",
}


def key_label(key: str) -> str:
    """``questions[2].answer`` → ``Question 2, answer``: a key path in words for staff."""
    match = re.match(r"^([a-z_]+)(?:\[(\d+)\])?(?:\.([a-z_]+))?", key)
    if not match:
        return ""
    head, number, part = match.groups()
    label = _FIELDS.get(head, head.replace("_", " ").capitalize())
    label = label.format(number) if number else label.replace(" {}", "s").replace("{}", "")
    if part:
        label += f", {_PARTS.get(part, part.replace('_', ' '))}"
    return label


_KEY_PART = re.compile(r"\[(\d+)\]")


def field_id(key: str) -> str:
    """``questions[2].answer`` → ``f-questions-2-answer``: the form field of a key path."""
    text = _KEY_PART.sub(lambda m: f"-{m.group(1)}", key).replace(".", "-")
    return f"f-{text}" if text else ""
