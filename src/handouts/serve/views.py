"""What the web app's pages show: plain data made by the backend, read by the templates,
and the names of form fields and key paths in words. Nothing here calls the library."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

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
    review_fingerprint: str = ""  # of the text its built PDF prints: what a reader approves
    building: bool = False  # a preview of it is waiting or being rendered

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
class ApproveForm:
    """The sign-off form on a document's page: who approves, an optional note, and the
    fingerprint of the text printed in the pages the reviewer was shown."""

    by: str = ""
    note: str = ""
    fingerprint: str = ""
    errors: dict[str, list[Problem]] = field(default_factory=dict)
    general: list[Problem] = field(default_factory=list)
    focus: str = ""


@dataclass
class SendLine:
    """One address as staff typed it, checked: on the confirmation in full (they read it
    back), in the results masked, as the CLI shows them."""

    line: int
    address: str
    masked: str
    suggestion: str = ""  # the address probably meant (a likely typo of a mail domain)
    typed_domain: str = ""
    meant_domain: str = ""
    choice: str = ""  # fix | keep | skip, for a likely typo
    already: str = ""  # when it was sent the same leaflet in the last 24 hours
    note: str = ""


@dataclass
class SendForm:
    """The send-to-a-patient form, carried from step to step in the page itself (the app
    keeps no address anywhere)."""

    to: str = ""
    consent: bool = False
    again: bool = False
    choices: dict[int, str] = field(default_factory=dict)  # line → fix | keep | skip
    lines: list[SendLine] = field(default_factory=list)
    errors: dict[str, list[Problem]] = field(default_factory=dict)
    general: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    focus: str = ""


@dataclass
class SendOverview:
    """What the CLI's confirmation shows: recipients, handout, language, attachment."""

    handout: str
    title: str
    brand_name: str
    layout: str
    language: str
    attachment: str
    size_kb: int
    to_send: list[SendLine]
    skipped: list[SendLine]
    smtp: bool  # sending by SMTP is possible (else only a .eml download)
    smtp_problem: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class SendResult:
    """What happened, in the CLI's words and with addresses masked."""

    lines: list[tuple[str, str, str]]  # (status, masked address and line, detail)
    counts: str
    stopped: str = ""
    ok: bool = True


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
    proposed_accent: str | None = None  # the nearest lighter accent that passes


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


# ---------------------------------------------------------------- words for staff


def conflict(display: str) -> SaveOutcome:
    return SaveOutcome(
        False,
        [
            Problem(
                display,
                "this file was changed outside the app since you opened it (by a text "
                "editor, or a git pull)",
                hint="copy your changes somewhere, reload the page, and make them again",
            )
        ],
        conflict=True,
    )


def plain_wait(text: str) -> str:
    return (
        "Another build is writing to the output folder (for example `handouts build` in a "
        f"terminal); this one starts when it is done. ({text})"
    )


def image_kind(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpg"
    if b"<svg" in data[:4096]:
        return "svg"
    return None


def reading_text(summary: dict[str, Any]) -> tuple[str, bool | None]:
    if not summary:
        return "no reading-level formula for this language", None
    if summary.get("scale") == "grade":
        grade, target = summary.get("grade"), summary.get("target_grade")
        if grade is None:
            return "", None
        return f"Grade {grade:.1f} (target: {target} or lower)", grade <= (target or 8)
    ease = summary.get("fernandez_huerta")
    band = summary.get("fernandez_huerta_band") or ""
    if ease is None:
        return "", None
    return f"Ease {ease:.0f} of 100, {band}", ease >= 60


def preflight_views(record: dict[str, Any]) -> list[FindingView]:
    """Preflight findings as the manifest will record them (the print preflight): a list
    under ``preflight`` of {severity, code, message, hint, page, bbox: [x0, top, x1, bottom]
    in points from the page's top-left}. The manifest is data from disk: anything else is
    skipped."""
    found = record.get("preflight")
    views: list[FindingView] = []
    if not isinstance(found, list):
        return views
    for item in found[:200]:
        if not isinstance(item, dict):
            continue
        message = item.get("message")
        if not isinstance(message, str):
            continue
        severity = "error" if item.get("severity") == "error" else "warning"
        page = item.get("page")
        page = page if isinstance(page, int) and 1 <= page <= 1000 else None
        bbox = item.get("bbox")
        box: tuple[float, float, float, float] | None = None
        if (
            isinstance(bbox, list)
            and len(bbox) == 4
            and all(isinstance(v, int | float) and 0 <= v <= 10_000 for v in bbox)
            and bbox[2] > bbox[0]
            and bbox[3] > bbox[1]
        ):
            box = (float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3]))
        code = item.get("code") or (f"preflight.{item['rule']}" if item.get("rule") else None)
        element = item.get("element")
        if isinstance(element, str) and element:
            message = f"{element}: {message}"
        hint = item.get("hint")
        views.append(
            FindingView(
                severity,
                str(code)[:60] if isinstance(code, str) else "preflight",
                message[:500],
                hint[:500] if isinstance(hint, str) else "",
                page=page,
                bbox=box if page else None,
            )
        )
    return views


# ---------------------------------------------------------------- brand colours


def day(date: dt.date) -> str:
    return f"{date:%b} {date.day}, {date.year}"


def when(stamp: Any) -> str:
    """``2026-12-03T14:15:45+00:00`` → ``December 3, 2026 at 15:15`` (local time)."""
    if not isinstance(stamp, str):
        return ""
    try:
        moment = dt.datetime.fromisoformat(stamp).astimezone()
    except ValueError:
        return ""
    return f"{day(moment.date())} at {moment:%H:%M}"


def plain_pair(what: str) -> str:
    """The check's description of a colour pair without the names of derived colours."""
    what = re.sub(r" \((?:primary|accent)_[a-z]+\)", "", what)
    return what.replace("the accent_tint", "the notice box")


# ---------------------------------------------------------------- sending, in the CLI's words


def _line_number(where: str) -> int:
    number = where.removeprefix("line ")
    return int(number) if number.isdigit() else 0


def send_overview(plan: Any, why: str, smtp_configured: bool) -> SendOverview:
    """The CLI's confirmation (``handouts send`` without --yes) from a send plan: each address
    to send to in full, the handout, the language and the attachment; and the addresses
    skipped because they got the same leaflet in the last 24 hours."""
    to_send, skipped = [], []
    for d in plan.deliveries:
        r = d.recipient
        line = SendLine(_line_number(r.where), r.address, r.masked, note=d.note)
        if plan.again or d.already is None:
            to_send.append(line)
        else:
            line.already = when(d.already.get("time", "")) or str(d.already.get("time", ""))
            skipped.append(line)
    first = plan.deliveries[0]
    if why and not smtp_configured:
        why = (
            "Sending by email is not set up on this computer: handouts.yaml has no smtp: block "
            "(docs/sending-to-patients.md says how to add one)."
        )
    return SendOverview(
        plan.handout,
        first.handout.handout.title,
        plan.brand.brand.name,
        plan.layout,
        f"{first.language}",
        first.attachment,
        round(first.document.size / 1024),
        to_send,
        skipped,
        not why,
        why,
        list(plan.notes),
    )


def send_result(summary: Any, eml: bool = False) -> SendResult:
    """What was sent, skipped, failed or not sent, with addresses masked, and the counts, as
    `handouts send` prints them."""
    done = "written" if eml else "sent"
    lines = []
    for o in summary.outcomes:
        r = o.delivery.recipient
        who = f"{r.masked} ({r.where})"
        if o.status in ("sent", "written"):
            lines.append((o.status, who, o.delivery.language))
        else:
            lines.append((o.status, who, o.detail))
    counts = [f"{summary.count(done)} {done}"]
    for status in ("skipped", "failed", "not sent"):
        if summary.count(status):
            counts.append(f"{summary.count(status)} {status}")
    return SendResult(lines, ", ".join(counts) + ".", summary.stopped, summary.ok)
