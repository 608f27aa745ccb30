"""``output/history.jsonl``: the print history. One JSON line per document a build wrote: when,
which file, its SHA-256, the handout's version and fingerprint, the brand, and whether it was a
draft. It answers "which version was printed for this clinic on that date?".

The file is only ever appended to: never rewritten, never pruned. Each line is one ``write``
to a file opened with ``O_APPEND`` (so lines from two builds at once cannot interleave), and
the file is synced to disk before ``append`` returns. A line cut short by a crash is skipped
on reading, and the next append starts on a fresh line.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import HandoutsError, Problem

if TYPE_CHECKING:
    from .plan import Job

NAME = "history.jsonl"
MAX_LINE = 64 * 1024  # a longer line is not one we wrote


@dataclass(frozen=True)
class Entry:
    """One document written by one build."""

    time: str  # when the build ran, ISO 8601 in UTC (the manifest's built_at)
    output: str  # path relative to the output folder
    sha256: str  # of the PDF written
    brand: str
    handout: str
    language: str
    layout: str
    version: int | str | None  # the handout's review version (None: never reviewed)
    fingerprint: str  # of the handout's printed text (see fingerprint.py)
    approved: bool  # the text is the approved one
    draft: bool  # printed with the DRAFT mark

    def as_json(self, *, ascii_only: bool = False) -> str:
        """One line of JSON (``ascii_only``: every non-ASCII character escaped, for a
        terminal)."""
        return json.dumps(asdict(self), ensure_ascii=ascii_only, separators=(",", ":"))

    @property
    def when(self) -> dt.datetime:
        moment = dt.datetime.fromisoformat(self.time)
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def entry(job: Job, result: Any, built_at: str) -> Entry:
    """The history line of a document just written (``result`` is a build.Result)."""
    from .review import job_status

    s = job_status(job)
    review = job.handout.handout.review
    return Entry(
        time=built_at,
        output=str(result.output),
        sha256=result.sha256,
        brand=job.brand.id,
        handout=job.handout.id,
        language=job.handout.language,
        layout=job.layout,
        version=review.version if review else None,
        fingerprint=s.fingerprint.digest,
        approved=s.approved,
        draft=s.draft,
    )


def append(out_dir: Path, entries: Iterable[Entry]) -> int:
    """Append ``entries`` to ``out_dir/history.jsonl``; returns how many were written."""
    lines = [(e.as_json() + "\n").encode("utf-8") for e in entries]
    if not lines:
        return 0
    path = Path(out_dir) / NAME
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise HandoutsError(
                Problem(str(path), "is not a regular file", hint="move it away and build again")
            )
        if info.st_size and os.pread(fd, 1, info.st_size - 1) != b"\n":
            lines[0] = b"\n" + lines[0]  # a line cut short earlier stays on its own line
        for line in lines:
            written = os.write(fd, line)
            while written < len(line):  # only when the disk is full: keep what we can
                written += os.write(fd, line[written:])
        os.fsync(fd)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    finally:
        os.close(fd)
    return len(lines)


def _cannot_write(path: Path, exc: OSError) -> HandoutsError:
    return HandoutsError(
        Problem(
            str(path),
            f"cannot add to the print history ({exc.strerror or exc})",
            hint="check the output folder's permissions and free space",
        )
    )


@dataclass(frozen=True)
class Reading:
    """The history as read: its entries (oldest first) and how many lines were unreadable."""

    entries: tuple[Entry, ...]
    damaged: int = 0


_FIELDS = set(Entry.__dataclass_fields__)


def _parse(line: bytes) -> Entry | None:
    try:
        data = json.loads(line)
        if not isinstance(data, dict) or not set(data) >= _FIELDS:
            return None
        found = Entry(**{k: data[k] for k in _FIELDS})
        found.when  # noqa: B018 - a bad time makes the line unreadable
        return found
    except (ValueError, TypeError):
        return None


def _lines(path: Path) -> Iterator[bytes]:
    # O_NONBLOCK: opening a FIFO put in the file's place must not wait for a writer.
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise OSError(0, "not a regular file")
        while line := handle.readline(MAX_LINE + 1):
            if len(line) > MAX_LINE and not line.endswith(b"\n"):
                while (rest := handle.readline(MAX_LINE + 1)) and not rest.endswith(b"\n"):
                    pass
                yield b""  # an over-long line: unreadable
                continue
            yield line


def read(out_dir: Path) -> Reading:
    """Every entry of ``out_dir/history.jsonl`` (none when there is no history yet)."""
    path = Path(out_dir) / NAME
    if not path.exists() and not path.is_symlink():
        return Reading(())
    entries: list[Entry] = []
    damaged = 0
    try:
        for line in _lines(path):
            if not line.strip():
                if line:
                    continue  # a blank line
                damaged += 1
                continue
            found = _parse(line)
            if found is None:
                damaged += 1
            else:
                entries.append(found)
    except OSError as exc:
        raise HandoutsError(
            Problem(str(path), f"cannot read the print history ({exc.strerror or exc})")
        ) from None
    return Reading(tuple(entries), damaged)


def select(
    entries: Iterable[Entry],
    *,
    brands: Iterable[str] = (),
    handouts: Iterable[str] = (),
    languages: Iterable[str] = (),
    layouts: Iterable[str] = (),
) -> list[Entry]:
    """The entries of the named brands, handouts, languages and layouts (empty: all)."""
    wanted = [set(brands), set(handouts), set(languages), set(layouts)]
    return [
        e
        for e in entries
        if all(
            not names or value in names
            for names, value in zip(wanted, (e.brand, e.handout, e.language, e.layout), strict=True)
        )
    ]


def in_effect(entries: Iterable[Entry], on: dt.date) -> list[Entry]:
    """For each document, the last version written on or before the end of day ``on`` (UTC):
    the file that was there to be printed that day. Sorted by output path."""
    end = dt.datetime.combine(on + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    latest: dict[str, Entry] = {}
    for e in entries:
        if e.when < end and (e.output not in latest or e.when >= latest[e.output].when):
            latest[e.output] = e
    return [latest[k] for k in sorted(latest)]
