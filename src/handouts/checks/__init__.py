"""Content checks run by `handouts check` and before every build: readability, brand
accessibility, glyph coverage, links and QR codes, and review dates (docs/checks.md).

Nothing here imports WeasyPrint: the checks run on the loaded project alone, in well under a
second, so the build can afford them every time.
"""

from __future__ import annotations

import datetime as dt

from ..project import Project

# Importing the check modules registers their checks.
from . import contrast, glyphs, governance, languages, links, placeholders, readability  # noqa: F401
from .registry import CheckContext, check, registered
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

__all__ = [
    "JSON_VERSION",
    "CheckContext",
    "CheckReport",
    "Finding",
    "HandoutReadability",
    "Severity",
    "TextScore",
    "check",
    "format_text",
    "readability_summary",
    "run_checks",
    "to_json",
]


def run_checks(
    project: Project, *, today: dt.date | None = None, strict: bool = False
) -> CheckReport:
    """Check every handout, brand and layout of ``project`` with every registered check.

    ``today`` dates the review check (default: the real date); under ``strict`` an overdue
    review, a text changed since its approval, an out-of-date translation and placeholder text
    are errors rather than warnings, so they block the documents they concern.
    """
    today = today or dt.date.today()
    findings: list[Finding] = []
    scores: list[HandoutReadability] = []
    contexts = [
        *(("handout", CheckContext(project, today, strict, handout=h)) for h in project.handouts),
        *(("brand", CheckContext(project, today, strict, brand=b)) for b in project.brands),
        ("project", CheckContext(project, today, strict)),
    ]
    for scope, ctx in contexts:
        ctx.readability = scores
        for function in registered(scope):
            findings += function(ctx)
    ordered = sorted(findings, key=_order)
    return CheckReport(tuple(ordered), tuple(scores), today, strict)


def _order(f: Finding) -> tuple:
    """Errors first, then by file and line, so the report reads top to bottom."""
    p = f.problem
    return (f.severity != "error", str(p.path), p.line or 0, p.col or 0, f.code)
