"""Markdown files: headings or bold lines ending in "?" are questions, the first ``#`` heading
is the title. The Markdown is rendered by markdown-it and read back through the HTML reader,
so the same rules (and the same limits on links and raw HTML) apply."""

from __future__ import annotations

from pathlib import Path

from markdown_it import MarkdownIt

from . import html
from .outline import Outline
from .source import MIB, decode, read_bytes

MAX_BYTES = 1 * MIB  # the handout it becomes may be at most 1 MB too


def read(path: Path, display: str, warnings: list[str]) -> Outline:
    text = decode(read_bytes(path, MAX_BYTES, display, "Markdown file"), display, warnings)
    # Raw HTML in the Markdown is passed on to the HTML reader, which keeps only what a
    # handout allows (and drops scripts, images and unsafe links).
    rendered = MarkdownIt("commonmark", {"html": True}).render(text)
    return html.outline_of(f"<html><body><main>{rendered}</main></body></html>", display, warnings)
