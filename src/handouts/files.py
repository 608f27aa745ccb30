"""Files in and out. The one way a file is read: only regular files, never more than a set
number of bytes, and (when asked) only from inside the folders it may come from. The one way a
file is written: ``write_atomic``, so a crash, a full disk or Ctrl-C never leaves a
half-written file under the real name.

A FIFO, device, socket or folder where a file is expected is an error, never a hang; a link
to ``/dev/zero`` is a special file, not an endless read; a link that leads out of its folder is
refused before anything is opened.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .errors import HandoutsError, Problem

MiB = 1024 * 1024

_KINDS = {
    stat.S_IFIFO: "a named pipe",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a folder",
}
_NOT_REGULAR_HINT = "replace it with an ordinary file"
_OUTSIDE_HINT = "copy the file into the folder instead of linking to it"
# Opening never waits for a writer (FIFO) nor makes a terminal ours.
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
_CHUNK = 64 * 1024


class FileRefused(HandoutsError):
    """A file that may not be read. ``reason`` reads after a name: "'x.svg' is too large"."""

    def __init__(self, display: str, reason: str, hint: str = "", *, outside: bool = False) -> None:
        self.display = display
        self.reason = reason
        self.hint = hint
        self.outside = outside  # refused because its real path leaves the allowed folders
        super().__init__(Problem(display, f"the file {reason}", hint=hint))


def size_text(limit: int) -> str:
    """A byte limit as people say it: 1 MB, 2 MB, 512 KB."""
    if limit >= MiB and limit % MiB == 0:
        return f"{limit // MiB} MB"
    if limit >= 1024 and limit % 1024 == 0:
        return f"{limit // 1024} KB"
    return f"{limit:,} bytes"


def _kind(mode: int) -> str:
    return _KINDS.get(stat.S_IFMT(mode), "not an ordinary file")


def inside(path: Path | str, roots: Iterable[Path | str]) -> Path | None:
    """The real path of ``path`` (symlinks followed) when it lies inside one of ``roots``."""
    try:
        real = Path(os.path.realpath(path))
    except (OSError, ValueError):  # a NUL byte, a path too long
        return None
    for root in roots:
        real_root = Path(os.path.realpath(root))
        if real == real_root or real.is_relative_to(real_root):
            return real
    return None


def confined(path: Path | str, roots: Iterable[Path | str], *, display: str | None = None) -> Path:
    """The real path of ``path``; raise FileRefused when it leads outside every root."""
    real = inside(path, roots)
    if real is None:
        raise FileRefused(
            display or str(path),
            "is a link to a place outside its folder",
            _OUTSIDE_HINT,
            outside=True,
        )
    return real


def regular_file_problem(path: Path | str) -> str | None:
    """Why ``path`` is not a readable regular file (without opening it), or None."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "does not exist"
    except (OSError, ValueError) as exc:
        return _cannot_read(exc)
    if not stat.S_ISREG(mode):
        return f"is not a regular file (it is {_kind(mode)})"
    return None


def _cannot_read(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno == errno.ELOOP:
        return "cannot be read (it is a link to itself, or a link where none is allowed)"
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a valid name"
    return f"cannot be read ({reason})"


def read_file(
    path: Path | str,
    *,
    limit: int,
    display: str | None = None,
    roots: Iterable[Path | str] | None = None,
) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    With ``roots``, the file's real path must lie inside one of them, and the real path is
    what gets opened (without following a link again), so nothing can swap in a link in
    between. Raises FileRefused with a plain reason; never blocks on a FIFO or device and
    never trusts the size the file system reports.
    """
    display = display or str(path)
    flags = _OPEN_FLAGS
    if roots is not None:
        path = confined(path, roots, display=display)
        flags |= getattr(os, "O_NOFOLLOW", 0)
    # stat before open: opening some devices has effects of its own.
    if problem := regular_file_problem(path):
        hint = _NOT_REGULAR_HINT if "regular" in problem else ""
        raise FileRefused(display, problem, hint)
    try:
        fd = os.open(path, flags)
    except (OSError, ValueError) as exc:
        raise FileRefused(display, _cannot_read(exc)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # swapped since the stat above
            raise FileRefused(
                display, f"is not a regular file (it is {_kind(info.st_mode)})", _NOT_REGULAR_HINT
            )
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            try:
                chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
            except OSError as exc:
                raise FileRefused(display, _cannot_read(exc)) from None
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(fd)
    if total > limit:
        # The size on disk is only trusted for the message, never for how much is read.
        size = f"{info.st_size:,} bytes" if info.st_size > limit else f"over {limit:,} bytes"
        raise FileRefused(display, f"is too large ({size}; the limit is {size_text(limit)})", "")
    return b"".join(chunks)


def read_limited(path: Path, limit: int) -> bytes:
    """``read_file`` for files of the output folder, whose callers treat any refusal like a
    missing file: raises OSError (with the plain reason as ``strerror``) instead. A link is
    refused too: nothing this tool writes is one."""
    if os.path.islink(path):
        raise OSError(errno.ELOOP, "is a link", str(path))
    try:
        return read_file(path, limit=limit)
    except FileRefused as exc:
        raise OSError(errno.EINVAL, exc.reason, str(path)) from None


def write_atomic(target: Path, data: bytes | str) -> None:
    """Write ``data`` so that ``target`` is always either the old file or the whole new one."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def output_path(folder: Path, relative: str) -> Path | None:
    """``folder / relative`` when ``relative`` is a plain relative path that stays inside
    ``folder``: no absolute path, no ``..``, no folder on the way that is a symlink out. (The
    last part may be a symlink: writing replaces the link itself, and reading refuses it.)"""
    if not relative or "\0" in relative or os.path.isabs(relative):
        return None
    parts = Path(relative).parts
    if ".." in parts or "." in parts:
        return None
    candidate = folder / relative
    real_folder = os.path.realpath(folder)
    real_parent = os.path.realpath(candidate.parent)
    if real_parent != real_folder and not real_parent.startswith(real_folder + os.sep):
        return None
    return candidate
