"""Content governance: every handout should record its medical review, and be reviewed again
when that review says."""

from __future__ import annotations

import datetime as dt

from ..project import LoadedHandout
from .report import Finding


def check_handout(h: LoadedHandout, today: dt.date, strict: bool = False) -> list[Finding]:
    """A warning for a missing review block; an overdue review warns (under strict: errs, so
    the handout is not printed again until someone has looked at it)."""
    scope = {"handout": h.id, "language": h.language}
    review = h.handout.review
    if review is None:
        problem = h.problem(
            ("review",),
            "the handout records no medical review",
            "add a `review:` block with version, reviewed_on, reviewed_by and next_review",
        )
        return [Finding("warning", "governance.no-review", problem, **scope)]
    due = review.next_review
    if due is not None and due < today:
        days = (today - due).days
        problem = h.problem(
            ("review", "next_review"),
            f"the review was due on {due.isoformat()}, {days} day{'s' * (days != 1)} ago",
            "have the text reviewed, then update reviewed_on and next_review",
        )
        severity = "error" if strict else "warning"
        return [Finding(severity, "governance.overdue", problem, **scope)]
    return []
