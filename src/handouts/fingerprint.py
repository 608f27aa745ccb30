"""Fingerprints of a handout's printed text: one SHA-256 for the whole, and a short one per
part (title, each notice, each question with its answer, the closing), so that a sign-off can
be tied to exactly the text that was approved and a later change can be named.

Only what patients read counts: the title and subtitle, notices, questions, answers, the cited
references as printed (title, byline, link), and the closing. The review and translation
blocks, keywords, ids, editors' notes and page limits do not. The text is compared as printed,
not as written: YAML quoting, folded or literal blocks, indentation, key order, line breaks
inside a paragraph and runs of spaces make no difference; a changed word, number, link or
emphasis does.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from .markup import parse as parse_markdown
from .models import Handout, Parts, Reference

SCHEME = 1  # bump (and migrate stored fingerprints) if the canonical form below changes
PART_LENGTH = 12  # hex digits kept of each part's SHA-256; the whole keeps all 64


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """The fingerprints of one handout's printed text."""

    digest: str  # SHA-256 of everything below, 64 hex digits
    title: str
    notices: tuple[str, ...]
    questions: tuple[str, ...]
    closing: str | None

    def parts(self) -> Parts:
        return Parts(
            title=self.title,
            notices=list(self.notices),
            questions=list(self.questions),
            closing=self.closing,
        )

    def parts_data(self) -> dict[str, Any]:
        """The parts as plain data, in the order they are written to a YAML file."""
        data: dict[str, Any] = {"title": self.title}
        if self.notices:
            data["notices"] = list(self.notices)
        data["questions"] = list(self.questions)
        if self.closing:
            data["closing"] = self.closing
        return data


def _text(value: str | None) -> str:
    """Plain text as printed: Unicode NFC, soft hyphens dropped, whitespace runs as one space."""
    if not value:
        return ""
    value = unicodedata.normalize("NFC", value).replace("\u00ad", "")
    return " ".join(value.split())


def _spaced(value: str) -> str:
    """Like ``_text`` but keeps one space at either end (it separates words from emphasis)."""
    value = unicodedata.normalize("NFC", value).replace("\u00ad", "")
    return re.sub(r"\s+", " ", value)


def markdown(text: str | None) -> list[Any]:
    """Markdown as the structure that gets printed: blocks (paragraphs, list items, with a
    numbered list's start), inline text with its emphasis, links and hard line breaks. Line
    breaks inside a paragraph, indentation and tight or loose lists do not count."""
    out: list[Any] = []
    for token in parse_markdown(text or ""):
        if token.type == "inline":
            inline: list[Any] = []
            for child in token.children or ():
                if child.type in ("text", "code_inline", "softbreak"):
                    piece = " " if child.type == "softbreak" else _spaced(child.content)
                    if inline and isinstance(inline[-1], str):
                        inline[-1] = _spaced(inline[-1] + piece)
                    else:
                        inline.append(piece)
                else:
                    mark: list[Any] = [child.type]
                    if child.type == "link_open":
                        mark.append(str(child.attrGet("href") or ""))
                    inline.append(mark)
            if inline and isinstance(inline[0], str):
                inline[0] = inline[0].lstrip()
            if inline and isinstance(inline[-1], str):
                inline[-1] = inline[-1].rstrip()
            out.append([part for part in inline if part != ""])
        elif token.type in ("paragraph_open", "paragraph_close"):
            continue  # a tight and a loose list print the same words
        elif token.type == "ordered_list_open":
            out.append([token.type, token.attrGet("start") or 1])
        elif token.nesting != 0:
            out.append([token.type])
    return out


def _reference(ref: Reference) -> dict[str, Any]:
    """A cited reference as printed: its title, byline and link (not its id or note)."""
    return {
        "title": _text(ref.title),
        "authors": _text(ref.authors),
        "source": _text(ref.journal or ref.publisher),
        "when": str(ref.year or (ref.date.isoformat() if ref.date else "")),
        "volume": _text(ref.volume),
        "link": ref.link or "",
    }


def _hash(value: Any) -> str:
    data = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def of(handout: Handout) -> Fingerprint:
    """The fingerprints of ``handout``'s printed text."""
    refs = {r.id: r for r in handout.references}

    def sources(ids: list[str]) -> list[dict[str, Any]]:
        return [_reference(refs[i]) for i in ids if i in refs]

    title = _hash({"title": _text(handout.title), "subtitle": _text(handout.subtitle)})
    notices = tuple(
        _hash({"kind": n.kind, "text": markdown(n.text), "sources": sources(n.sources)})
        for n in handout.notices
    )
    questions = tuple(
        _hash(
            {
                "question": _text(q.question),
                "answer": markdown(q.answer),
                "sources": sources(q.sources),
            }
        )
        for q in handout.questions
    )
    closing = (
        _hash({"heading": _text(handout.closing.heading), "text": markdown(handout.closing.text)})
        if handout.closing
        else None
    )
    digest = _hash(
        {
            "scheme": SCHEME,
            "title": title,
            "notices": notices,
            "questions": questions,
            "closing": closing,
        }
    )
    short = PART_LENGTH
    return Fingerprint(
        digest,
        title[:short],
        tuple(n[:short] for n in notices),
        tuple(q[:short] for q in questions),
        closing[:short] if closing else None,
    )


# ---------------------------------------------------------------- what changed


@dataclass(frozen=True, slots=True)
class Changes:
    """What differs between approved part fingerprints and the current text. Numbers count
    from 1, as printed; a question moved elsewhere unchanged is not a change."""

    title: bool = False
    notices: tuple[int, ...] = ()
    notices_removed: int = 0
    questions: tuple[int, ...] = ()
    questions_removed: int = 0
    closing: bool = False
    reordered: bool = False
    unknown: bool = False  # no part fingerprints were recorded: only "something changed"

    @property
    def any(self) -> bool:
        return bool(
            self.title
            or self.notices
            or self.notices_removed
            or self.questions
            or self.questions_removed
            or self.closing
            or self.reordered
            or self.unknown
        )

    def describe(self, language: str = "") -> str:
        """``questions 3 and 5``, ``the title, question 2 and the closing``, ..."""
        of_lang = f"{language} " if language else ""
        items: list[str] = []
        if self.unknown:
            return f"the {of_lang}text (no part fingerprints were recorded to say where)"
        if self.title:
            items.append(f"the {of_lang}title")
        if self.notices:
            items.append(_numbered(f"{of_lang}notice", self.notices))
        if self.notices_removed:
            items.append(_count(self.notices_removed, f"{of_lang}notice") + " removed")
        if self.questions:
            items.append(_numbered(f"{of_lang}question", self.questions))
        if self.questions_removed:
            items.append(_count(self.questions_removed, f"{of_lang}question") + " removed")
        if self.reordered and not (self.questions or self.questions_removed):
            items.append(f"the order of the {of_lang}questions")
        if self.closing:
            items.append(f"the {of_lang}closing")
        return join(items)

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "notices": list(self.notices),
            "notices_removed": self.notices_removed,
            "questions": list(self.questions),
            "questions_removed": self.questions_removed,
            "closing": self.closing,
            "reordered": self.reordered,
            "unknown": self.unknown,
        }


def join(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _numbered(noun: str, numbers: tuple[int, ...]) -> str:
    plural = noun + ("s" if len(numbers) > 1 else "")
    return f"{plural} " + join([str(n) for n in numbers])


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _sequence(approved: list[str], current: tuple[str, ...]) -> tuple[tuple[int, ...], int, bool]:
    """Changed (or new) positions, how many were removed, and whether the order changed."""
    remaining = list(approved)
    changed = []
    for i, h in enumerate(current):
        if h in remaining:
            remaining.remove(h)
        else:
            changed.append(i + 1)
    removed = max(0, len(remaining) - len(changed))
    kept = [h for h in current if h in approved]
    reordered = kept != [h for h in approved if h in current]
    return tuple(changed), removed, reordered


def changes(approved: Parts | None, current: Fingerprint) -> Changes:
    """What changed since ``approved`` (None when only the whole fingerprint was kept)."""
    if approved is None:
        return Changes(unknown=True)
    notices, notices_removed, _ = _sequence(approved.notices, current.notices)
    questions, questions_removed, reordered = _sequence(approved.questions, current.questions)
    return Changes(
        title=approved.title != current.title,
        notices=notices,
        notices_removed=notices_removed,
        questions=questions,
        questions_removed=questions_removed,
        closing=approved.closing != current.closing,
        reordered=reordered,
    )
