"""``output/sent.jsonl``: one line per message sent, written as it is sent, without addresses.

Each line holds the time, the Message-ID, the document and its SHA-256, and an HMAC-SHA256 of
the recipient's address. The key lives in ``.handouts-secret`` at the project's root (created
owner-only, git-ignored), so "did we send this leaflet to this address?" can be answered with
the key, while the file alone reveals no address.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import HandoutsError, Problem

SECRET = ".handouts-secret"
LOG = "sent.jsonl"
WINDOW = dt.timedelta(hours=24)  # the same document to the same address is not sent twice
MAX_LINE = 64 * 1024


def _utc(moment: dt.datetime | None = None) -> dt.datetime:
    return (moment or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)


def timestamp(moment: dt.datetime | None = None) -> str:
    return _utc(moment).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)
    except (ValueError, AttributeError):
        return None


# ---------------------------------------------------------------- the key


def _secret_problem(path: Path, message: str, hint: str) -> HandoutsError:
    return HandoutsError(Problem(SECRET, message, hint=hint))


def secret_key(root: Path, *, create: bool = True) -> bytes | None:
    """The project's HMAC key, made on first use (32 random bytes, mode 0600). None when it
    does not exist and ``create`` is false."""
    path = root / SECRET
    if not os.path.lexists(path):
        if not create:
            return None
        key = secrets.token_bytes(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # made by a run beside this one: use theirs
            return secret_key(root, create=False)
        except OSError as exc:
            raise _secret_problem(
                path, f"cannot create the key file ({exc.strerror})", "check the folder"
            ) from None
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key.hex() + "\n")
        return key
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode):
        raise _secret_problem(
            path, "is not a regular file", "remove it; a new key is made on the next send"
        )
    if info.st_mode & 0o077:
        raise _secret_problem(
            path,
            f"can be read by other users (mode {stat.S_IMODE(info.st_mode):04o})",
            f"run: chmod 600 {SECRET}",
        )
    with open(path, "rb") as handle:
        text = handle.read(200).strip()
    try:
        key = bytes.fromhex(text.decode("ascii"))
    except ValueError:
        key = b""
    if len(key) < 16:
        raise _secret_problem(
            path,
            "does not hold a valid key",
            "restore it from your backup; without it old audit lines cannot be matched",
        )
    return key


def address_hmac(key: bytes, address: str) -> str:
    """The address as the audit file stores it: an HMAC of its normalised form."""
    digest = hmac.new(key, address.strip().lower().encode("utf-8"), hashlib.sha256)
    return "hmac-sha256:" + digest.hexdigest()


# ---------------------------------------------------------------- the log


class AuditLog:
    """Reads and appends ``sent.jsonl`` in an output folder."""

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / LOG
        self.damaged = 0  # lines that could not be read, counted, never fatal

    def records(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        found: list[dict[str, Any]] = []
        self.damaged = 0
        with open(self.path, "rb") as handle:
            for line in handle:
                if len(line) > MAX_LINE:
                    self.damaged += 1
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    self.damaged += bool(line.strip())
                    continue
                if isinstance(record, dict):
                    found.append(record)
                else:
                    self.damaged += 1
        return found

    def last_sent(
        self, document: str, recipient: str, now: dt.datetime | None = None
    ) -> dict[str, Any] | None:
        """The latest record of ``document`` sent to ``recipient`` (an HMAC) within WINDOW."""
        since = _utc(now) - WINDOW
        latest = None
        for record in self.records():
            if (
                record.get("event") == "sent"
                and record.get("document") == document
                and record.get("recipient") == recipient
            ):
                when = parse_time(str(record.get("time", "")))
                if when and when >= since:
                    latest = record
        return latest

    def find(self, recipient: str) -> list[dict[str, Any]]:
        return [r for r in self.records() if r.get("recipient") == recipient]

    def append(self, record: dict[str, Any]) -> None:
        """Add one line and make sure it is on disk before the next message goes."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, ensure_ascii=False, sort_keys=False) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """One sender per project at a time, so two runs cannot both send the same letter."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(".sent.lock"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise HandoutsError(
                    Problem(
                        str(self.path.parent),
                        "another `handouts send` is running for this project",
                        hint="wait for it to finish, then run again",
                    )
                ) from None
            yield
        finally:
            os.close(fd)
