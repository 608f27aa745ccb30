"""What the checks found: findings with their scope, readability figures, and the two ways the
CLI shows them (a plain-text table, and JSON whose shape docs/checks.md documents)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..errors import Problem

if TYPE_CHECKING:
    from ..plan import Job

Severity = Literal["error", "warning"]

# Bump when a key of to_json() changes meaning or disappears (adding keys does not bump it).
JSON_VERSION = 1


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found by a check, and the documents it concerns.

    The scope says which documents an error blocks: a field left empty concerns every value
    (a brand-wide contrast error has no handout; a layout's size floor has no brand).
    """

    severity: Severity
    code: str  # stable short id, e.g. "readability.grade"; see docs/checks.md
    problem: Problem
    handout: str | None = None
    language: str | None = None
    brands: tuple[str, ...] = ()
    layouts: tuple[str, ...] = ()

    def concerns(self, job: Job) -> bool:
        """Whether this finding is about the document ``job`` makes."""
        h = job.handout
        return (
            (self.handout is None or self.handout == h.id)
            and (self.language is None or self.language == h.language)
            and (not self.brands or job.brand.id in self.brands)
            and (not self.layouts or job.layout in self.layouts)
        )

    @property
    def subject(self) -> str:
        """What the finding is about, for the text report: ``handout (en)`` or ``brand x``."""
        if self.handout:
            return f"{self.handout} ({self.language})" if self.language else self.handout
        if self.brands:
            return "brand " + ", ".join(self.brands)
        if self.layouts:
            return "layout " + ", ".join(self.layouts)
        return "project"


@dataclass(frozen=True, slots=True)
class TextScore:
    """Readability figures of one text (an answer, or the whole handout)."""

    key: str  # "questions[2].answer", or "" for the whole handout
    label: str  # the question, or the handout's title
    line: int | None
    words: int
    sentences: int
    syllables: int
    polysyllables: int  # words of 3 syllables or more (SMOG)
    longest_sentence: str
    longest_sentence_words: int
    # English: US school grades. grade = the higher of SMOG and Flesch-Kincaid.
    smog: float | None = None
    flesch_kincaid: float | None = None
    grade: float | None = None
    # Spanish: ease scores, 0-100, higher is easier; band = the scale's name for the score.
    fernandez_huerta: float | None = None
    szigriszt_pazos: float | None = None
    fernandez_huerta_band: str | None = None
    inflesz_band: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class HandoutReadability:
    """The readability of one handout in one language."""

    handout: str
    language: str
    path: str
    scale: Literal["grade", "ease"] | None  # None: no formula for this language
    target_grade: int
    whole: TextScore | None
    answers: tuple[TextScore, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "handout": self.handout,
            "language": self.language,
            "path": self.path,
            "scale": self.scale,
            "target_grade": self.target_grade,
            "whole": self.whole.as_dict() if self.whole else None,
            "answers": [a.as_dict() for a in self.answers],
        }


@dataclass(frozen=True)
class CheckReport:
    """Everything ``run_checks`` found in one project."""

    findings: tuple[Finding, ...]
    readability: tuple[HandoutReadability, ...] = ()
    today: dt.date = field(default_factory=dt.date.today)
    strict: bool = False

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def blocked(self, job: Job) -> list[Finding]:
        """The errors that stop ``job``: its handout's, its brand's or its layout's."""
        return [f for f in self.errors if f.concerns(job)]

    def exit_code(self, strict: bool | None = None) -> int:
        """0 when clean; 1 when there are errors, or warnings under ``strict`` (by default,
        whether the checks ran strict)."""
        strict = self.strict if strict is None else strict
        return 1 if self.errors or (strict and self.warnings) else 0

    def readability_of(self, handout_id: str, language: str) -> HandoutReadability | None:
        return next(
            (r for r in self.readability if r.handout == handout_id and r.language == language),
            None,
        )


# ---------------------------------------------------------------- text


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _finding_lines(findings: Iterable[Finding]) -> list[str]:
    lines = []
    for f in findings:
        scope = ""
        if f.handout and f.brands:
            scope += " [brand " + ", ".join(f.brands) + "]"
        if f.layouts:
            scope += " [layout " + ", ".join(f.layouts) + "]"
        lines.append(f"  {f.severity:<7} {f.code:<28} {f.problem}{scope}")
    return lines


def _readability_lines(r: HandoutReadability) -> list[str]:
    if r.whole is None or r.scale is None:
        return [f"  readability: no formula for language '{r.language}'"]
    w = r.whole
    if r.scale == "grade":
        lines = [
            f"  reading grade {_num(w.grade)} (SMOG {_num(w.smog)}, Flesch-Kincaid "
            f"{_num(w.flesch_kincaid)}); target grade {r.target_grade} or lower",
            f"  {'answer':<46} {'words':>5} {'sent.':>5} {'SMOG':>5} {'FK':>5} {'grade':>5}",
        ]
        for a in r.answers:
            label = _shorten(f"{a.key} {a.label}", 46)
            lines.append(
                f"  {label:<46} {a.words:>5} {a.sentences:>5} {_num(a.smog):>5} "
                f"{_num(a.flesch_kincaid):>5} {_num(a.grade):>5}"
            )
        return lines
    lines = [
        f"  reading ease: Fernández-Huerta {_num(w.fernandez_huerta)} ({w.fernandez_huerta_band}), "
        f"Szigriszt-Pazos {_num(w.szigriszt_pazos)} (INFLESZ: {w.inflesz_band}); higher is easier",
        f"  {'answer':<46} {'words':>5} {'sent.':>5} {'F-H':>5} {'S-P':>5}",
    ]
    for a in r.answers:
        label = _shorten(f"{a.key} {a.label}", 46)
        lines.append(
            f"  {label:<46} {a.words:>5} {a.sentences:>5} {_num(a.fernandez_huerta):>5} "
            f"{_num(a.szigriszt_pazos):>5}"
        )
    return lines


def format_text(report: CheckReport) -> str:
    """A plain-text report: one section per handout, then per brand and per layout."""
    out: list[str] = []
    handout_keys = [(r.handout, r.language) for r in report.readability]
    for f in report.findings:
        if f.handout and (f.handout, f.language) not in handout_keys:
            handout_keys.append((f.handout, f.language))
    for hid, lang in handout_keys:
        r = report.readability_of(hid, lang or "")
        title = f"{hid} ({lang})" + (f"  {r.path}" if r else "")
        out += [title, *(_readability_lines(r) if r else [])]
        found = [f for f in report.findings if f.handout == hid and f.language == lang]
        out += _finding_lines(found) or ["  no problems found"]
        out.append("")
    rest = [f for f in report.findings if not f.handout]
    for subject in dict.fromkeys(f.subject for f in rest):
        out.append(subject)
        out += _finding_lines(f for f in rest if f.subject == subject)
        out.append("")
    errors, warnings = len(report.errors), len(report.warnings)
    out.append(
        f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
        + (" (strict)" if report.strict else "")
    )
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- JSON


def _finding_dict(f: Finding) -> dict[str, Any]:
    p = f.problem
    return {
        "severity": f.severity,
        "code": f.code,
        "path": str(p.path),
        "line": p.line,
        "col": p.col,
        "key": p.key,
        "message": p.message,
        "hint": p.hint,
        "handout": f.handout,
        "language": f.language,
        "brands": list(f.brands),
        "layouts": list(f.layouts),
    }


def _problem_dict(p: Problem) -> dict[str, Any]:
    return {
        "path": str(p.path),
        "line": p.line,
        "col": p.col,
        "key": p.key,
        "message": p.message,
        "hint": p.hint,
    }


def to_json(report: CheckReport, load_problems: Iterable[Problem] = ()) -> dict[str, Any]:
    """The report as plain JSON-ready data; the shape is documented in docs/checks.md.
    ``load_problems`` are the errors that kept files from loading (so not checked)."""
    problems = [_problem_dict(p) for p in load_problems]
    return {
        "version": JSON_VERSION,
        "today": report.today.isoformat(),
        "strict": report.strict,
        "summary": {
            "errors": len(report.errors),
            "warnings": len(report.warnings),
            "load_problems": len(problems),
        },
        "load_problems": problems,
        "findings": [_finding_dict(f) for f in report.findings],
        "readability": [r.as_dict() for r in report.readability],
    }


def readability_summary(report: CheckReport, handout_id: str, language: str) -> dict[str, Any]:
    """The grade figures of one handout, for the build manifest ({} when not measured)."""
    r = report.readability_of(handout_id, language)
    if r is None or r.whole is None:
        return {}
    w = r.whole
    summary: dict[str, Any] = {"scale": r.scale, "target_grade": r.target_grade}
    if r.scale == "grade":
        summary |= {
            "grade": w.grade,
            "smog": w.smog,
            "flesch_kincaid": w.flesch_kincaid,
            "answers": {a.key: a.grade for a in r.answers},
        }
    else:
        summary |= {
            "fernandez_huerta": w.fernandez_huerta,
            "fernandez_huerta_band": w.fernandez_huerta_band,
            "szigriszt_pazos": w.szigriszt_pazos,
            "inflesz_band": w.inflesz_band,
            "answers": {a.key: a.fernandez_huerta for a in r.answers},
        }
    return summary
