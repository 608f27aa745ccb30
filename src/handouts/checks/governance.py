"""Content governance: every handout should record its medical review, be reviewed again when
that review says, and print only the text that was approved; a translation should match the
text it was translated from (docs/reviewing.md)."""

from __future__ import annotations

from ..errors import HandoutsError, Problem
from ..i18n import language_name
from ..project import LoadedHandout
from ..review import DocumentStatus, status
from ..yamlio import KeyPath, format_key, load_yaml
from .registry import CheckContext, check
from .report import Finding


def _approve_command(h: LoadedHandout) -> str:
    lang = f" --lang {h.language}" if h.handout.translation else ""
    return f'handouts review approve {h.id}{lang} --by "Name, role"'


def _at_key(h: LoadedHandout, key: KeyPath, message: str, hint: str) -> Problem:
    """A Problem at the line of the key itself (``review:``), not at its first child."""
    try:
        mark = load_yaml(h.path, h.display).keys.get(key)
    except HandoutsError:
        mark = None
    if mark is None:
        return h.problem(key, message, hint)
    return Problem(h.display, message, mark.line, mark.col, format_key(key), hint)


@check("handout")
def signoff(ctx: CheckContext) -> list[Finding]:
    """Warnings (errors under ``strict`` where the text must not be printed as it is) about
    one handout's review, its approval and, for a translation, its source."""
    h, today, strict, project = ctx.h, ctx.today, ctx.strict, ctx.project
    scope = {"handout": h.id, "language": h.language}
    hard = "error" if strict else "warning"
    review = h.handout.review
    s = status(project, h, today) if project is not None else None
    draft = "; it is printed as a DRAFT" if s is not None and s.draft else ""
    findings: list[Finding] = []
    if review is None:
        problem = h.problem(
            ("review",),
            "the handout records no medical review" + draft,
            "once a clinician has reviewed it, run `" + _approve_command(h) + "`",
        )
        findings.append(Finding("warning", "governance.no-review", problem, **scope))
    else:
        due = review.next_review
        if due is not None and due < today:
            days = (today - due).days
            problem = h.problem(
                ("review", "next_review"),
                f"the review was due on {due.isoformat()}, {days} day{'s' * (days != 1)} ago",
                "have the text reviewed, then run `" + _approve_command(h) + "`",
            )
            findings.append(Finding(hard, "governance.overdue", problem, **scope))
    if s is None:
        return findings
    findings += _approval(h, s, hard, draft, scope)
    findings += _translation(h, s, hard, scope)
    return findings


def _approval(
    h: LoadedHandout, s: DocumentStatus, hard: str, draft: str, scope: dict[str, str]
) -> list[Finding]:
    if s.state == "changed":
        assert s.changes is not None
        problem = _at_key(
            h,
            ("review",),
            f"changed since it was approved on {s.reviewed_on} (version {s.version}): "
            f"{s.changes.describe()}" + ("" if hard == "error" else draft),
            "once a clinician has checked the changes, run `" + _approve_command(h) + "`",
        )
        return [Finding(hard, "governance.changed", problem, **scope)]
    if s.state == "never-approved" and s.version is not None and s.require_approval:
        problem = _at_key(
            h,
            ("review",),
            "the review is not tied to this text (it has no fingerprint), so it cannot be "
            "shown to be approved" + draft,
            "once a clinician has reviewed it, run `" + _approve_command(h) + "`",
        )
        return [Finding("warning", "governance.unsigned", problem, **scope)]
    return []


def _translation(
    h: LoadedHandout, s: DocumentStatus, hard: str, scope: dict[str, str]
) -> list[Finding]:
    t = s.translation
    if t is None or t.state == "current":
        return []
    name = language_name(t.source_language, "en")
    key = ("translation",)
    if t.state == "out-of-date":
        assert t.changes is not None
        version = f" (version {t.source_version})" if t.source_version is not None else ""
        problem = _at_key(
            h,
            key,
            f"the {name} text changed since this translation was made from it{version}: "
            f"{t.changes.describe(name)}",
            "update the translation to match, then run `" + _approve_command(h) + "`",
        )
        return [Finding(hard, "governance.translation-out-of-date", problem, **scope)]
    if t.state == "no-source":
        problem = h.problem(
            ("translation", "source_language"),
            f"there is no {name} version of '{h.id}' to compare this translation with",
            f"add content/handouts/{h.id}.{t.source_language}.yaml, or correct source_language",
        )
        return [Finding("warning", "governance.no-source", problem, **scope)]
    if s.require_approval:  # untracked: only worth a warning where approval is required
        problem = _at_key(
            h,
            key,
            f"the translation does not record which {name} text it was made from, so a later "
            f"change to the {name} cannot be detected",
            "once the translation matches, run `" + _approve_command(h) + "`",
        )
        return [Finding("warning", "governance.translation-untracked", problem, **scope)]
    return []
