"""Outputs whose brand, handout, language or layout no longer exists: found from the manifest,
and removed only when they are files this tool wrote and nobody has changed since."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import manifest


@dataclass
class Pruned:
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # changed by a person since: not removed


def stale_outputs(records: dict[str, dict[str, Any]], wanted: Iterable[str]) -> list[str]:
    """Recorded outputs that the full plan no longer makes."""
    keep = set(wanted)
    return sorted(name for name in records if name not in keep)


def prune(out_dir: Path, records: dict[str, dict[str, Any]], names: Iterable[str]) -> Pruned:
    """Remove stale outputs and their records. Only paths the (already checked) manifest
    records, inside ``out_dir``, whose bytes still match the recorded SHA-256; a file a person
    replaced is kept (with its record), so nothing of theirs is lost."""
    done = Pruned()
    for name in names:
        record = records.get(name)
        path = manifest.valid_output(out_dir, name)
        if record is None or path is None:
            continue
        files = {name: record.get("sha256"), **record.get("files", {})}
        # A file another document also wrote (a brand's logo beside its web pages) stays.
        shared = {n for other, r in records.items() if other != name for n in r.get("files", {})}
        files = {n: d for n, d in files.items() if n not in shared}
        present = {n: d for n, d in files.items() if os.path.lexists(out_dir / n)}
        if any(manifest.file_sha256(out_dir / n) != d for n, d in present.items()):
            done.kept.append(name)
            continue
        for n in present:
            target = manifest.valid_output(out_dir, n)
            if target is not None:
                target.unlink(missing_ok=True)
        thumbnail = manifest.valid_output(out_dir / manifest.THUMBNAILS, name.rsplit(".", 1)[0])
        if thumbnail is not None:
            thumbnail.with_name(thumbnail.name + ".png").unlink(missing_ok=True)
        records.pop(name, None)
        done.removed.append(name)
    return done
