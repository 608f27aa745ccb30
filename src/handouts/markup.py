"""Content Markdown → safe HTML, and the policy for every link and QR target.

Only paragraphs, emphasis, lists, line breaks and links are allowed. Raw HTML is never
parsed (it prints as text), images are refused, and link targets must be http(s), mailto: or
tel:. The renderer never sees content as template code, and template syntax in content
(`{{ 7*7 }}`) prints exactly as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

WEB_SCHEMES = ("https", "http")
CONTACT_SCHEMES = ("mailto", "tel")

# Block rules that would turn plain text into structure we do not style (and that editors
# hit by accident: "# 1 tip", four-space indents, "---" lines). They print as text instead.
_DISABLED_RULES = [
    "heading",
    "lheading",
    "code",
    "fence",
    "blockquote",
    "hr",
    "table",
    "html_block",
    "html_inline",
    "reference",
]


@dataclass(frozen=True, slots=True)
class LinkIssue:
    """A problem with a link inside Markdown; ``line`` counts from 0 within the text."""

    line: int
    message: str
    hint: str = ""


def url_problem(url: str, *, contact: bool = False) -> str | None:
    """Why ``url`` may not be a link or QR target, or None when it may."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "is not a valid web address"
    scheme = parts.scheme.lower()
    if scheme not in WEB_SCHEMES + (CONTACT_SCHEMES if contact else ()):
        others = " (or mailto:, tel:)" if contact else ""
        return f"is not allowed: use an https:// address{others}"
    if any(ch.isspace() for ch in url.strip()):
        return "contains spaces"
    if scheme in WEB_SCHEMES:
        if not parts.hostname:
            return "has no host name"
        if parts.username or parts.password or "@" in parts.netloc:
            return "must not contain a user name or password"
    elif not parts.path:
        return f"has nothing after '{scheme}:'"
    return None


# Template syntax in content prints exactly as written: `{{ 7*7 }}` stays `{{ 7*7 }}`, though
# Markdown would read the `*` between two such spans as emphasis. A span ends on its line,
# within a bounded distance (so a line of unclosed `{{` costs linear time).
_TEMPLATE_CLOSE = {"{{": "}}", "{%": "%}", "{#": "#}"}
_TEMPLATE_MAX = 200


def template_end(text: str, start: int, stop: int | None = None) -> int | None:
    """Where the template span opening at ``start`` ends (after its closing mark), or None
    when no span opens there."""
    close = _TEMPLATE_CLOSE.get(text[start : start + 2])
    if close is None:
        return None
    limit = min(len(text) if stop is None else stop, start + _TEMPLATE_MAX)
    end = text.find(close, start + 2, limit)
    if end < 0 or "\n" in text[start:end]:
        return None
    return end + len(close)


def _template_text(state: StateInline, silent: bool) -> bool:
    """Inline rule: ``{{ ... }}``, ``{% ... %}`` and ``{# ... #}`` are plain text."""
    start = state.pos
    end = template_end(state.src, start, state.posMax)
    if end is None:
        return False
    if not silent:
        state.push("text", "", 0).content = state.src[start:end]
    state.pos = end
    return True


@cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable(_DISABLED_RULES, ignoreInvalid=True)
    md.inline.ruler.before("escape", "template_text", _template_text)  # `{` ends a text run
    # Keep every target as written: our own policy below decides, with a clear error, rather
    # than markdown-it silently dropping links it dislikes.
    md.validateLink = lambda url: True
    return md


def parse(text: str) -> list[Token]:
    """Markdown tokens under the content policy (for checks that read the text)."""
    return _parser().parse(text)


def _walk(tokens: list[Token]):
    for token in tokens:
        yield token
        if token.children:
            yield from _walk(token.children)


def check(text: str) -> list[LinkIssue]:
    """Every link or image problem in ``text``."""
    issues: list[LinkIssue] = []
    line = 0
    for token in _walk(_parser().parse(text)):
        if token.map:
            line = token.map[0]
        if token.type in ("softbreak", "hardbreak"):
            line += 1  # inline tokens carry no line of their own: count the breaks
        if token.type == "image":
            issues.append(
                LinkIssue(
                    line,
                    "images are not allowed in handout text",
                    "remove the ![...](...) part; the brand logo is set in brand.yaml",
                )
            )
        elif token.type == "link_open":
            href = str(token.attrGet("href") or "")
            problem = url_problem(href, contact=True)
            if problem:
                issues.append(LinkIssue(line, f"the link '{href}' {problem}"))
    return issues


def to_html(text: str) -> str:
    """Render checked Markdown to HTML. Call ``check`` first: this does not re-validate."""
    return _parser().render(text)


def blocks(text: str) -> list[str]:
    """The paragraphs and list items of ``text`` as plain text (line breaks as spaces)."""
    found: list[str] = []
    for token in parse(text):
        if token.type != "inline":
            continue
        parts: list[str] = []
        for child in token.children or ():
            if child.type in ("text", "code_inline"):
                parts.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                parts.append(" ")
        joined = " ".join("".join(parts).split())
        if joined:
            found.append(joined)
    return found


def plain(text: str) -> str:
    """``text`` as the characters that get printed (blocks separated by blank lines)."""
    return "\n\n".join(blocks(text))
