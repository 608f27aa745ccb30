"""Glyph coverage: every printed character must be in the brand's font, or the PDF would show
it in some fallback face (or as a box) that the reader was never meant to see."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from ..assets import FontFace, font_families
from ..errors import Problem
from ..project import LoadedBrand
from ..yamlio import KeyPath
from .registry import CheckContext, check
from .report import Finding
from .text import Locator

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


def brand_texts(b: LoadedBrand) -> list[tuple[KeyPath, str]]:
    """Everything of the brand that gets printed, with its key."""
    brand, contact = b.brand, b.brand.contact
    texts: list[tuple[KeyPath, str | None]] = [
        (("name",), brand.name),
        (("tagline",), brand.tagline),
    ]
    for name in ("phone", "email", "website", "booking_url", "address"):
        texts.append((("contact", name), getattr(contact, name)))
    for code, line in getattr(brand, "language_assistance", {}).items():  # newer models only
        texts.append((("language_assistance", code), line))
    return [(k, t) for k, t in texts if t]


def _faces(family: tuple[FontFace, ...]) -> tuple[FontFace, ...]:
    """The upright faces: any text may be bold (headings, **strong**), while italics are rare
    and large print has none, so a glyph missing only from an italic face is not an error."""
    return tuple(f for f in family if f.style == "normal") or family


def _missing(
    texts: Iterable[tuple[KeyPath, str]], faces: tuple[FontFace, ...]
) -> list[tuple[KeyPath, dict[str, list[str]]]]:
    """Per text with missing glyphs: its key, and each character with the faces lacking it."""
    maps = [(_STYLE_NAMES.get((f.weight, f.style), f.path.stem), cmap(f.path)) for f in faces]
    found = []
    for key, text in texts:
        lacking = {}
        for ch in dict.fromkeys(text):
            names = [name for name, m in maps if ord(ch) not in m]
            if names and _printed(ch):
                lacking[ch] = names
        if lacking:
            found.append((key, lacking))
    return found


def _problem(
    locator: Locator, key: KeyPath, family: str, lacking: dict[str, list[str]], n_faces: int
) -> Problem:
    listed = ", ".join(
        describe(ch) + ("" if len(names) == n_faces else f" (missing in {', '.join(names)})")
        for ch, names in lacking.items()
    )
    return locator.problem(
        key,
        f"the font '{family}' has no glyph for {listed}",
        "write the text without them, or choose a font that has them: fonts/Family-Style.ttf",
        re.compile(re.escape(next(iter(lacking)))),
    )


@check("handout")
def handout_glyphs(ctx: CheckContext) -> list[Finding]:
    """One error per field with characters missing from the font of a brand that prints it."""
    project, h, brands = ctx.project, ctx.h, ctx.brands
    families = font_families(project.font_dirs)
    by_font: dict[str, list[str]] = {}
    for b in brands:
        by_font.setdefault(b.brand.font, []).append(b.id)
    texts = h.printed_texts
    locator = Locator(h)
    findings = []
    for family, brand_ids in by_font.items():
        faces = _faces(families.get(family, ()))
        if not faces:
            continue  # load_project already reports an unknown font
        for key, lacking in _missing(texts, faces):
            problem = _problem(locator, key, family, lacking, len(faces))
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


@check("brand")
def brand_glyphs(ctx: CheckContext) -> list[Finding]:
    """The brand's own printed text (name, tagline, contact lines) against its font."""
    project, b = ctx.project, ctx.b
    faces = _faces(font_families(project.font_dirs).get(b.brand.font, ()))
    if not faces:
        return []
    locator = Locator(b)
    return [
        Finding(
            "error",
            "glyphs.missing",
            _problem(locator, key, b.brand.font, lacking, len(faces)),
            brands=(b.id,),
        )
        for key, lacking in _missing(brand_texts(b), faces)
    ]
