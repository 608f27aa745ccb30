"""Reading a file to import: regular files only, with a bounded read, decoded to clean text.

A FIFO, a device or a symlink to one is refused before anything blocks; a file over its
format's limit is refused from the first ``limit + 1`` bytes, never from ``st_size``.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from pathlib import Path

from ..errors import HandoutsError, Problem

MIB = 1024 * 1024

# YAML treats these as line breaks, and they have no business inside a handout's text.
_BREAKS = str.maketrans({"\u2028": "\n", "\u2029": "\n\n", "\x85": "\n", "\f": "\n\n"})
# C0/C1 controls other than tab and newline, and the non-characters YAML refuses.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x84\x86-\x9f\ufeff\ufffe\uffff]")


def read_bytes(path: Path, limit: int, display: str, what: str = "file") -> bytes:
    """The whole file, if it is a regular file of at most ``limit`` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise HandoutsError(
            Problem(display, "the file does not exist", hint="check the name and the folder")
        ) from None
    except IsADirectoryError:
        raise HandoutsError(
            Problem(display, "this is a folder, not a file", hint="name the file to import")
        ) from None
    except OSError as exc:
        raise HandoutsError(Problem(display, f"cannot read the file: {exc.strerror}")) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise HandoutsError(
                Problem(
                    display,
                    "this is not a regular file (a pipe, a device or a folder)",
                    hint=f"save the {what} as a normal file and import that",
                )
            )
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise HandoutsError(Problem(display, f"cannot read the file: {exc.strerror}")) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise HandoutsError(
            Problem(
                display,
                f"the {what} is too large (more than {limit // MIB} MB)",
                hint="save only the questions and answers in a smaller file",
            )
        )
    return data


def decode(data: bytes, display: str, warnings: list[str]) -> str:
    """Bytes → text: UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
            warnings.append(
                f"{display}: the file is not UTF-8; it was read as Windows-1252: check accented "
                "letters and quotation marks"
            )
    return clean_text(text)


def clean_text(text: str) -> str:
    """One newline convention, no control characters, composed accents (NFC)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_BREAKS)
    text = _CONTROL.sub("", text)
    return unicodedata.normalize("NFC", text)
