"""Word documents (.docx) through mammoth: headings, or bold paragraphs, ending in "?" are
questions; the Title style (or the first Heading 1) is the title. mammoth's HTML is read by
the HTML reader, so the same rules and limits apply.

A .docx is a zip archive: its size, its number of parts and each part's unpacked size are
checked before mammoth opens it (zip bombs), and XML with a DOCTYPE is refused (entity
expansion). Images are never read.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from ..errors import HandoutsError, Problem
from . import html
from .outline import Outline
from .source import MIB, read_bytes

MAX_BYTES = 20 * MIB  # the file, images included
MAX_PARTS = 2000
MAX_XML_BYTES = 5 * MIB  # one unpacked XML part (mammoth builds a DOM of each)
MAX_TOTAL_XML = 20 * MIB
# Word's own styles for a title and a subtitle, which mammoth does not map by default.
STYLE_MAP = """
p[style-name='Title'] => h1:fresh
p[style-name='Subtitle'] => p.subtitle:fresh
"""


def read(path: Path, display: str, warnings: list[str]) -> Outline:
    import mammoth

    data = read_bytes(path, MAX_BYTES, display, "document")
    _check_archive(data, display)

    def no_image(image: Any) -> dict[str, str]:
        return {}  # images are dropped by the HTML reader; never read their bytes

    try:
        result = mammoth.convert_to_html(
            io.BytesIO(data),
            style_map=STYLE_MAP,
            convert_image=mammoth.images.img_element(no_image),
        )
    except RecursionError:
        raise HandoutsError(
            Problem(display, "the document is nested too deeply to read", hint=_RESAVE)
        ) from None
    except Exception as exc:  # a malformed part: mammoth's errors are many and untyped
        raise HandoutsError(
            Problem(display, f"cannot read this Word document ({type(exc).__name__})", hint=_RESAVE)
        ) from None
    notes = [m.message for m in result.messages if m.type == "warning"]
    if notes:
        more = f" (and {len(notes) - 3} more)" if len(notes) > 3 else ""
        warnings.append(f"{display}: Word styles not understood: {'; '.join(notes[:3])}{more}")
    page = f"<html><body><main>{result.value}</main></body></html>"
    return html.outline_of(page, display, warnings)


_RESAVE = "open it in Word and save it again as .docx"


def _check_archive(data: bytes, display: str) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise HandoutsError(
            Problem(
                display, "this is not a Word .docx file (it is not a zip archive)", hint=_RESAVE
            )
        ) from None
    with archive:
        parts = archive.infolist()
        if len(parts) > MAX_PARTS:
            raise HandoutsError(Problem(display, "the document has too many parts", hint=_RESAVE))
        if "word/document.xml" not in archive.namelist():
            raise HandoutsError(
                Problem(display, "this zip file is not a Word document", hint=_RESAVE)
            )
        total = 0
        for part in parts:
            if not part.filename.endswith((".xml", ".rels")):
                continue
            if part.file_size > MAX_XML_BYTES:
                raise HandoutsError(
                    Problem(
                        display,
                        f"the document's part {part.filename} is too large "
                        f"({part.file_size // MIB} MB unpacked)",
                        hint="split the document into smaller ones",
                    )
                )
            total += part.file_size
            if total > MAX_TOTAL_XML:
                raise HandoutsError(
                    Problem(display, "the document is too large unpacked", hint=_RESAVE)
                )
            with archive.open(part) as handle:
                head = handle.read(MAX_XML_BYTES + 1)
            if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                raise HandoutsError(
                    Problem(
                        display,
                        f"the document's part {part.filename} declares a DOCTYPE, which Word "
                        "never writes",
                        hint=_RESAVE,
                    )
                )
