"""Writing text in the Markdown subset handouts allow, so that it prints exactly as it read.

Only what markup.py's parser would otherwise take as markup is escaped: emphasis and code
markers, brackets, autolinks, entities, and list markers at the start of a line.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from .. import markup

_ALWAYS = re.compile(r"([\\`*\[\]])")
_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_AUTOLINK = re.compile(r"<(?=[A-Za-z/!?])")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_LINE_START = re.compile(r"^(\s*)([-+]|\d{1,9}[.)])(?=\s|$)", re.MULTILINE)
_SPACES = re.compile(r"[ \t\u00a0]+")


def escape(text: str) -> str:
    """Plain text (a paragraph, maybe of several lines) → Markdown that renders as it reads."""
    return protect_line_starts(escape_inline(text))


def escape_inline(text: str) -> str:
    """Escape what would be inline markup; list markers at line starts are left alone. Template
    spans (``{{ ... }}``) print as written already, so nothing inside them is escaped."""
    parts: list[str] = []
    plain_from = i = 0
    while (i := text.find("{", i)) >= 0:
        end = markup.template_end(text, i)
        if end is None:
            i += 1
            continue
        parts += [_escape_plain(text[plain_from:i]), text[i:end]]
        plain_from = i = end
    parts.append(_escape_plain(text[plain_from:]))
    return "".join(parts)


def _escape_plain(text: str) -> str:
    text = _ALWAYS.sub(r"\\\1", text)
    text = _UNDERSCORE.sub(r"\\_", text)
    text = _AUTOLINK.sub(r"\\<", text)
    return _ENTITY.sub(r"\\&", text)


def protect_line_starts(markdown: str) -> str:
    """Escape ``- ``, ``+ `` and ``1. `` at the start of a line, which would start a list."""
    return _LINE_START.sub(_escape_marker, markdown)


def _escape_marker(match: re.Match[str]) -> str:
    indent, marker = match.groups()
    if marker in "-+":
        return f"{indent}\\{marker}"
    return f"{indent}{marker[:-1]}\\{marker[-1]}"


def link(text: str, href: str) -> str:
    """``[text](href)`` with the target made safe for Markdown (no spaces, no parentheses)."""
    target = quote(href.strip(), safe=":/?#@!$&'*+,;=%~-._")
    return f"[{text}]({target})"


def allowed_link(href: str) -> bool:
    """Whether ``href`` may be a link in handout text (the same policy the loader applies)."""
    return markup.url_problem(href.strip(), contact=True) is None


def squash(text: str) -> str:
    """Runs of spaces, tabs and no-break spaces → one space (line breaks are kept)."""
    return _SPACES.sub(" ", text)


def words(text: str) -> list[str]:
    """The words of ``text``, to compare texts whatever their spacing."""
    return text.split()
