"""Import an existing FAQ (plain text, Markdown, an HTML page or a Word document) as a draft
handout: one reader per format, one outline they all produce, one assembler and one writer.

    result = import_file("faq.docx", references="refs.yaml")
    path = write_result(result, project_dir)

The result is plain data: the YAML text, the guesses a reviewer must check (each also a
``# CHECK:`` comment in the text) and warnings. Nothing is ever invented: an article the source
does not link stays without a link.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

from ..errors import HandoutsError, Problem
from . import citations
from .outline import Assembler
from .writer import FORMAT_NAMES, Guess, to_yaml, write_handout

__all__ = ["FORMATS", "Guess", "ImportResult", "import_file", "write_result"]

# File suffix → reader module (one per format).
FORMATS = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".docx": "docx",
}
_SOURCE_NAMES = {
    "text": "the text",
    "markdown": "the Markdown file",
    "html": "the page",
    "docx": "the document",
}
_UNSUPPORTED = {
    ".doc": "open it in Word and save it as .docx",
    ".odt": "save it as a Word document (.docx) and import that",
    ".rtf": "save it as .docx",
    ".pdf": "copy its text into a .txt file and import that",
    ".pages": "export it as Word (.docx)",
}
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_LANG = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True)
class ImportResult:
    """What an import produced; nothing is written until ``write_result``."""

    source: str  # the file, as named
    format: str  # text | markdown | html | docx
    handout_id: str
    language: str
    yaml: str  # the handout file's text
    guesses: tuple[Guess, ...]  # line numbers are in ``yaml``
    warnings: tuple[str, ...]
    data: dict[str, Any] = field(repr=False, default_factory=dict)  # what ``yaml`` loads to

    @property
    def filename(self) -> str:
        lang = "" if self.language == "en" else f".{self.language}"
        return f"{self.handout_id}{lang}.yaml"

    def summary(self) -> str:
        d = self.data
        parts = [f"{len(d['questions'])} questions"]
        for key, word in (("notices", "notice"), ("references", "reference")):
            if n := len(d.get(key, [])):
                parts.append(f"{n} {word}{'s' * (n != 1)}")
        if "closing" in d:
            parts.append("a closing call to action")
        return ", ".join(parts)


def _slug(title: str) -> str:
    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    return "-".join(re.findall(r"[a-z0-9]+", plain))[:64].strip("-")


def import_file(
    path: Path | str,
    *,
    handout_id: str | None = None,
    language: str = "en",
    references: Path | str | None = None,
) -> ImportResult:
    """Read ``path`` and make a draft handout of it; raise HandoutsError for bad input."""
    path = Path(path)
    display = str(path)
    suffix = path.suffix.lower()
    fmt = FORMATS.get(suffix)
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        hint = _UNSUPPORTED.get(suffix, f"handouts imports {known}")
        raise HandoutsError(Problem(display, f"cannot import {suffix or 'this'} files", hint=hint))
    if not _LANG.fullmatch(language):
        raise HandoutsError(
            Problem("--lang", f"'{language}' is not a language code", hint="use en, es or en-US")
        )
    if handout_id is not None and not _SLUG.fullmatch(handout_id):
        raise HandoutsError(
            Problem(
                "--id",
                f"'{handout_id}' cannot be a handout id",
                hint="use lower-case letters, digits and dashes, like exosome-therapy",
            )
        )
    try:
        reader = import_module(f".{fmt}", __name__)
    except ImportError as exc:
        raise HandoutsError(
            Problem(
                display,
                f"importing {FORMAT_NAMES[fmt]} needs the '{exc.name}' package",
                hint="install the import extra: pip install 'handouts[import]'",
            )
        ) from None
    warnings: list[str] = []
    outline = reader.read(path, display, warnings)
    try:
        draft = Assembler(display, fmt, _SOURCE_NAMES[fmt]).assemble(outline)
    except HandoutsError as exc:
        # What the reader had to drop may be why nothing was found: say it too.
        notes = [Problem(display, w.removeprefix(f"{display}: ")) for w in warnings]
        raise HandoutsError([*exc.problems, *notes]) from None
    warnings += draft.warnings
    source_name = path.name
    if references is not None:
        # Named by its file name in the handout's comments: no local paths in content.
        known, more = citations.load_references(Path(references), Path(references).name)
        warnings += more
        warnings += citations.fill_from_known(draft.references, known, source_name)
    else:
        for ref in draft.references:
            if not ref.has_link:
                ref.checks.append(citations.unlinked_check(source_name))
    if draft.language and draft.language.split("-")[0].lower() != language.split("-")[0]:
        warnings.append(
            f"{display} says its language is '{draft.language}', but the handout is marked "
            f"'{language}': pass --lang {draft.language.split('-')[0].lower()} if that is right"
        )
    handout_id = handout_id or _slug(draft.title) or _slug(path.stem) or "imported"
    text, guesses, data = to_yaml(draft, handout_id, language)
    return ImportResult(
        display, fmt, handout_id, language, text, tuple(guesses), tuple(warnings), data
    )


def write_result(result: ImportResult, project_dir: Path | str, *, force: bool = False) -> Path:
    """Write the imported handout into ``project_dir/content/handouts/`` (never replacing a
    file unless ``force``); returns the path written."""
    return write_handout(
        result.yaml, Path(project_dir), result.handout_id, result.language, force=force
    )
