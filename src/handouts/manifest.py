"""``output/manifest.json``: what each output was built from, for incremental builds and audits.

One record per output file: the input key and its parts, the file's sha256, bytes and pages,
the content's review version and the source files. The manifest is data from disk, so every
record is checked before use: a path must stay inside the output folder, a record must have
the shape this version writes. A damaged manifest is kept aside and everything is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .files import output_path, read_limited, write_atomic

if TYPE_CHECKING:
    from .plan import Job

NAME = "manifest.json"
SCHEMA = 1
MAX_BYTES = 256 * 1024 * 1024  # 100,000 documents of about 2 KB each, with room to spare
THUMBNAILS = "gallery"  # output/gallery/<brand>/<document>.png

_REASONS = {
    "content": "content changed",
    "brand": "brand changed",
    "templates": "template changed",
    "fonts": "fonts changed",
    "settings": "project settings changed",
    "tool": "tool version changed",
    "options": "options changed",
}
_OUTPUT = re.compile(r"^[a-z0-9][a-z0-9-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class Loaded:
    """The usable records, and what was wrong with the file (plain sentences)."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def thumbnail_name(output: str) -> str:
    """``riverside/x.en.leaflet.pdf`` → ``gallery/riverside/x.en.leaflet.png``."""
    stem = output.rsplit(".", 1)[0] if "." in output.rsplit("/", 1)[-1] else output
    return f"{THUMBNAILS}/{stem}.png"


def valid_output(out_dir: Path, name: Any) -> Path | None:
    """The file a manifest path names, when it is one this tool could have written: a
    ``brand/file`` path inside the output folder; None for anything else."""
    if not isinstance(name, str) or not _OUTPUT.fullmatch(name) or ".." in name:
        return None
    return output_path(out_dir, name)


def _valid_record(out_dir: Path, name: str, record: Any) -> bool:
    if valid_output(out_dir, name) is None or not isinstance(record, dict):
        return False
    if not isinstance(record.get("key"), str) or not _SHA256.fullmatch(
        str(record.get("sha256", ""))
    ):
        return False
    extra = record.get("files", {})
    return isinstance(extra, dict) and all(
        valid_output(out_dir, k) is not None and _SHA256.fullmatch(str(v)) for k, v in extra.items()
    )


def load(out_dir: Path, *, repair: bool = True) -> Loaded:
    """Records by output path. An absent manifest is empty; a damaged one is renamed to
    ``manifest.json.damaged-N`` (nothing is lost; with ``repair`` off it is only reported)
    and everything is rebuilt."""
    path = out_dir / NAME
    if not os.path.lexists(path):
        return Loaded()
    try:
        data = json.loads(read_limited(path, MAX_BYTES).decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not an object")
    except (OSError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or "it is not a manifest this tool wrote"
        return _damaged(path, why, repair)
    if data.get("schema") != SCHEMA:
        return Loaded()  # written by another version: rebuild everything
    documents = data.get("documents")
    if not isinstance(documents, dict):
        return _damaged(path, "it holds no list of documents", repair)
    loaded = Loaded()
    for name, record in documents.items():
        if _valid_record(out_dir, name, record):
            loaded.records[name] = record
        else:
            shown = repr(name)[:80]
            loaded.notes.append(
                f"{path}: ignored the record {shown}, which this tool did not write; "
                "its document is built again"
            )
    return loaded


def _damaged(path: Path, why: str, repair: bool) -> Loaded:
    if not repair:
        return Loaded(
            notes=[
                f"{path}: the build manifest is damaged ({why}); a build keeps it "
                "aside and builds every document again"
            ]
        )
    kept = _keep_aside(path)
    return Loaded(
        notes=[
            f"{path}: the build manifest was damaged ({why}); it was kept as {kept} "
            "and every document is built again"
        ]
    )


def _keep_aside(path: Path) -> str:
    n = 1
    while os.path.lexists(path.with_name(f"{NAME}.damaged-{n}")):
        n += 1
    target = path.with_name(f"{NAME}.damaged-{n}")
    os.replace(path, target)
    return target.name


def save(out_dir: Path, records: dict[str, dict[str, Any]]) -> None:
    text = json.dumps(
        {"schema": SCHEMA, "documents": dict(sorted(records.items()))},
        indent=2,
        ensure_ascii=False,
    )
    write_atomic(out_dir / NAME, text + "\n")


def file_sha256(path: Path) -> str | None:
    """The SHA-256 of a regular file, or None when it is missing or not a plain file."""
    try:
        return hashlib.sha256(read_limited(path, MAX_BYTES)).hexdigest()
    except OSError:
        return None


def why_rebuild(job: Job, record: dict[str, Any] | None, out_dir: Path) -> str | None:
    """Why ``job`` must be built, or None when its output is up to date."""
    if record is None:
        return "new"
    if record.get("key") != job.key:
        old = record.get("inputs", {})
        old = old if isinstance(old, dict) else {}
        changed = [
            _REASONS.get(k, f"{k} changed")
            for k in sorted(job.inputs)
            if old.get(k) != job.inputs[k]
        ]
        return ", ".join(changed) or "inputs changed"
    path = out_dir / str(job.output)
    if not path.is_file():
        return "output missing"
    if file_sha256(path) != record.get("sha256"):
        return "output changed on disk"
    for name, digest in record.get("files", {}).items():
        if file_sha256(out_dir / name) != digest:
            return "output changed on disk"
    return None


def record(job: Job, result: Any, built_at: str, readability: dict[str, Any]) -> dict[str, Any]:
    """The manifest record of a built document (``result`` is a results.Result)."""
    from .review import manifest_fields

    review = job.handout.handout.review
    h = job.handout
    document = str(job.output)
    extra = {
        name: hashlib.sha256(data).hexdigest()
        for name, data in (result.files or {}).items()
        if name != document
    }
    return {
        "label": job.label,
        "brand": job.brand.id,
        "brand_name": job.brand.brand.name,
        "handout": h.id,
        "title": h.handout.title,
        "language": h.language,
        "layout": job.layout,
        "format": job.fmt,
        "print_ready": job.print_ready,
        "key": job.key,
        "inputs": dict(sorted(job.inputs.items())),
        "sha256": result.sha256,
        "bytes": result.bytes,
        "pages": result.pages,
        "body_pt": result.body_pt,
        "review_version": review.version if review else None,
        "reviewed_on": review.reviewed_on.isoformat() if review else None,
        "readability": readability,
        "reading_grade": readability.get("grade"),
        "sources": list(job.sources),
        "files": extra,
        "warnings": list(result.warnings),
        **result.details,
        "built_at": built_at,
        # sign-off (docs/reviewing.md): draft, approved, fingerprint, translation_out_of_date
        **manifest_fields(job),
    }
