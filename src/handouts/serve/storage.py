"""Saving what staff change in the web app: edits applied to the YAML text with comments,
order, quoting and blank lines kept (ruamel.yaml's round-trip mode), checked before anything
is written, then written atomically with the previous version kept beside it as ``NAME.bak``.

This is the one module that writes content files for the web app. It knows YAML, not
handouts: the caller passes ``validate``, which loads the new text with handouts' own strict
loader and returns its problems (a text that does not load is never written).
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)
from ruamel.yaml.util import load_yaml_guess_indent

from ..errors import Problem
from ..files import read_limited, write_atomic

MAX_BYTES = 1024 * 1024  # the loader's own limit (yamlio.MAX_BYTES)
BACKUP_SUFFIX = ".bak"


class Conflict(Exception):
    """The file changed on disk since the form was shown (another editor, git pull)."""


@dataclass(frozen=True)
class Snapshot:
    """A content file as read: its text and the SHA-256 of its bytes."""

    path: Path
    text: str
    sha256: str


def read(path: Path) -> Snapshot:
    """Read a regular file of at most 1 MiB (never a FIFO, device or symlink)."""
    data = read_limited(path, MAX_BYTES)
    return Snapshot(path, data.decode("utf-8-sig"), hashlib.sha256(data).hexdigest())


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + BACKUP_SUFFIX)


def replace(
    path: Path,
    text: str,
    *,
    expected_sha: str,
    validate: Callable[[str], Sequence[Problem]],
) -> list[Problem]:
    """Write ``text`` to ``path`` if it loads, keeping the previous version as ``NAME.bak``.

    Returns the problems that stopped the save (nothing was written), or [] when saved.
    Raises Conflict when the file is no longer the one the edit started from.
    """
    current = read(path)
    if current.sha256 != expected_sha:
        raise Conflict(str(path))
    problems = list(validate(text))
    if problems:
        return problems
    data = text.encode("utf-8")
    if data == current.text.encode("utf-8"):
        return []
    if read(path).sha256 != expected_sha:  # changed while we validated
        raise Conflict(str(path))
    write_atomic(backup_path(path), current.text)
    write_atomic(path, data)
    return []


def write_new(path: Path, data: bytes) -> None:
    """Write a new file (e.g. an uploaded logo), keeping any file it replaces as a backup."""
    if os.path.lexists(path) and path.is_file() and not path.is_symlink():
        write_atomic(backup_path(path), read_limited(path, 64 * 1024 * 1024))
    write_atomic(path, data)


# ---------------------------------------------------------------- round-trip editing


class EditError(Exception):
    """The text is not YAML that the form can edit (use the YAML view)."""


# Indentation styles tried in turn (mapping, sequence, offset): the first that writes the
# file back byte for byte is the file's own, so an edit changes only what was edited.
_STYLES = ((2, 4, 2), (2, 2, 0), (4, 4, 0), (4, 6, 2), (4, 4, 2), (2, 4, 0), (4, 6, 4), (3, 3, 0))


def _yaml(text: str) -> tuple[YAML, Any]:
    first: tuple[YAML, Any] | None = None
    for style in _STYLES:
        rt, data = _load(text, style)
        first = first or (rt, data)
        if _dump(rt, data) == text:
            return rt, data
    try:  # none writes it back unchanged: take ruamel's guess of its indentation
        _, indent, block_seq_indent = load_yaml_guess_indent(text)
    except YAMLError:
        assert first is not None
        return first
    mapping = indent or 2
    return _load(text, (mapping, mapping, block_seq_indent or 0))


def _load(text: str, style: tuple[int, int, int]) -> tuple[YAML, Any]:
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096  # never re-wrap a long line
    rt.indent(mapping=style[0], sequence=style[1], offset=style[2])
    try:
        data = rt.load(text)
    except YAMLError as exc:
        raise EditError(str(exc).splitlines()[0]) from None
    if not isinstance(data, CommentedMap):
        raise EditError("the file is not a list of `key: value` lines")
    return rt, data


def _dump(rt: YAML, data: Any) -> str:
    out = io.StringIO()
    rt.dump(data, out)
    return out.getvalue()


def _norm(text: str) -> str:
    """Text as a form sends it compared with text as the file holds it."""
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip()


_RESOLVER = yaml.resolver.Resolver()


def _needs_quotes(value: str) -> bool:
    """Whether handouts' YAML 1.1 loader would read ``value`` unquoted as something other than
    text (``no`` → False, ``0123`` → 83) or not at all."""
    tag = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))
    return tag != "tag:yaml.org,2002:str" or value != value.strip()


def _styled(old: Any, new: str) -> Any:
    """``new`` in the style ``old`` was written in: a `|` block stays a block, quoted stays
    quoted; text of several lines becomes a `|` block. Empty text is written as '' (a `|`
    block of nothing would read as a newline, which the loader takes for text)."""
    if not new:
        return ""
    if "\n" in new or isinstance(old, LiteralScalarString | FoldedScalarString):
        return LiteralScalarString(new.rstrip("\n") + "\n")
    if isinstance(old, SingleQuotedScalarString):
        return SingleQuotedScalarString(new)
    if isinstance(old, DoubleQuotedScalarString) or _needs_quotes(new):
        return DoubleQuotedScalarString(new)
    return new


def _set_text(mapping: CommentedMap, key: str, new: str | None, *, multiline: bool = False) -> None:
    """Set a text field, leaving it untouched (style and all) when its text did not change;
    an empty value removes an optional field."""
    new = (new or "").replace("\r\n", "\n")
    new = new.strip() if not multiline else "\n".join(x.rstrip() for x in new.split("\n")).strip()
    old = mapping.get(key)
    if isinstance(old, str) and _norm(old) == _norm(new):
        return
    if new == "" and key not in mapping:
        return
    mapping[key] = _styled(old, new)


def _set_optional(mapping: CommentedMap, key: str, new: str | None) -> None:
    if not (new or "").strip():
        if key in mapping:
            del mapping[key]
        return
    _set_text(mapping, key, new)


def _flow_list(items: Sequence[str]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


# ---------------------------------------------------------------- handouts


@dataclass
class QuestionEdit:
    question: str
    answer: str
    sources: list[str] = field(default_factory=list)
    origin: int | None = None  # its position in the file when the form was made; None: new


@dataclass
class NoticeEdit:
    origin: int
    text: str
    kind: str | None = None


@dataclass
class HandoutEdit:
    """What the handout form changes; everything else in the file is kept as it is."""

    title: str
    subtitle: str | None  # None: leave as it is; "": remove it
    questions: list[QuestionEdit]
    notices: list[NoticeEdit] = field(default_factory=list)
    closing_heading: str | None = None  # None: leave the closing block as it is
    closing_text: str | None = None


def edit_handout(text: str, edit: HandoutEdit) -> str:
    """The handout file ``text`` with the form's changes applied."""
    rt, data = _yaml(text)
    _set_text(data, "title", edit.title)
    if edit.subtitle is not None:
        _set_optional(data, "subtitle", edit.subtitle)
    notices = data.get("notices")
    for n in edit.notices:
        if isinstance(notices, list) and 0 <= n.origin < len(notices):
            item = notices[n.origin]
            if isinstance(item, CommentedMap):
                _set_text(item, "text", n.text, multiline=True)
                if n.kind and item.get("kind", "info") != n.kind:
                    item["kind"] = n.kind
    order = _edit_questions(data, edit.questions)
    if edit.closing_heading is not None:
        _edit_closing(data, edit.closing_heading.strip(), (edit.closing_text or "").strip())
    out = _dump(rt, data)
    return _rearrange(out, "questions", order, text) if order is not None else out


def _edit_closing(data: CommentedMap, heading: str, text: str) -> None:
    closing = data.get("closing")
    if isinstance(closing, CommentedMap):
        _set_text(closing, "heading", heading)
        _set_optional(closing, "text", text)
    elif heading:
        block = CommentedMap(heading=heading)
        if text:
            block["text"] = _styled(None, text)
        data["closing"] = block


def _new_item() -> CommentedMap:
    item = CommentedMap()
    item["question"] = ""
    item["answer"] = ""
    return item


def _fill(item: CommentedMap, q: QuestionEdit) -> None:
    _set_text(item, "question", q.question)
    _set_text(item, "answer", q.answer, multiline=True)
    current = item.get("sources")
    if list(current or []) != q.sources:
        if q.sources:
            item["sources"] = _flow_list(q.sources)
        elif "sources" in item:
            del item["sources"]


def _edit_questions(data: CommentedMap, wanted: list[QuestionEdit]) -> list[int] | None:
    """Change the questions' values in place and append new ones; return the order the items
    must then be put in (by position in the written list), or None when it is unchanged.

    Moving items is done on the text (``_rearrange``): in ruamel's tree the blank lines and
    comments between items hang off the neighbouring values and would not move with them.
    """
    old = data.get("questions")
    if not isinstance(old, CommentedSeq) or not old or old.fa.flow_style():
        seq = CommentedSeq()
        for q in wanted:
            item = _new_item()
            _fill(item, q)
            seq.append(item)
        data["questions"] = seq
        return None
    order: list[int] = []
    for q in wanted:
        if q.origin is not None and 0 <= q.origin < len(old) and q.origin not in order:
            item = old[q.origin]
            if not isinstance(item, CommentedMap):
                order.append(q.origin)
                continue
            _fill(item, q)
            order.append(q.origin)
        else:
            item = _new_item()
            _fill(item, q)
            old.append(item)
            order.append(len(old) - 1)
    return None if order == list(range(len(old))) else order


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _rearrange(text: str, key: str, order: list[int], original: str) -> str:
    """Put the items of the top-level block list ``key`` in ``order`` (positions in
    ``text``), each with the lines that belong to it; items not named are removed. Items are
    separated as the original file separated them, and what followed the list stays."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    node = next(v for k, v in root.value if k.value == key)
    key_col = next(k for k, v in root.value if k.value == key).start_mark.column
    lines = text.splitlines(keepends=True)
    starts = [_dash_line(lines, item.start_mark.line) for item in node.value]
    end = node.end_mark.line if node.end_mark.column == 0 else len(lines)
    end = min(end, len(lines))
    # Comment lines right above an item belong to it.
    for i in range(1, len(starts)):
        while starts[i] - 1 > starts[i - 1] and lines[starts[i] - 1].lstrip().startswith("#"):
            starts[i] -= 1
    spans = [lines[a:b] for a, b in zip(starts, [*starts[1:], end], strict=True)]
    # What follows the last item (blank lines, a comment about the next section) stays last.
    last = spans[-1]
    cut = len(last)
    while cut > 1 and (
        not last[cut - 1].strip()
        or (last[cut - 1].lstrip().startswith("#") and _indent(last[cut - 1]) <= key_col)
    ):
        cut -= 1
    tail = [line for line in last[cut:] if line.strip()]
    if tail or lines[end:]:
        tail = ["\n"] * _separator(original, key, after=True) + tail
    spans[-1] = last[:cut]
    gap = _separator(original, key)
    body: list[str] = []
    chosen = [spans[i] for i in order]
    for n, span in enumerate(chosen):
        trimmed = list(span)
        while trimmed and not trimmed[-1].strip():
            trimmed.pop()
        if trimmed and not trimmed[-1].endswith("\n"):
            trimmed[-1] += "\n"
        body += trimmed
        if n < len(chosen) - 1:
            body += ["\n"] * gap
    return "".join(lines[: starts[0]] + body + tail + lines[end:])


def _dash_line(lines: list[str], line: int) -> int:
    """The line of the `-` that starts the list item whose first value is on ``line``."""
    probe = line
    while probe > 0 and not lines[probe].lstrip().startswith("-"):
        probe -= 1
    return probe


def _separator(original: str, key: str, *, after: bool = False) -> int:
    """How many blank lines the original file puts between the items of list ``key`` (or,
    ``after``, between the list and what follows it)."""
    try:
        root = yaml.compose(original, Loader=yaml.SafeLoader)
        node = next(v for k, v in root.value if k.value == key)
    except (yaml.YAMLError, StopIteration, AttributeError):
        return 1
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        return 1
    lines = original.splitlines()
    if after:
        probe = node.end_mark.line if node.end_mark.column == 0 else len(lines)
        probe = min(probe, len(lines)) - 1
        blank = 0
        while probe >= 0 and (not lines[probe].strip() or lines[probe].startswith("#")):
            blank += not lines[probe].strip()
            probe -= 1
        return blank
    if len(node.value) < 2:
        return 1
    second = _dash_line(lines, node.value[1].start_mark.line)
    blank = 0
    while second - 1 - blank >= 0 and not lines[second - 1 - blank].strip():
        blank += 1
    return blank


# ---------------------------------------------------------------- brands

CONTACT_FIELDS = ("phone", "email", "website", "booking_url", "address")


@dataclass
class BrandEdit:
    name: str
    tagline: str | None
    primary: str
    accent: str
    contact: dict[str, str] = field(default_factory=dict)
    logo: str | None = None  # a new logo file name, when one was uploaded


def edit_brand(text: str, edit: BrandEdit) -> str:
    """The brand file ``text`` with the form's changes applied."""
    rt, data = _yaml(text)
    _set_text(data, "name", edit.name)
    _set_optional(data, "tagline", edit.tagline)
    colors = data.get("colors")
    if not isinstance(colors, CommentedMap):
        colors = CommentedMap()
        data["colors"] = colors
    for key, value in (("primary", edit.primary), ("accent", edit.accent)):
        old = colors.get(key)
        if isinstance(old, str) and old.upper() == value.strip().upper():
            continue
        colors[key] = DoubleQuotedScalarString(value.strip())  # `#` would start a comment
    contact = data.get("contact")
    wanted = {k: v.strip() for k, v in edit.contact.items() if k in CONTACT_FIELDS}
    if not isinstance(contact, CommentedMap):
        if not any(wanted.values()):
            return _finish_brand(rt, data, edit)
        contact = CommentedMap()
        data["contact"] = contact
    for key in CONTACT_FIELDS:
        if key in wanted:
            _set_optional(contact, key, wanted[key])
    return _finish_brand(rt, data, edit)


def _finish_brand(rt: YAML, data: CommentedMap, edit: BrandEdit) -> str:
    if edit.logo and data.get("logo") != edit.logo:
        data["logo"] = edit.logo
    return _dump(rt, data)
