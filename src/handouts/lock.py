"""One writer per output folder, and the reclaiming of temporary folders of dead builds.

The CLI, the web app and any script share the lock: a second build into the same folder waits
(saying which process holds it) or, asked not to wait, fails at once.
"""

from __future__ import annotations

import atexit
import datetime as dt
import fcntl
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import HandoutsError, Problem

LOCK_NAME = ".handouts.lock"
TEMP_PREFIX = "handouts-build-"
_TEMP_LOCK = ".owner.lock"
_ORPHAN_AGE_S = 3600  # a temp folder with no owner lock, older than this, is a dead build's


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return "another process"
    return text.splitlines()[0][:200] if text else "another process"


@contextmanager
def output_lock(
    out_dir: Path, *, wait: bool = True, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the exclusive lock on ``out_dir`` for the block."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(out_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        raise HandoutsError(
            Problem(
                str(out_dir),
                f"cannot write here ({exc.strerror or exc})",
                hint="check the folder's permissions and free space, or choose another with --out",
            )
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = _holder(out_dir / LOCK_NAME)
            if not wait:
                raise HandoutsError(
                    Problem(
                        str(out_dir),
                        f"another build is writing to this folder ({who})",
                        hint="wait for it to finish, or build into another folder with --out",
                    )
                ) from None
            if on_wait:
                on_wait(f"waiting for another build to finish writing to {out_dir} ({who})")
            fcntl.flock(fd, fcntl.LOCK_EX)
        started = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        command = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))
        note = f"pid {os.getpid()} on {socket.gethostname()}, since {started}: {command[:120]}\n"
        os.ftruncate(fd, 0)
        os.pwrite(fd, note.encode("utf-8", "replace"), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing releases the lock


_session: dict[str, object] = {}


def session_tempdir() -> str:
    """This process's temporary folder, made on first use and removed at exit. Everything
    temporary of a build goes in it (workers' files, WeasyPrint's font folders, the worker
    server's socket), so nothing is left behind; an owner lock inside it lets a later build
    recognise, and remove, the folder of a process that was killed."""
    folder = _session.get("folder")
    if isinstance(folder, str) and os.path.isdir(folder):
        return folder
    reclaim_dead_tempdirs()
    folder = tempfile.mkdtemp(prefix=TEMP_PREFIX)
    fd = os.open(os.path.join(folder, _TEMP_LOCK), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    _session.update(folder=folder, fd=fd, previous=tempfile.tempdir)
    tempfile.tempdir = folder
    atexit.register(_end_session)
    return folder


def _end_session() -> None:
    mp_util = sys.modules.get("multiprocessing.util")
    if mp_util is not None and not getattr(mp_util, "_exiting", True):
        # multiprocessing's own exit handler has yet to run, and it removes its temporary
        # folder (the worker server's socket, inside ours) as it ends: remove ours after it.
        mp_util.Finalize(None, _remove_session, exitpriority=-101)
        return
    _remove_session()


def _remove_session() -> None:
    folder = _session.pop("folder", None)
    if isinstance(folder, str):
        tempfile.tempdir = _session.get("previous")  # type: ignore[assignment]
        shutil.rmtree(folder, ignore_errors=True)
    fd = _session.pop("fd", None)
    if isinstance(fd, int):
        os.close(fd)


@contextmanager
def build_tempdir() -> Iterator[str]:
    """A temporary folder for one build, inside the process's, removed at the end (also
    after a failure or Ctrl-C)."""
    folder = tempfile.mkdtemp(prefix="build-", dir=session_tempdir())
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def reclaim_dead_tempdirs(parent: str | None = None) -> list[str]:
    """Remove the temporary folders of builds that died (their owner lock is free)."""
    parent = parent or tempfile.gettempdir()
    removed = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(TEMP_PREFIX) or not entry.is_dir(follow_symlinks=False):
            continue
        if _is_dead(entry.path):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.path)
    return removed


def _is_dead(folder: str) -> bool:
    lock = os.path.join(folder, _TEMP_LOCK)
    try:
        fd = os.open(lock, os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:
        try:  # made by an older version, or just being created: only reclaim old ones
            return time.time() - os.stat(folder).st_mtime > _ORPHAN_AGE_S
        except OSError:
            return False
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # its build is alive
    finally:
        os.close(fd)
    return True
