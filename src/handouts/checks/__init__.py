"""Content checks run by `handouts check` and before every build: readability, brand
accessibility, glyph coverage, links and QR codes, and review dates (docs/checks.md).

Nothing here imports WeasyPrint: the checks run on the loaded project alone, in well under a
second, so the build can afford them every time.
"""

from __future__ import annotations

import datetime as dt

from ..project import Project
from . import contrast, glyphs, governance, languages, links, readability
from .report import (
    JSON_VERSION,
    CheckReport,
    Finding,
    HandoutReadability,
    Severity,
    TextScore,
    format_text,
    readability_summary,
    to_json,
)
from .scope import brands_for, layouts_for
from .text import Locator

__all__ = [
    "JSON_VERSION",
    "CheckReport",
    "Finding",
    "HandoutReadability",
    "Severity",
    "TextScore",
    "format_text",
    "readability_summary",
    "run_checks",
    "to_json",
]


def run_checks(
    project: Project, *, today: dt.date | None = None, strict: bool = False
) -> CheckReport:
    """Check every handout, brand and layout of ``project``.

    ``today`` dates the review check (default: the real date); under ``strict`` an overdue
    review is an error rather than a warning, so it blocks that handout's documents.
    """
    today = today or dt.date.today()
    findings: list[Finding] = []
    scores: list[HandoutReadability] = []
    for h in project.handouts:
        brands = brands_for(project, h)
        figures, found = readability.check(project, h, Locator(h))
        scores.append(figures)
        findings += found
        findings += glyphs.check_handout(project, h, brands)
        findings += links.check_handout(project, h, layouts_for(project, brands))
        findings += governance.check_handout(h, today, strict)
    for b in project.brands:
        findings += contrast.check_brand(b)
        findings += glyphs.check_brand(project, b)
        findings += links.check_brand(project, b)
    findings += contrast.check_layouts(project)
    findings += glyphs.check_fonts(project)
    findings += languages.check(project)
    ordered = sorted(findings, key=_order)
    return CheckReport(tuple(ordered), tuple(scores), today, strict)


def _order(f: Finding) -> tuple:
    """Errors first, then by file and line, so the report reads top to bottom."""
    p = f.problem
    return (f.severity != "error", str(p.path), p.line or 0, p.col or 0, f.code)
