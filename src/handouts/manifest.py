"""``output/manifest.json``: what each output was built from, for incremental builds and audits.

One record per output file: the input key and its parts, the file's sha256, bytes and pages,
the content's review version and the source files. Written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .errors import HandoutsError, Problem
from .gallery import thumbnail_name
from .plan import Job

NAME = "manifest.json"
SCHEMA = 1

_REASONS = {
    "content": "content changed",
    "brand": "brand changed",
    "templates": "template changed",
    "fonts": "fonts changed",
    "tool": "tool version changed",
    "options": "options changed",
}


def load(out_dir: Path) -> dict[str, dict[str, Any]]:
    """Records by output path; an absent manifest is empty, a damaged one is an error."""
    path = out_dir / NAME
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("schema") != SCHEMA:
            return {}  # written by another version: rebuild everything
        return dict(data["documents"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise HandoutsError(
            Problem(
                str(path),
                "the build manifest is damaged",
                hint="delete it (the next build rebuilds everything) or build with --force",
            )
        ) from None


def save(out_dir: Path, records: dict[str, dict[str, Any]]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    text = (
        json.dumps(
            {"schema": SCHEMA, "documents": dict(sorted(records.items()))},
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )
    target = out_dir / NAME
    tmp = target.with_name(f".{NAME}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def why_rebuild(job: Job, record: dict[str, Any] | None, out_dir: Path) -> str | None:
    """Why ``job`` must be built, or None when its output is up to date."""
    if record is None:
        return "new"
    if record.get("key") != job.key:
        old = record.get("inputs", {})
        changed = [
            _REASONS.get(k, f"{k} changed")
            for k in sorted(job.inputs)
            if old.get(k) != job.inputs[k]
        ]
        return ", ".join(changed) or "inputs changed"
    path = out_dir / str(job.output)
    if not path.is_file():
        return "output missing"
    if hashlib.sha256(path.read_bytes()).hexdigest() != record.get("sha256"):
        return "output changed on disk"
    return None


def record(
    job: Job, result: Any, built_at: str, readability: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The manifest record of a built document (``result`` is a build.Result)."""
    review = job.handout.handout.review
    h = job.handout
    return {
        "label": job.label,
        "brand": job.brand.id,
        "brand_name": job.brand.brand.name,
        "handout": h.id,
        "title": h.handout.title,
        "language": h.language,
        "layout": job.layout,
        "print_ready": job.print_ready,
        "key": job.key,
        "inputs": dict(sorted(job.inputs.items())),
        "sha256": result.sha256,
        "bytes": result.bytes,
        "pages": result.pages,
        "body_pt": result.body_pt,
        "review_version": review.version if review else None,
        "reviewed_on": review.reviewed_on.isoformat() if review else None,
        "readability": readability or {},
        "reading_grade": (readability or {}).get("grade"),
        "sources": list(job.sources),
        "thumbnail": thumbnail_name(str(job.output)),
        "built_at": built_at,
    }
