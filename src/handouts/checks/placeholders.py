"""Placeholders: text that must never reach a patient because it stands in for something real:
sentences left from the starter files (``handouts init``, ``new handout``, ``new brand``), the
starter's ``10.1000/replace-me`` DOI and logo, TODO/TBD/FIXME and lorem ipsum, phone numbers in
the fictional 555-0100 to 555-0199 range (or with the unused area code 555), and the domains
reserved for examples (example.com/.org/.net, and anything under .example, .test, .invalid or
.localhost).

Each is a warning at its line and column, an error under ``--strict`` (which stops that
handout's, or that brand's, documents). A sample project says so with ``example: true`` in
its handouts.yaml, and then none is reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from ..assets import builtin_dir
from ..markup import blocks
from ..project import LoadedBrand, LoadedHandout
from ..scaffold import INIT_BRAND_NAME
from ..yamlio import KeyPath
from .registry import CheckContext, check
from .report import Finding, Severity
from .text import Locator, phrase_pattern, sentences

SAMPLE_HINT = "in a sample project, `example: true` in handouts.yaml turns these warnings off"

# Printed text that is checked, by key (list positions and language codes are wildcards).
_HANDOUT_KEYS = {
    ("title",),
    ("subtitle",),
    ("keywords", "*"),
    ("notices", "*", "text"),
    ("questions", "*", "question"),
    ("questions", "*", "answer"),
    *(("references", "*", name) for name in ("title", "authors", "journal", "publisher")),
    *(("references", "*", name) for name in ("volume", "doi", "url")),
    ("closing", "heading"),
    ("closing", "text"),
    ("review", "reviewed_by"),
    ("translation", "translated_by"),
    ("translation", "reviewed_by"),
}
_BRAND_KEYS = {
    ("name",),
    ("tagline",),
    *(("contact", name) for name in ("phone", "email", "website", "booking_url", "address")),
    ("language_assistance", "*"),
}
# Starter values that are sensible as they stand, so keeping them is not a placeholder.
_STARTER_KEEP = {("title",), ("subtitle",), ("closing", "heading"), ("closing", "text")}

_DOI = re.compile(r"10\.1000/replace-me", re.IGNORECASE)
_TODO = re.compile(r"(?<![\w-])(TODO|TBD|FIXME)(?![\w-])|\blorem\s+ipsum\b", re.IGNORECASE)
_TODO_WORDS = {"TODO", "TBD", "FIXME"}  # upper case only: "todo" is Spanish for "all"
_PHONE = re.compile(
    r"(?<![\w+])\+?(?:\d[\s.\-]?)?(?:\(\d{3}\)|\d{3})[\s.\-]*\d{3}[\s.\-]?\d{4}(?!\w)"
)
_SHORT_PHONE = re.compile(r"(?<![\w\-.])555[\s.\-]?01\d\d(?![\w\-])")
_DOMAIN = re.compile(
    r"(?<![\w.\-])((?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)*"
    r"(?:example\.(?:com|org|net)|[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.(?:example|test|invalid|localhost)))"
    r"(?![\w\-]|\.[a-z0-9])",
    re.IGNORECASE,
)


def _shape(key: KeyPath) -> tuple[str, ...]:
    """A key with list positions (and a brand's language codes) as ``*``."""
    if len(key) == 2 and key[0] == "language_assistance":
        return ("language_assistance", "*")
    return tuple("*" if isinstance(k, int) else k for k in key)


def _matches(key: KeyPath, patterns: set[tuple[str, ...]]) -> bool:
    return _shape(key) in patterns


def _strings(data: Any, key: KeyPath = ()) -> Iterator[tuple[KeyPath, str]]:
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _strings(v, (*key, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _strings(v, (*key, i))
    elif isinstance(data, str):
        yield key, data


def _normal(sentence: str) -> str:
    return " ".join(sentence.casefold().split()).rstrip(".!?…:;")


def _sentences(text: str) -> list[str]:
    return [s for block in blocks(text) for s in sentences(block)]


@cache
def starter_sentences() -> dict[str, str]:
    """Every sentence of the starter files' placeholder values, normalised → as written."""
    folder = builtin_dir("templates") / "scaffold"
    found: dict[str, str] = {}
    for name, keys in (("handout.yaml", _HANDOUT_KEYS), ("brand.yaml", _BRAND_KEYS)):
        text = re.sub(r"__NAME__", INIT_BRAND_NAME, (folder / name).read_text(encoding="utf-8"))
        data = yaml.safe_load(re.sub(r"__[A-Z_]+__", "x", text))
        for key, value in _strings(data):
            if not _matches(key, keys) or _shape(key) in _STARTER_KEEP:
                continue
            for sentence in _sentences(value):
                found.setdefault(_normal(sentence), sentence)
    return found


@cache
def _starter_logo() -> bytes:
    return (builtin_dir("templates") / "scaffold" / "logo.svg").read_bytes()


def _pattern(text: str) -> re.Pattern[str]:
    """``text`` as written in YAML, where a line break or indentation may replace a space."""
    return re.compile(r"\s+".join(re.escape(part) for part in text.split()))


def _fictional_phone(text: str) -> Iterator[tuple[str, str]]:
    """(number as written, why) for each made-up phone number in ``text``."""
    for match in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if len(digits) == 11 and digits.startswith("1"):
            digits = digits[1:]
        if len(digits) != 10:
            continue
        if digits[3:6] == "555" and 100 <= int(digits[6:]) <= 199:
            yield match.group(), "is in the 555-0100 to 555-0199 range kept for fictional use"
        elif digits.startswith("555"):
            yield match.group(), "has the area code 555, which is not in use: it is made up"
    for match in _SHORT_PHONE.finditer(text):
        yield match.group(), "is in the 555-0100 to 555-0199 range kept for fictional use"


def _specific(text: str) -> Iterator[tuple[str, str, str, str]]:
    """(code, found text, message, fix) for the DOI, markers, phone numbers and domains."""
    for match in _DOI.finditer(text):
        yield (
            "placeholders.example-doi",
            match.group(),
            f"the DOI {match.group()} is the starter file's placeholder",
            "give the article's real DOI, PubMed id or web address, or none; never invent one",
        )
    for match in _TODO.finditer(text):
        word = match.group()
        if match.group(1) and word not in _TODO_WORDS:
            continue
        yield (
            "placeholders.todo",
            word,
            f"'{word}' marks unfinished text",
            "finish the text, or remove the marker",
        )
    seen_numbers: set[str] = set()
    for number, why in _fictional_phone(text):
        if any(number in n for n in seen_numbers):
            continue
        seen_numbers.add(number)
        yield (
            "placeholders.phone",
            number,
            f"the phone number {number} {why}",
            "give the clinic's real number",
        )
    for match in _DOMAIN.finditer(text):
        domain = match.group(1)
        yield (
            "placeholders.domain",
            domain,
            f"{domain} is a domain reserved for examples: no one can be reached there",
            "give the real web or email address",
        )


def _scan(text: str, starter: bool) -> Iterator[tuple[str, str, str, str]]:
    """(code, found text, message, fix) for each placeholder in one field: the specific kinds
    first, then sentences left from a starter file that hold none of those."""
    specific = list(_specific(text))
    yield from specific
    if not starter:
        return
    known = starter_sentences()
    for sentence in _sentences(text):
        if any(found in sentence for _, found, _, _ in specific):
            continue  # already reported, more precisely
        if _normal(sentence) in known:
            shown = sentence if len(sentence) <= 60 else sentence[:59].rstrip() + "…"
            yield (
                "placeholders.starter-text",
                sentence,
                f"'{shown}' is text from the starter file",
                "write your own text here",
            )


def _findings(
    located: LoadedHandout | LoadedBrand,
    data: Any,
    keys: set[tuple[str, ...]],
    severity: Severity,
    scope: dict[str, Any],
) -> list[Finding]:
    locator = Locator(located)
    findings: list[Finding] = []
    seen: set[tuple[str, int | None, int | None]] = set()
    for key, text in _strings(data):
        if not _matches(key, keys):
            continue
        for code, found, message, fix in _scan(text, _shape(key) not in _STARTER_KEEP):
            pattern = (
                phrase_pattern(found) if code == "placeholders.starter-text" else _pattern(found)
            )
            problem = locator.problem(key, message, f"{fix}; {SAMPLE_HINT}", pattern)
            where = (problem.key, problem.line, problem.col)
            if where in seen:
                continue
            seen.add(where)
            findings.append(Finding(severity, code, problem, **scope))
    return findings


@check("handout")
def handout_placeholders(ctx: CheckContext) -> list[Finding]:
    """Placeholders in one handout's printed text."""
    project, h, strict = ctx.project, ctx.h, ctx.strict
    if project.settings.example:
        return []
    severity: Severity = "error" if strict else "warning"
    data = h.handout.model_dump(mode="json", exclude_none=True)
    scope = {"handout": h.id, "language": h.language}
    return _findings(h, data, _HANDOUT_KEYS, severity, scope)


@check("brand")
def brand_placeholders(ctx: CheckContext) -> list[Finding]:
    """Placeholders in one brand's printed text, and the starter's logo."""
    project, b, strict = ctx.project, ctx.b, ctx.strict
    if project.settings.example:
        return []
    severity: Severity = "error" if strict else "warning"
    data = b.brand.model_dump(mode="json", exclude_none=True)
    scope = {"brands": (b.id,)}
    findings = _findings(b, data, _BRAND_KEYS, severity, scope)
    if b.logo is not None and _same_file(b.logo, _starter_logo()):
        problem = b.problem(
            ("logo",),
            f"the logo '{b.brand.logo}' is the starter's placeholder (a white cross on teal)",
            f"put the clinic's own logo next to brand.yaml and name it here; {SAMPLE_HINT}",
        )
        findings.append(Finding(severity, "placeholders.logo", problem, **scope))
    return findings


def _same_file(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def summary(findings: list[Finding]) -> list[str]:
    """One line per file with placeholders, for the build's output."""
    by_file: dict[str, list[int]] = {}
    for f in findings:
        if f.code.startswith("placeholders."):
            by_file.setdefault(str(f.problem.path), []).append(f.problem.line or 0)
    lines = []
    for path, found in by_file.items():
        places = ", ".join(str(n) for n in sorted(set(found)) if n)
        count = f"{len(found)} placeholder{'s' * (len(found) != 1)}"
        lines.append(
            f"{path}: {count} left from a starter file or sample"
            + (f" (lines {places})" if places else "")
        )
    return lines
