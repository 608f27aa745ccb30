"""Glyph coverage: every printed character must be in the brand's font, or the PDF would show
it in some fallback face (or as a box) that the reader was never meant to see."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from ..assets import FontFace, font_families
from ..project import LoadedBrand, LoadedHandout, Project
from ..yamlio import KeyPath
from .report import Finding
from .text import Locator, plain

_STYLE_NAMES = {(400, "normal"): "Regular", (700, "normal"): "Bold"}
_STYLE_NAMES |= {(400, "italic"): "Italic", (700, "italic"): "Bold Italic"}


@lru_cache(maxsize=64)
def _cmap(path: Path, mtime_ns: int, size: int) -> frozenset[int]:
    """The code points a font file maps; keyed on size and mtime so an edited file is re-read."""
    from fontTools.ttLib import TTFont  # a WeasyPrint dependency; only needed here

    with TTFont(path, lazy=True) as font:
        return frozenset(font.getBestCmap() or {})


def cmap(path: Path) -> frozenset[int]:
    stat = path.stat()
    return _cmap(path, stat.st_mtime_ns, stat.st_size)


def _printed(ch: str) -> bool:
    # Spaces, control and format characters (soft hyphen, zero-width joiners) draw no glyph of
    # their own that a reader would miss.
    return not ch.isspace() and unicodedata.category(ch) not in ("Cc", "Cf")


def describe(ch: str) -> str:
    return f"'{ch}' (U+{ord(ch):04X})"


def handout_texts(h: LoadedHandout) -> list[tuple[KeyPath, str]]:
    """Everything of the handout that gets printed, with its key."""
    doc = h.handout
    texts: list[tuple[KeyPath, str | None]] = [(("title",), doc.title), (("subtitle",), doc.subtitle)]
    if doc.review:
        texts += [(("review", "reviewed_by"), doc.review.reviewed_by)]
        texts += [(("review", "version"), str(doc.review.version))]
    texts += [(("notices", i, "text"), plain(n.text)) for i, n in enumerate(doc.notices)]
    for i, q in enumerate(doc.questions):
        texts += [(("questions", i, "question"), q.question)]
        texts += [(("questions", i, "answer"), plain(q.answer))]
    cited = {s for n in doc.notices for s in n.sources} | {
        s for q in doc.questions for s in q.sources
    }
    for i, ref in enumerate(doc.references):
        if ref.id not in cited:
            continue  # never printed
        for name in ("title", "authors", "journal", "publisher", "volume"):
            texts.append((("references", i, name), getattr(ref, name)))
        texts.append((("references", i, "url"), ref.link))
    if doc.closing:
        texts += [(("closing", "heading"), doc.closing.heading)]
        texts += [(("closing", "text"), plain(doc.closing.text or ""))]
    return [(k, t) for k, t in texts if t]


def brand_texts(b: LoadedBrand) -> list[tuple[KeyPath, str]]:
    brand, contact = b.brand, b.brand.contact
    texts: list[tuple[KeyPath, str | None]] = [(("name",), brand.name), (("tagline",), brand.tagline)]
    for name in ("phone", "email", "website", "booking_url", "address"):
        texts.append((("contact", name), getattr(contact, name)))
    return [(k, t) for k, t in texts if t]


def _missing(
    texts: Iterable[tuple[KeyPath, str]], faces: tuple[FontFace, ...]
) -> list[tuple[KeyPath, list[str], dict[str, list[str]]]]:
    """(key, characters missing from some face, char → faces lacking it) per text."""
    maps = [(face, cmap(face.path)) for face in faces]
    found = []
    for key, text in texts:
        chars = [ch for ch in dict.fromkeys(text) if _printed(ch)]
        lacking = {
            ch: [_STYLE_NAMES.get((f.weight, f.style), f.path.stem) for f, m in maps if ord(ch) not in m]
            for ch in chars
        }
        lacking = {ch: names for ch, names in lacking.items() if names}
        if lacking:
            found.append((key, list(lacking), lacking))
    return found


def _problem(locator: Locator, key: KeyPath, family: str, chars: list[str], lacking, n_faces: int):
    listed = ", ".join(
        describe(ch) + ("" if len(lacking[ch]) == n_faces else f" (in {', '.join(lacking[ch])})")
        for ch in chars
    )
    return locator.problem(
        key,
        f"the font '{family}' has no glyph for {listed}",
        "write the text without them, or choose a font that has them (fonts/Family-Style.ttf)",
        re.compile(re.escape(chars[0])),
    )


def check_handout(project: Project, h: LoadedHandout, brands: list[LoadedBrand]) -> list[Finding]:
    """One error per field with characters missing from the font of a brand that prints it."""
    families = font_families(project.font_dirs)
    by_font: dict[str, list[str]] = {}
    for b in brands:
        by_font.setdefault(b.brand.font, []).append(b.id)
    texts = handout_texts(h)
    locator = Locator(h)
    findings = []
    for family, brand_ids in by_font.items():
        faces = families.get(family, ())
        if not faces:
            continue  # load_project already reports an unknown font
        for key, chars, lacking in _missing(texts, faces):
            problem = _problem(locator, key, family, chars, lacking, len(faces))
            findings.append(
                Finding(
                    "error",
                    "glyphs.missing",
                    problem,
                    handout=h.id,
                    language=h.language,
                    brands=tuple(brand_ids),
                )
            )
    return findings


def check_brand(project: Project, b: LoadedBrand) -> list[Finding]:
    """The brand's own printed text (name, tagline, contact lines) against its font."""
    faces = font_families(project.font_dirs).get(b.brand.font, ())
    if not faces:
        return []
    locator = Locator(b)
    return [
        Finding(
            "error",
            "glyphs.missing",
            _problem(locator, key, b.brand.font, chars, lacking, len(faces)),
            brands=(b.id,),
        )
        for key, chars, lacking in _missing(brand_texts(b), faces)
    ]
