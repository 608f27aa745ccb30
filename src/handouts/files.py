"""Writing files safely: every file handouts writes goes through ``write_atomic`` (a temporary
file in the same folder, flushed to disk, then renamed over the target), so a crash, a full
disk or Ctrl-C never leaves a half-written file under the real name."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


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


def inside(folder: Path, relative: str) -> Path | None:
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


def read_limited(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes. Raises OSError (with a plain
    ``strerror``) for anything else: a FIFO or device (never waits on one), a symlink, a
    folder, or a file over the limit (never trusts the size the file system reports)."""
    import errno
    import stat

    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        chunks, size = [], 0
        while chunk := os.read(fd, min(1 << 20, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise OSError(errno.EFBIG, f"larger than {limit:,} bytes", str(path))
        return b"".join(chunks)
    finally:
        os.close(fd)
