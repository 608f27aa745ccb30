"""The PDF to attach: built first when it is not up to date, and attached only when it is
exactly the file this tool built (its SHA-256 matches its record in output/manifest.json).

``ensure_built`` is the single place where sending calls the build.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import HandoutsError, Problem
from ..project import Project


@dataclass(frozen=True)
class BuiltDocument:
    """A PDF as built by this tool, with the record the build kept of it."""

    label: str  # brand/handout.lang.layout
    output: str  # its path in the output folder: brand/handout.lang.layout.pdf
    path: Path
    sha256: str
    data: bytes = field(repr=False)
    record: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


def _megabytes(n: float) -> str:
    return f"{n / 1_000_000:.1f} MB"


def ensure_built(
    project: Project,
    brand: str,
    handout: str,
    language: str,
    layout: str,
    *,
    max_bytes: int,
) -> BuiltDocument:
    """Build ``brand/handout.language.layout.pdf`` if it is not up to date, then read it back
    and check it against its manifest record. Raises HandoutsError when it cannot be built,
    is larger than ``max_bytes``, or is not the file the build recorded."""
    from .. import api, manifest

    out_dir = api.output_dir(project)
    label = f"{brand}/{handout}.{language}.{layout}"
    output = f"{label}.pdf"
    filters = api.Filters(
        brands=[brand], handouts=[handout], layouts=[layout], languages=[language]
    )
    report = api.build(project, api.BuildRequest(filters, out=out_dir, workers=1))
    result = next((r for r in report.results if r.output == output), None)
    if result is None:
        raise HandoutsError(
            Problem(output, "the build made no such document", hint="check --brand and --layout")
        )
    if result.status == "failed":
        raise HandoutsError(
            Problem(
                f"output/{output}",
                f"could not be built, so nothing was sent: {result.error}",
                hint="fix what the message names (handouts check shows it too), then send again",
            )
        )
    record = manifest.load(out_dir).records.get(output)
    if not record or not isinstance(record.get("sha256"), str):
        raise HandoutsError(
            Problem(
                f"output/{manifest.NAME}",
                f"has no record of {output}",
                hint="build again (handouts build); only PDFs this tool built are attached",
            )
        )
    if record.get("draft"):
        raise HandoutsError(
            Problem(
                f"output/{output}",
                "is a DRAFT, not approved for patients, so it was not sent",
                hint=f"have it approved first: handouts review approve {handout}"
                + (f" --lang {language}" if language != "en" else "")
                + ' --by "Name, role"',
            )
        )
    data = _read_output(out_dir, output, max_bytes)
    digest = hashlib.sha256(data).hexdigest()
    if digest != record["sha256"]:
        raise HandoutsError(
            Problem(
                f"output/{output}",
                "is not the file this tool built (it changed after the build), so it was not "
                "attached",
                hint="build again with handouts build --force, then send",
            )
        )
    return BuiltDocument(label, output, out_dir / output, digest, data, record)


def _read_output(out_dir: Path, output: str, max_bytes: int) -> bytes:
    """The PDF's bytes: a regular file inside the output folder (no symlink), size-capped."""
    path = out_dir / output
    shown = f"output/{output}"
    real_out = Path(os.path.realpath(out_dir))
    if not Path(os.path.realpath(path)).is_relative_to(real_out):
        raise HandoutsError(
            Problem(shown, "points outside the output folder", hint="build again with --force")
        )
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise HandoutsError(
            Problem(shown, f"cannot be read ({exc.strerror})", hint="build again with --force")
        ) from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise HandoutsError(
                Problem(shown, "is not a regular file", hint="build again with --force")
            )
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise HandoutsError(
            Problem(
                shown,
                f"is larger than the attachment limit ({_megabytes(max_bytes)})",
                hint="shorten the handout or use lighter images; the limit is "
                "smtp.max_attachment_mb in handouts.yaml",
            )
        )
    return data
