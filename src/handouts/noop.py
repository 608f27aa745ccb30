"""The no-op shortcut. When nothing a build reads has changed since the last successful build
(every input file byte for byte, the options, the tool's version) and every output is still
the file that build wrote, its outcome is known: everything is up to date. Knowing that takes
hashing some files, not loading Python's heavy modules (the models, the checks, WeasyPrint),
so a scheduled run that finds nothing to do returns in a blink.

Only plain files are read, with a size limit; anything unusual in the project (a symlink, a
FIFO, a file that cannot be read) simply means "not sure" and the full build runs, which
reports it properly. The state file is data from disk: its paths are checked like the
manifest's, and it can at most make a build run in full.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .files import read_limited, write_atomic

NAME = ".handouts-state.json"
SCHEMA = 1
_MAX_FILE = 64 * 1024 * 1024
_MAX_STATE = 64 * 1024 * 1024
_MAX_FILES = 20_000


@dataclass
class State:
    """What the last successful build left, enough to report the same outcome again."""

    outputs: dict[str, str] = field(default_factory=dict)  # output → sha256
    readability: list[str] = field(default_factory=list)  # the summary's reading-level lines
    warnings: int = 0  # check warnings about these documents
    stale: list[str] = field(default_factory=list)


def _walk(folder: Path) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Every entry under ``folder`` (not following links), by relative path, sorted."""
    stack = [(folder, "")]
    while stack:
        current, prefix = stack.pop()
        with os.scandir(current) as it:
            entries = sorted(it, key=lambda e: e.name, reverse=True)
        for entry in entries:
            name = f"{prefix}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                if entry.name != "__pycache__":
                    stack.append((Path(entry.path), name + "/"))
            else:
                yield name, entry


def fingerprint(root: Path, folders: list[Path], options: dict[str, Any]) -> str | None:
    """A digest of every file in ``folders`` and the options, or None when the project holds
    something that is not a plain file (the full build then decides what to make of it)."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"tool": _versions(), **options}, sort_keys=True).encode())
    count = 0
    try:
        for folder in folders:
            digest.update(f"\0folder {folder}\n".encode())
            if not os.path.lexists(folder):
                continue
            if not folder.is_dir() or folder.is_symlink():
                return None
            for name, entry in _walk(folder):
                count += 1
                if count > _MAX_FILES or not stat.S_ISREG(
                    entry.stat(follow_symlinks=False).st_mode
                ):
                    return None
                data = read_limited(Path(entry.path), _MAX_FILE)
                digest.update(f"{name}\0{hashlib.sha256(data).hexdigest()}\n".encode())
        settings = root / "handouts.yaml"
        if os.path.lexists(settings):
            data = read_limited(settings, _MAX_FILE)
            digest.update(b"settings\0" + hashlib.sha256(data).digest())
    except OSError:
        return None
    return digest.hexdigest()


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{__version__}/{version('weasyprint')}"
    except PackageNotFoundError:  # pragma: no cover - a dependency
        return __version__


def project_folders(root: Path) -> list[Path]:
    """Every folder a build reads: the project's content, templates and fonts, and the
    built-in templates and fonts."""
    from .assets import builtin_dir

    return [
        root / "content",
        root / "templates",
        root / "fonts",
        builtin_dir("templates"),
        builtin_dir("fonts"),
    ]


def shortcut(
    root: Path, out_dir: Path, options: dict[str, Any], today: dt.date
) -> tuple[str | None, State | None]:
    """The project's digest, and the last build's state when nothing has changed since."""
    digest = fingerprint(root, project_folders(root), {"out": str(out_dir), **options})
    return digest, (load(out_dir, digest, today) if digest else None)


def load(out_dir: Path, digest: str, today: dt.date) -> State | None:
    """The state of the last build when it is still true: same digest, still valid today,
    every output as it was written; None otherwise."""
    try:
        data = json.loads(read_limited(out_dir / NAME, _MAX_STATE))
        if data.get("schema") != SCHEMA or data.get("digest") != digest:
            return None
        until = data.get("valid_until")
        if until is not None and today >= dt.date.fromisoformat(until):
            return None  # a review falls due: the checks must look again
        outputs = data["outputs"]
        state = State(
            {str(k): str(v) for k, v in outputs.items()},
            [str(x) for x in data.get("readability", [])],
            int(data.get("warnings", 0)),
            [str(x) for x in data.get("stale", [])],
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not (out_dir / "index.html").is_file() or _sha(out_dir / "manifest.json") != data.get(
        "manifest"
    ):
        return None
    for name, sha in state.outputs.items():
        if not _same(out_dir, name, sha):
            return None
    return state


def _sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(read_limited(path, _MAX_STATE)).hexdigest()
    except OSError:
        return None


def _same(out_dir: Path, name: str, sha: str) -> bool:
    from .manifest import valid_output

    path = valid_output(out_dir, name)
    return path is not None and _sha(path) == sha


def save(out_dir: Path, digest: str, state: State, valid_until: dt.date | None) -> None:
    """Remember a successful build's outcome (best effort: a failure only costs speed)."""
    data = {
        "schema": SCHEMA,
        "digest": digest,
        "valid_until": valid_until.isoformat() if valid_until else None,
        "manifest": _sha(out_dir / "manifest.json"),
        "outputs": dict(sorted(state.outputs.items())),
        "readability": state.readability,
        "warnings": state.warnings,
        "stale": state.stale,
    }
    with contextlib.suppress(OSError):
        write_atomic(out_dir / NAME, json.dumps(data, indent=1) + "\n")


def forget(out_dir: Path) -> None:
    """A build is about to change outputs: the old state no longer describes them."""
    with contextlib.suppress(OSError):
        (out_dir / NAME).unlink(missing_ok=True)
