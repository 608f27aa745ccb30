"""Strict YAML loading: plain data plus the line and column of every key and value.

Refuses what makes YAML dangerous or surprising for hand-written content: anchors and aliases
(alias bombs), duplicate keys (silent overwrites), python tags, several documents in one file,
and files over 1 MiB.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import HandoutsError, Problem

MAX_BYTES = 1024 * 1024

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Mark:
    """Where a node starts (1-based), and how its scalar was written."""

    line: int
    col: int
    text: str | None = None  # the scalar as written, for hints
    plain: bool = False  # an unquoted scalar (subject to YAML 1.1 type guessing)
    block: bool = False  # a `|` or `>` block: its text starts on the next line


@dataclass
class Document:
    """A loaded YAML file: its data and where each piece came from."""

    path: Path
    display: str  # the path as shown to users
    data: Any
    values: dict[KeyPath, Mark] = field(default_factory=dict)
    keys: dict[KeyPath, Mark] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list, repr=False)

    def line_text(self, line: int) -> str:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""

    def mark(self, path: KeyPath, *, key: bool = False) -> Mark:
        """The mark of ``path``, or of its nearest ancestor that has one."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), Mark(1, 1))

    def problem(self, path: KeyPath, message: str, hint: str = "", *, key: bool = False) -> Problem:
        mark = self.mark(path, key=key)
        return Problem(self.display, message, mark.line, mark.col, format_key(path), hint)


def format_key(path: KeyPath) -> str:
    """``("questions", 1, "answer")`` → ``questions[2].answer`` (list positions count from 1)."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part + 1}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _mark(node: yaml.Node) -> Mark:
    m = node.start_mark
    if isinstance(node, yaml.ScalarNode):
        return Mark(m.line + 1, m.column + 1, node.value, not node.style, node.style in ("|", ">"))
    return Mark(m.line + 1, m.column + 1)


class _Builder:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.problems: list[Problem] = []
        self.constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        self.doc.values[path] = _mark(node)
        if node.tag not in _STANDARD_TAGS:
            m = _mark(node)
            if node.tag.startswith("!") and not node.tag.startswith("!!"):
                message, hint = "text that starts with `!` must be in quotes", 'write "!..."'
            else:
                message = f"YAML tags such as `{_short_tag(node.tag)}` are not allowed"
                hint = "remove the `!!...` part"
            self.problems.append(
                Problem(self.doc.display, message, m.line, m.col, format_key(path), hint)
            )
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        try:
            return self.constructor.construct_object(node)
        except yaml.YAMLError as exc:
            m = _mark(node)
            self.problems.append(
                Problem(
                    self.doc.display,
                    f"cannot read this value ({_first_line(exc)})",
                    m.line,
                    m.col,
                    format_key(path),
                    "put the value in quotes",
                )
            )
            return None

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            km = _mark(key_node)
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                self.problems.append(
                    Problem(
                        self.doc.display,
                        "keys must be plain words",
                        km.line,
                        km.col,
                        format_key(path),
                        "write the key as a name followed by a colon, like `title:`",
                    )
                )
                continue
            key = key_node.value
            child = (*path, key)
            if key in result:
                first = self.doc.keys[child]
                self.problems.append(
                    Problem(
                        self.doc.display,
                        f"duplicate key '{key}' (first given on line {first.line})",
                        km.line,
                        km.col,
                        format_key(child),
                        "keep only one of them",
                    )
                )
                continue
            self.doc.keys[child] = km
            result[key] = self.build(value_node, child)
        return result


_STANDARD_TAGS = {
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")
}


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml") else tag


def _first_line(exc: BaseException) -> str:
    problem = getattr(exc, "problem", None) or str(exc)
    return str(problem).strip().splitlines()[0]


def _syntax_problem(display: str, exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
    message = f"this is not valid YAML: {_first_line(exc)}"
    if "'\\t'" in message:
        return Problem(
            display,
            "a tab is used for indentation",
            line,
            col,
            "",
            "indent with spaces, not tabs; most editors can convert them",
        )
    hint = (
        "check the indentation, and put text that contains ': ' or starts with a symbol in quotes"
    )
    return Problem(display, message, line, col, "", hint)


# libyaml's parser, when PyYAML was built with it, is about twenty times faster than the pure
# Python one; its error messages differ, so a file it refuses is parsed again by the pure
# Python parser for the message users see (and tests pin).
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _reject_anchors(display: str, text: str, loader: type = yaml.SafeLoader) -> list[Problem]:
    """Scan parse events (nothing is expanded) for anchors, aliases and extra documents."""
    problems: list[Problem] = []
    documents = anchors = 0
    first = (1, 1)
    for event in yaml.parse(text, Loader=loader):
        m = event.start_mark
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents == 2:
                problems.append(
                    Problem(
                        display,
                        "the file holds more than one YAML document",
                        m.line + 1,
                        m.column + 1,
                        "",
                        "remove the `---` line",
                    )
                )
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            anchors += 1
            if anchors == 1:
                first = (m.line + 1, m.column + 1)
    if anchors:
        more = f" ({anchors} found in this file)" if anchors > 1 else ""
        message = f"anchors and aliases (`&name`, `*name`) are not allowed{more}"
        problems.append(Problem(display, message, *first, "", "write each value out in full"))
    return problems


def load_yaml(path: Path, display: str | None = None) -> Document:
    """Load one YAML file strictly; raise HandoutsError listing every problem found."""
    display = display or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise HandoutsError(
                Problem(
                    display,
                    f"the file is too large ({size:,} bytes; the limit is 1 MB)",
                    hint="split it into several handouts",
                )
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise HandoutsError(Problem(display, f"cannot read the file: {exc.strerror}")) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise HandoutsError(
            Problem(
                display,
                "the file is not UTF-8 text",
                line,
                None,
                "",
                "save it as UTF-8 in your editor",
            )
        ) from None
    doc = Document(path, display, None, lines=text.splitlines())
    try:
        try:
            problems = _reject_anchors(display, text, _FAST_LOADER)
            node = None if problems else yaml.compose(text, Loader=_FAST_LOADER)
        except yaml.YAMLError:
            problems = _reject_anchors(display, text)
            node = None if problems else yaml.compose(text, Loader=yaml.SafeLoader)
        if problems:
            raise HandoutsError(problems)
    except yaml.YAMLError as exc:
        raise HandoutsError(_syntax_problem(display, exc)) from None
    if node is None:
        raise HandoutsError(
            Problem(
                display,
                "the file is empty",
                1,
                1,
                "",
                "fill it in, or delete it; `handouts new handout ID` writes a starter file",
            )
        )
    if not isinstance(node, yaml.MappingNode):
        m = _mark(node)
        raise HandoutsError(
            Problem(
                display,
                "the file must be a list of `key: value` lines",
                m.line,
                m.col,
                "",
                "start with a line such as `title: ...`",
            )
        )
    builder = _Builder(doc)
    doc.data = builder.build(node, ())
    if builder.problems:
        raise HandoutsError(builder.problems)
    return doc


def locate(marks: dict[KeyPath, Mark], key: KeyPath) -> Mark | None:
    """The mark of ``key``, or of its nearest ancestor that has one (None: not in the file)."""
    probe = tuple(key)
    while probe and probe not in marks:
        probe = probe[:-1]
    return marks.get(probe)


def located_problem(
    display: str, marks: dict[KeyPath, Mark], key: KeyPath, message: str, hint: str = ""
) -> Problem:
    """A Problem at ``key`` of a loaded file (or its nearest located ancestor)."""
    mark = locate(marks, key)
    return Problem(
        display,
        message,
        mark.line if mark else None,
        mark.col if mark else None,
        format_key(key),
        hint,
    )
