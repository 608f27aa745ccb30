"""Plain text in the shape of the seed FAQ: a title line, paragraphs separated by blank lines,
lines of their own ending in "?" as questions, and "•", "-", "*" or "1." lines as lists.

Text is taken as plain: characters Markdown would read as markup are escaped, so the handout
prints exactly the words of the source.
"""

from __future__ import annotations

import re
from pathlib import Path

from . import mdtext
from .outline import MAX_QUESTION_CHARS, Block, Item, Link, Outline, ends_with_question_mark
from .source import MIB, decode, read_bytes

MAX_BYTES = 1 * MIB  # the handout it becomes may be at most 1 MB too

_BULLET = re.compile(
    r"^(?P<indent>\s*)(?P<marker>[•◦▪▫‣\u2043∙·●○■□*+\-\u2013]|\d{1,3}[.)])\s+(?P<text>\S.*)$"
)
_SUB_BULLETS = "◦▫○□"
_URL = re.compile(r"https?://[^\s<>\"]+")


def read(path: Path, display: str, warnings: list[str]) -> Outline:
    text = decode(read_bytes(path, MAX_BYTES, display, "text"), display, warnings)
    return Outline(outline(text))


def outline(text: str) -> list[Block]:
    """Plain text → blocks: a level-1 heading for the first line, then paragraphs and lists."""
    blocks: list[Block] = []
    paragraph: list[str] = []
    items: list[Item] = []
    ordered = False
    indents: list[int] = []

    def end_paragraph() -> None:
        if paragraph:
            blocks.extend(_paragraph(paragraph, first=not blocks))
            paragraph.clear()

    def end_list() -> None:
        nonlocal ordered
        if items:
            blocks.append(Block("list", items=list(items), ordered=ordered))
            items.clear()
            indents.clear()

    for raw in text.split("\n"):
        line = raw.rstrip()
        if not line.strip():
            end_paragraph()
            continue  # a list goes on across blank lines, as in the seed
        bullet = _BULLET.match(line) if blocks or paragraph else None
        if bullet:
            end_paragraph()
            if not items:
                ordered = bullet["marker"][0].isdigit()
            indent = len(bullet["indent"].expandtabs(4))
            depth = _depth(indents, indent) + (bullet["marker"] in _SUB_BULLETS)
            items.append(_item(bullet["text"], depth))
            continue
        if items and raw[:1].isspace() and not paragraph:
            last = items[-1]  # an indented line continues the item above
            items[-1] = _item(f"{last.plain} {line.strip()}", last.depth)
            continue
        end_list()
        paragraph.append(mdtext.squash(line.strip()))
    end_paragraph()
    end_list()
    return blocks


def _depth(indents: list[int], indent: int) -> int:
    """The nesting depth of a bullet indented by ``indent`` spaces, given the levels seen."""
    while indents and indent < indents[-1]:
        indents.pop()
    if not indents or indent > indents[-1]:
        indents.append(indent)
    return len(indents) - 1


def _item(text: str, depth: int) -> Item:
    text = mdtext.squash(text.strip())
    links = [Link(m.group(0).rstrip(".,;:)]"), m.group(0)) for m in _URL.finditer(text)]
    return Item(mdtext.escape(text), text, links, depth)


def _paragraph(lines: list[str], first: bool) -> list[Block]:
    if first:
        # The first line is the title; a short second line under it is a subtitle.
        blocks = [Block("heading", plain=lines[0], level=1)]
        rest = lines[1:]
        if rest and len(rest) == 1 and len(rest[0]) <= 80 and not rest[0].endswith("."):
            return [*blocks, Block("subtitle", plain=rest[0])]
        return blocks + (_paragraph(rest, first=False) if rest else [])
    if (
        len(lines) > 1
        and ends_with_question_mark(lines[0])
        and len(lines[0]) <= MAX_QUESTION_CHARS
        and not _BULLET.match(lines[0])
    ):
        # A question with its answer straight under it, without a blank line between.
        return [_para(lines[:1]), _para(lines[1:])]
    return [_para(lines)]


def _para(lines: list[str]) -> Block:
    text = "\n".join(lines)
    links = [Link(m.group(0).rstrip(".,;:)]"), m.group(0)) for m in _URL.finditer(text)]
    return Block(
        "para",
        markdown=mdtext.escape(text),
        plain=" ".join(lines),
        links=links,
        single_line=len(lines) == 1,
    )
