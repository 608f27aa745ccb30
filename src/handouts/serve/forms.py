"""The handout and brand forms: what they show, what a posted form means, and which field a
problem belongs to (``questions[2].answer`` → the second answer's text box)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import Problem
from .storage import CONTACT_FIELDS, BrandEdit, HandoutEdit, NoticeEdit, QuestionEdit
from .views import field_id

MAX_QUESTIONS = 100
_ROW = re.compile(r"^q-(\d{1,3})-(question|answer|origin|sources)$")
_NOTICE = re.compile(r"^notice-(\d{1,3})-(text|kind)$")


@dataclass
class QuestionField:
    question: str
    answer: str
    sources: list[str] = field(default_factory=list)
    origin: int | None = None


@dataclass
class NoticeField:
    text: str
    kind: str = "info"


@dataclass
class HandoutForm:
    """The values the handout form shows (from the file, or as posted)."""

    title: str
    subtitle: str
    notices: list[NoticeField]
    questions: list[QuestionField]
    closing_heading: str
    closing_text: str
    sha: str
    references: list[tuple[str, str]] = field(default_factory=list)
    errors: dict[str, list[Problem]] = field(default_factory=dict)
    general: list[Problem] = field(default_factory=list)
    focus: str = ""
    changed: bool = False  # edited in the form but not saved

    def field_ids(self) -> set[str]:
        ids = {"f-title", "f-subtitle", "f-questions", "f-closing-heading", "f-closing-text"}
        ids |= {"f-notices", "f-closing"}
        for i in range(1, len(self.notices) + 1):
            ids |= {f"f-notices-{i}-text", f"f-notices-{i}-kind", f"f-notices-{i}"}
        for n in range(1, len(self.questions) + 1):
            ids |= {f"f-questions-{n}", f"f-questions-{n}-question"}
            ids |= {f"f-questions-{n}-answer", f"f-questions-{n}-sources"}
        return ids

    def edit(self) -> HandoutEdit:
        return HandoutEdit(
            self.title,
            self.subtitle,
            [QuestionEdit(q.question, q.answer, list(q.sources), q.origin) for q in self.questions],
            [NoticeEdit(i, n.text, n.kind) for i, n in enumerate(self.notices)],
            self.closing_heading,
            self.closing_text,
        )


def handout_form(handout: Any, sha: str) -> HandoutForm:
    """The form for a handout model (models.Handout) as its file holds it now."""
    return HandoutForm(
        title=handout.title,
        subtitle=handout.subtitle or "",
        notices=[NoticeField(n.text, n.kind) for n in handout.notices],
        questions=[
            QuestionField(q.question, q.answer.rstrip("\n"), list(q.sources), i)
            for i, q in enumerate(handout.questions)
        ],
        closing_heading=handout.closing.heading if handout.closing else "",
        closing_text=(handout.closing.text or "") if handout.closing else "",
        sha=sha,
        references=[(r.id, r.title) for r in handout.references],
    )


def _text(form: Mapping[str, Any], name: str, limit: int = 20_000) -> str:
    value = form.get(name, "")
    return value[:limit].replace("\r\n", "\n") if isinstance(value, str) else ""


def posted_handout(form: Any, references: list[tuple[str, str]]) -> HandoutForm:
    """The form as posted (``form`` is Starlette's FormData)."""
    rows: dict[int, dict[str, Any]] = {}
    notices: dict[int, dict[str, str]] = {}
    known_refs = {rid for rid, _ in references}
    for name in form:
        if match := _ROW.fullmatch(name):
            row = rows.setdefault(int(match.group(1)), {"sources": []})
            part = match.group(2)
            if part == "sources":
                row["sources"] = [s for s in form.getlist(name) if s in known_refs]
            else:
                row[part] = _text(form, name)
        elif match := _NOTICE.fullmatch(name):
            notices.setdefault(int(match.group(1)), {})[match.group(2)] = _text(form, name)
    questions = []
    for n in sorted(rows)[:MAX_QUESTIONS]:
        row = rows[n]
        origin = row.get("origin", "")
        questions.append(
            QuestionField(
                row.get("question", ""),
                row.get("answer", ""),
                list(dict.fromkeys(row.get("sources", []))),
                int(origin) if origin.isdigit() else None,
            )
        )
    return HandoutForm(
        title=_text(form, "title", 500),
        subtitle=_text(form, "subtitle", 500),
        notices=[
            NoticeField(
                n.get("text", ""),
                n.get("kind", "info") if n.get("kind") in ("info", "warning") else "info",
            )
            for _, n in sorted(notices.items())
        ],
        questions=questions,
        closing_heading=_text(form, "closing-heading", 500),
        closing_text=_text(form, "closing-text"),
        sha=_text(form, "sha", 64),
        references=references,
    )


def apply_action(form: HandoutForm, action: str) -> bool:
    """Add, remove or move a question as the button pressed says (nothing is saved); True
    when the action was one of those."""
    verb, _, number = action.partition("-")
    if verb == "add":
        if len(form.questions) < MAX_QUESTIONS:
            form.questions.append(QuestionField("", ""))
        form.focus = f"f-questions-{len(form.questions)}-question"
        form.changed = True
        return True
    if not number.isdigit():
        return False
    i = int(number) - 1
    qs = form.questions
    if not 0 <= i < len(qs):
        return False
    if verb == "remove":
        del qs[i]
        form.focus = f"f-questions-{min(i + 1, len(qs))}-question" if qs else "add-question"
    elif verb == "up" and i > 0:
        qs[i - 1], qs[i] = qs[i], qs[i - 1]
        form.focus = f"up-{i}" if i > 1 else f"down-{i}"
    elif verb == "down" and i < len(qs) - 1:
        qs[i + 1], qs[i] = qs[i], qs[i + 1]
        form.focus = f"down-{i + 2}" if i + 2 < len(qs) else f"up-{i + 2}"
    else:
        return False
    form.changed = True
    return True


def assign(
    problems: Iterable[Problem], known: set[str]
) -> tuple[dict[str, list[Problem]], list[Problem]]:
    """Each problem under the form field it concerns (its key, or the nearest enclosing key
    the form has); the others in a general list."""
    by_field: dict[str, list[Problem]] = {}
    general: list[Problem] = []
    for p in problems:
        key = p.key
        target = ""
        while key:
            fid = field_id(key)
            if fid in known:
                target = fid
                break
            key = re.sub(r"(\.[^.\[\]]+|\[\d+\])$", "", key)
        if target:
            by_field.setdefault(target, []).append(p)
        else:
            general.append(p)
    return by_field, general


# ---------------------------------------------------------------- brands


@dataclass
class BrandForm:
    name: str
    tagline: str
    primary: str
    accent: str
    contact: dict[str, str]
    sha: str
    logo: str = ""
    errors: dict[str, list[Problem]] = field(default_factory=dict)
    general: list[Problem] = field(default_factory=list)
    focus: str = ""

    def field_ids(self) -> set[str]:
        ids = {"f-name", "f-tagline", "f-colors", "f-colors-primary", "f-colors-accent", "f-logo"}
        ids |= {"f-contact"} | {f"f-contact-{k}" for k in CONTACT_FIELDS}
        return ids

    def edit(self) -> BrandEdit:
        return BrandEdit(self.name, self.tagline, self.primary, self.accent, dict(self.contact))


def brand_form(brand: Any, sha: str) -> BrandForm:
    contact = brand.contact.model_dump()
    return BrandForm(
        brand.name,
        brand.tagline or "",
        brand.colors.primary,
        brand.colors.accent,
        {k: contact.get(k) or "" for k in CONTACT_FIELDS},
        sha,
        brand.logo or "",
    )


def posted_brand(form: Any) -> BrandForm:
    return BrandForm(
        _text(form, "name", 300),
        _text(form, "tagline", 300),
        _text(form, "primary", 20).strip(),
        _text(form, "accent", 20).strip(),
        {k: _text(form, f"contact-{k}", 500) for k in CONTACT_FIELDS},
        _text(form, "sha", 64),
    )
