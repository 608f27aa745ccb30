"""Sign-off: whether each handout's printed text is the text a clinician approved, which parts
changed since, whether a translation has fallen behind its source, and ``approve`` to record a
new sign-off in the handout's own file.

Every function returns plain result objects; the CLI (``handouts review``) and the checks show
them, and the renderer marks a document that is not approved as a DRAFT when the project's
``handouts.yaml`` says ``require_approval: true``. The reviewer's guide is docs/reviewing.md.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from . import fingerprint
from .errors import HandoutsError, Problem
from .fingerprint import Changes, Fingerprint
from .i18n import language_name
from .models import Handout, Settings, did_you_mean, parse
from .project import LoadedHandout, Project
from .yamledit import Flow, Saved, YamlEditor, save
from .yamlio import Document

if TYPE_CHECKING:
    from .plan import Job

State = Literal["approved", "changed", "never-approved"]
TranslationState = Literal["current", "out-of-date", "untracked", "no-source"]
JSON_VERSION = 1

# Where a new `review:` block goes: after the last of these keys that the file has.
_REVIEW_AFTER = ("id", "language", "title", "subtitle", "keywords", "max_pages")


# ---------------------------------------------------------------- status


@dataclass(frozen=True)
class TranslationStatus:
    """Whether a translation still matches the text it was translated from."""

    source_language: str
    state: TranslationState
    source_version: int | str | None = None  # the source's version when it was recorded
    changes: Changes | None = None  # what changed in the source since (out-of-date only)

    def describe(self) -> str:
        name = language_name(self.source_language, "en")
        if self.state == "current":
            version = f" version {self.source_version}" if self.source_version else ""
            return f"up to date with the {name} text{version}"
        if self.state == "no-source":
            return f"there is no {name} version to compare it with"
        if self.state == "untracked":
            return f"does not record which {name} text it was made from"
        assert self.changes is not None
        return f"out of date: {self.changes.describe(name)} changed since it was translated"

    def as_dict(self) -> dict[str, Any]:
        return {
            "source_language": self.source_language,
            "state": self.state,
            "source_version": self.source_version,
            "changes": self.changes.as_dict() if self.changes else None,
            "summary": self.describe(),
        }


@dataclass(frozen=True)
class DocumentStatus:
    """The sign-off of one handout in one language."""

    handout: str
    language: str
    path: str
    fingerprint: Fingerprint  # of the text as it is now
    state: State
    require_approval: bool = False
    version: int | str | None = None
    reviewed_on: dt.date | None = None
    reviewed_by: str | None = None
    next_review: dt.date | None = None
    overdue: bool = False
    changes: Changes | None = None  # what changed since the approval (state "changed")
    translation: TranslationStatus | None = None
    history: tuple[dict[str, Any], ...] = field(default=(), repr=False)

    @property
    def approved(self) -> bool:
        return self.state == "approved"

    @property
    def draft(self) -> bool:
        """Printed as a DRAFT: approval is required and this text does not have it."""
        return self.require_approval and not self.approved

    @property
    def review_holds(self) -> bool:
        """Whether the printed "Reviewed ... · Version N" line is true of this text (a review
        typed in by hand, without a fingerprint, is taken at its word)."""
        return self.state != "changed"

    def describe(self) -> str:
        """One line for people: ``approved (version 2, 2026-11-01 by ...)``, ..."""
        if self.state == "never-approved":
            text = "never approved"
            if self.version is not None:
                text += f" (a review of version {self.version} is recorded by hand, "
                text += "without a fingerprint)"
        else:
            when = f"version {self.version}, {self.reviewed_on} by {self.reviewed_by or '?'}"
            if self.state == "approved":
                text = f"approved ({when})"
            else:
                assert self.changes is not None
                text = (
                    f"changed since it was approved on {self.reviewed_on} (version "
                    f"{self.version}): {self.changes.describe()}"
                )
        if self.overdue:
            text += f"; review overdue since {self.next_review}"
        if self.translation:
            text += f"; translation {self.translation.describe()}"
        if self.draft:
            text += "; printed as a DRAFT"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "handout": self.handout,
            "language": self.language,
            "path": self.path,
            "state": self.state,
            "draft": self.draft,
            "fingerprint": self.fingerprint.digest,
            "version": self.version,
            "reviewed_on": self.reviewed_on.isoformat() if self.reviewed_on else None,
            "reviewed_by": self.reviewed_by,
            "next_review": self.next_review.isoformat() if self.next_review else None,
            "overdue": self.overdue,
            "changes": self.changes.as_dict() if self.changes else None,
            "translation": self.translation.as_dict() if self.translation else None,
            "summary": self.describe(),
            "history": list(self.history),
        }


_CACHE: dict[int, tuple[Handout, Fingerprint]] = {}


def fingerprint_of(handout: Handout) -> Fingerprint:
    """``fingerprint.of``, remembered for the handout objects seen last (a build asks for the
    same handout once per brand and layout)."""
    hit = _CACHE.get(id(handout))
    if hit is not None and hit[0] is handout:
        return hit[1]
    if len(_CACHE) > 256:
        _CACHE.clear()
    result = fingerprint.of(handout)
    _CACHE[id(handout)] = (handout, result)
    return result


def _translation_status(handout: Handout, source: Handout | None) -> TranslationStatus | None:
    t = handout.translation
    if t is None:
        return None
    if source is None:
        return TranslationStatus(t.source_language, "no-source")
    if t.source is None:
        return TranslationStatus(t.source_language, "untracked")
    current = fingerprint_of(source)
    if current.digest == t.source.fingerprint:
        return TranslationStatus(t.source_language, "current", t.source.version)
    found = fingerprint.changes(t.source.parts, current)
    return TranslationStatus(
        t.source_language,
        "out-of-date",
        t.source.version,
        found if found.any else Changes(unknown=True),
    )


def document_status(
    handout: Handout,
    display: str,
    settings: Settings,
    source: Handout | None = None,
    today: dt.date | None = None,
) -> DocumentStatus:
    """The sign-off status of ``handout`` (``source``: the version it was translated from)."""
    today = today or dt.date.today()
    current = fingerprint_of(handout)
    review = handout.review
    translation = _translation_status(handout, source)
    assert handout.id and handout.language
    base: dict[str, Any] = {
        "handout": handout.id,
        "language": handout.language,
        "path": display,
        "fingerprint": current,
        "require_approval": settings.require_approval,
        "translation": translation,
    }
    if review is None:
        return DocumentStatus(state="never-approved", **base)
    base |= {
        "version": review.version,
        "reviewed_on": review.reviewed_on,
        "reviewed_by": review.reviewed_by,
        "next_review": review.next_review,
        "overdue": review.next_review is not None and review.next_review < today,
        "history": tuple(r.model_dump(mode="json", exclude_none=True) for r in review.history),
    }
    if review.fingerprint is None:
        return DocumentStatus(state="never-approved", **base)
    if review.fingerprint == current.digest:
        return DocumentStatus(state="approved", **base)
    found = fingerprint.changes(review.parts, current)
    return DocumentStatus(
        state="changed", changes=found if found.any else Changes(unknown=True), **base
    )


def source_of(project: Project, h: LoadedHandout) -> LoadedHandout | None:
    """The version ``h`` was translated from, if the project has it."""
    t = h.handout.translation
    return project.handout_versions(h.id).get(t.source_language) if t else None


def status(project: Project, h: LoadedHandout, today: dt.date | None = None) -> DocumentStatus:
    source = source_of(project, h)
    return document_status(
        h.handout, h.display, project.settings, source.handout if source else None, today
    )


def statuses(project: Project, today: dt.date | None = None) -> list[DocumentStatus]:
    """Every handout in every language, by id then language."""
    ordered = sorted(project.handouts, key=lambda h: (h.id, h.language))
    return [status(project, h, today) for h in ordered]


def status_json(project: Project, today: dt.date | None = None) -> dict[str, Any]:
    """``handouts review status --format json`` (shape: docs/reviewing.md)."""
    today = today or dt.date.today()
    return {
        "version": JSON_VERSION,
        "today": today.isoformat(),
        "require_approval": project.settings.require_approval,
        "handouts": [s.as_dict() for s in statuses(project, today)],
    }


# ---------------------------------------------------------------- a document being built


def job_status(job: Job) -> DocumentStatus:
    """The sign-off status of the handout a build job prints: worked out by the plan, which
    has the whole project (the settings, a translation's source); a job made by hand gets the
    status of its handout alone."""
    if job.signoff is not None:
        return job.signoff
    h = job.handout
    return document_status(h.handout, h.display, Settings(), None)


def input_key(s: DocumentStatus) -> str:
    """What a document shows of its sign-off, as text for the plan's input key. The handout's
    own file and the settings are hashed already; a translation's out-of-date note depends on
    another file, its source, so a change there must rebuild the translation too."""
    t = s.translation
    stale = t.describe() if t and t.state == "out-of-date" else "-"
    return f"draft={s.draft}; review holds={s.review_holds}; translation={stale}"


def template_state(job: Job) -> dict[str, Any]:
    """What templates see (``doc.governance``): the DRAFT flag, whether the printed review
    line still holds, and a note on an out-of-date translation for the PDF's metadata."""
    s = job_status(job)
    stale = s.translation if s.translation and s.translation.state == "out-of-date" else None
    return {
        "draft": s.draft,
        "review_holds": s.review_holds,
        # a PDF keyword: no commas, which would split it
        "out_of_date": f"translation {stale.describe()}".replace(",", "") if stale else None,
    }


def manifest_fields(job: Job) -> dict[str, Any]:
    """The sign-off fields of a manifest record (and of a print-history line)."""
    s = job_status(job)
    t = s.translation
    return {
        "draft": s.draft,
        "approved": s.approved,
        "fingerprint": s.fingerprint.digest,
        "translation_out_of_date": t.describe() if t and t.state == "out-of-date" else None,
    }


# ---------------------------------------------------------------- approve


@dataclass(frozen=True)
class Approval:
    """What ``approve`` recorded."""

    handout: str
    language: str
    path: str
    version: int | str
    reviewed_on: dt.date
    reviewed_by: str
    next_review: dt.date
    fingerprint: str
    note: str | None
    source: tuple[str, int | str | None] | None  # (language, version) recorded as the source
    saved: Saved
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        return (
            f"approved {self.path}: version {self.version}, reviewed {self.reviewed_on} by "
            f"{self.reviewed_by}; next review {self.next_review}"
        )


def _find(project: Project, handout_id: str, language: str | None) -> LoadedHandout:
    versions = project.handout_versions(handout_id)
    for broken in project.broken_of("handout").get(handout_id, ()):
        if language in (None, broken.language) and (language or broken.language) not in versions:
            raise HandoutsError(
                Problem(
                    broken.display,
                    "this file has errors, so its text cannot be approved",
                    hint="fix the errors listed above, then approve it",
                )
            )
    if not versions:
        hint = did_you_mean(handout_id, {h.id for h in project.handouts})
        raise HandoutsError(
            Problem(
                handout_id,
                f"no handout has the id '{handout_id}'",
                hint=hint or "the id is the file name in content/handouts/ without .yaml",
            )
        )
    if language is None:
        originals = [h for h in versions.values() if h.handout.translation is None]
        if len(originals) == 1:
            return originals[0]
        raise HandoutsError(
            Problem(
                handout_id,
                "say which language to approve",
                hint="add --lang with one of: " + ", ".join(sorted(versions)),
            )
        )
    if language not in versions:
        raise HandoutsError(
            Problem(
                handout_id,
                f"'{handout_id}' has no '{language}' version",
                hint="languages: " + ", ".join(sorted(versions)),
            )
        )
    return versions[language]


def _next_year(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def next_version(h: LoadedHandout, current: Fingerprint) -> int | str:
    """The version a sign-off of the current text gets: the same when the text is the one
    approved last (a re-review), else one more (``2.1`` → ``2.2``; a first sign-off is 1)."""
    review = h.handout.review
    if review is None:
        return 1
    if review.fingerprint == current.digest:
        return review.version
    if isinstance(review.version, int):
        return review.version + 1
    match = re.fullmatch(r"(.*?)(\d+)", review.version)
    if match is None:
        raise HandoutsError(
            h.problem(
                ("review", "version"),
                f"cannot tell what comes after version '{review.version}'",
                "give the new version with --version",
            )
        )
    return match.group(1) + str(int(match.group(2)) + 1)


def approve(
    project: Project,
    handout_id: str,
    language: str | None = None,
    *,
    by: str,
    note: str | None = None,
    on: dt.date | None = None,
    next_review: dt.date | None = None,
    version: int | str | None = None,
    today: dt.date | None = None,
) -> Approval:
    """Record that ``by`` approved the current text of a handout: its ``review:`` block gets
    the date, reviewer, version and fingerprint, and ``review.history`` one more entry. A
    translation also records the current fingerprints of its source as ``translation.source``.
    The file is edited in place (every other line kept as it is; the previous version is kept
    as NAME.yaml.bak)."""
    today = today or dt.date.today()
    h = _find(project, handout_id, language)
    by = " ".join(by.split())
    if not by:
        raise HandoutsError(
            Problem(
                "--by", "say who approved the text", hint='--by "Dr A. Rivera, medical director"'
            )
        )
    note = " ".join(note.split()) if note else None
    on = on or today
    if on > today:
        raise HandoutsError(
            Problem("--on", f"{on} is in the future", hint="a sign-off is dated when it happened")
        )
    next_review = next_review or _next_year(on)
    if next_review <= on:
        raise HandoutsError(
            Problem(
                "--next-review",
                f"the next review ({next_review}) must come after this one ({on})",
                hint="leave it out for a year from the review date",
            )
        )
    current = fingerprint_of(h.handout)
    new_version = version if version not in (None, "") else next_version(h, current)
    record: dict[str, Any] = {
        "version": new_version,
        "reviewed_on": on,
        "reviewed_by": by,
        "fingerprint": current.digest,
    }
    if note:
        record["note"] = note
    parts = {k: Flow(v) if isinstance(v, list) else v for k, v in current.parts_data().items()}
    editor = YamlEditor.read(h.path, h.display)
    if editor.get(("review",)) is None:
        block = {
            "version": new_version,
            "reviewed_on": on,
            "reviewed_by": by,
            "next_review": next_review,
            "fingerprint": current.digest,
            "parts": parts,
            "history": [record],
        }
        editor.set(("review",), block, after=_REVIEW_AFTER, separate=True)
    else:
        editor.set(("review", "version"), new_version)
        editor.set(("review", "reviewed_on"), on)
        editor.set(("review", "reviewed_by"), by)
        editor.set(("review", "next_review"), next_review)
        editor.set(("review", "fingerprint"), current.digest)
        editor.set(("review", "parts"), parts)
        editor.append(("review", "history"), record)

    notes: list[str] = []
    recorded: tuple[str, int | str | None] | None = None
    translation = h.handout.translation
    if translation is not None:
        source = source_of(project, h)
        if source is None:
            name = language_name(translation.source_language, "en")
            notes.append(
                f"there is no {name} version of '{h.id}' in this project, so the translation's "
                "source was not recorded"
            )
        else:
            source_fp = fingerprint_of(source.handout)
            source_version = source.handout.review.version if source.handout.review else None
            source_block: dict[str, Any] = {}
            if source_version is not None:
                source_block["version"] = source_version
            source_block["fingerprint"] = source_fp.digest
            source_block["parts"] = {
                k: Flow(v) if isinstance(v, list) else v for k, v in source_fp.parts_data().items()
            }
            editor.set(("translation", "source"), source_block)
            recorded = (source.language, source_version)

    def validate(doc: Document) -> None:
        parse(Handout, doc, {"id": h.id, "language": h.language})

    saved = save(
        h.path, editor.dumps(), original=editor.original, display=h.display, validate=validate
    )
    return Approval(
        h.id,
        h.language,
        h.display,
        new_version,
        on,
        by,
        next_review,
        current.digest,
        note,
        recorded,
        saved,
        tuple(notes),
    )
