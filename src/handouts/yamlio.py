"""Strict YAML loading: plain data plus the line and column of every key and value.

Refuses what makes YAML dangerous or surprising for hand-written content: anchors and aliases
(alias bombs), duplicate keys (silent overwrites), python tags, several documents in one file,
files over 1 MiB, nesting deeper than 32 levels, impossible dates, and text with control
characters, hidden direction overrides or stacks of combining marks.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import HandoutsError, Problem
from .files import FileRefused, read_file

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32  # nested lists and groups; a handout needs 4
MAX_NUMBER_CHARS = 64  # longer "numbers" are typos (and slow to convert)
MAX_COMBINING = 4  # marks stacked on one letter; Vietnamese needs 2

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


# ---------------------------------------------------------------- text that may not be printed

_BIDI = {0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069}
_CONTROL_NAMES = {
    0x00: "NUL",
    0x07: "BEL",
    0x08: "backspace",
    0x0B: "vertical tab",
    0x0C: "form feed",
    0x0D: "carriage return",
    0x1B: "ESC",
    0x7F: "DEL",
}
# Tab and line feed are the only control characters allowed in text.
_SUSPECT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_LONG_NON_ASCII = re.compile("[^\\x00-\\x7f]{" + str(MAX_COMBINING + 1) + ",}")


@dataclass(frozen=True, slots=True)
class TextIssue:
    """Why a text may not be printed; ``index`` is where in the text (from 0)."""

    index: int
    message: str
    hint: str
    found: str  # the characters at fault, to find them in the file


def _code(ch: str) -> str:
    name = _CONTROL_NAMES.get(ord(ch)) or unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


def text_issue(value: str) -> TextIssue | None:
    """The first thing in ``value`` that must not reach a printed handout, or None.

    Refused: control characters other than tab and line feed (NUL, BEL, ESC, form feed, C1),
    the bidirectional embeddings, overrides and isolates that make text display in another
    order than it is stored (U+202A-202E, U+2066-2069), lone surrogates, and more than
    ``MAX_COMBINING`` combining marks on one letter ("Zalgo" text).
    """
    if m := _SUSPECT.search(value):
        ch = m.group()
        if 0xD800 <= ord(ch) <= 0xDFFF:
            return TextIssue(
                m.start(), f"contains an invalid character (U+{ord(ch):04X})", "delete it", ch
            )
        if ord(ch) in _BIDI:
            return TextIssue(
                m.start(),
                f"contains a hidden text-direction control ({_code(ch)}), which makes text "
                "print in a different order than it is written",
                "delete it; right-to-left languages need no such character",
                ch,
            )
        return TextIssue(
            m.start(),
            f"contains an invisible control character ({_code(ch)})",
            "delete it; such characters come with text pasted from other programs, or from "
            'escapes such as "\\e" inside double quotes',
            ch,
        )
    marks = ("Mn", "Me")
    for m in _LONG_NON_ASCII.finditer(value):
        run = 0
        for i in range(m.start(), m.end()):
            if unicodedata.category(value[i]) not in marks:
                run = 0
                continue
            run += 1
            if run > MAX_COMBINING:
                first, end = i - run + 1, i + 1
                while end < len(value) and unicodedata.category(value[end]) in marks:
                    end += 1
                base = max(first - 1, 0)
                return TextIssue(
                    base,
                    f"has {end - first} marks stacked on one letter (at most {MAX_COMBINING} "
                    "are allowed)",
                    "remove the extra marks; ordinary accents need one or two",
                    value[base:end],
                )
    return None


# English month names, whatever the process locale (calendar.month_name follows LC_TIME).
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def impossible_date(text: str) -> str | None:
    """A plain-language reason why a YAML timestamp cannot be a real date, or None."""
    m = re.match(r"(\d{4})-(\d\d?)-(\d\d?)", text)
    if not m:
        return None
    year, month, day = (int(g) for g in m.groups())
    if year < 1:
        return "there is no year 0"
    if not 1 <= month <= 12:
        return f"there is no month {month}"
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        return f"{_MONTHS[month - 1]} {year} has no day {day}"
    return None


class _Builder:
    def __init__(self, doc: Document, text: str) -> None:
        self.doc = doc
        self.text = text
        self.problems: list[Problem] = []
        self.constructor = yaml.constructor.SafeConstructor()

    def _add(self, mark: Mark, path: KeyPath, message: str, hint: str) -> None:
        self.problems.append(
            Problem(self.doc.display, message, mark.line, mark.col, format_key(path), hint)
        )

    def _check_text(self, node: yaml.ScalarNode, path: KeyPath) -> bool:
        """Report text that may not be printed, at the line and column of the culprit."""
        issue = text_issue(node.value)
        if issue is None:
            return True
        start, end = node.start_mark.index, node.end_mark.index
        at = self.text.find(issue.found, start, max(end, start + 1))
        m = node.start_mark
        if at < 0:  # written as an escape such as "\e": point at the value
            mark = Mark(m.line + 1, m.column + 1)
        else:
            line_start = self.text.rfind("\n", 0, at) + 1
            mark = Mark(self.text.count("\n", 0, at) + 1, at - line_start + 1)
        self._add(mark, path, issue.message, issue.hint)
        return False

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        self.doc.values[path] = _mark(node)
        if node.tag not in _STANDARD_TAGS:
            m = _mark(node)
            if node.tag.startswith("!") and not node.tag.startswith("!!"):
                message, hint = "text that starts with `!` must be in quotes", 'write "!..."'
            else:
                message = f"YAML tags such as `{_short_tag(node.tag)}` are not allowed"
                hint = "remove the `!!...` part"
            self._add(m, path, message, hint)
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        if node.tag == _STR:
            return node.value if self._check_text(node, path) else None
        if node.tag in _NUMBER_TAGS and len(node.value) > MAX_NUMBER_CHARS:
            self._add(_mark(node), path, "this number is too long", "put the value in quotes")
            return None
        try:
            return self.constructor.construct_object(node)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            m = _mark(node)
            if node.tag == _TIMESTAMP and (why := impossible_date(node.value)):
                self._add(m, path, f"'{node.value}' is not a real date: {why}", "")
            else:
                self._add(
                    m,
                    path,
                    f"cannot read this value ({_first_line(exc)})",
                    "put the value in quotes",
                )
            return None

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            km = _mark(key_node)
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _STR:
                self._add(
                    km,
                    path,
                    "keys must be plain words",
                    "write the key as a name followed by a colon, like `title:`",
                )
                continue
            if not self._check_text(key_node, path):
                continue
            key = key_node.value
            child = (*path, key)
            if key in result:
                first = self.doc.keys[child]
                self._add(
                    km,
                    child,
                    f"duplicate key '{key}' (first given on line {first.line})",
                    "keep only one of them",
                )
                continue
            self.doc.keys[child] = km
            result[key] = self.build(value_node, child)
        return result


_STR = "tag:yaml.org,2002:str"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_NUMBER_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
_STANDARD_TAGS = {
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")
}


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml") else tag


def _first_line(exc: BaseException) -> str:
    problem = getattr(exc, "problem", None) or str(exc)
    lines = str(problem).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


# ---------------------------------------------------------------- syntax errors

_QUOTE_HINT = (
    "check the indentation, and put text that contains ': ' or starts with a symbol in quotes"
)


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of character ``index`` of ``text``."""
    index = max(0, min(index, len(text)))
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


def _unclosed_quote(text: str, exc: yaml.YAMLError) -> Problem | None:
    """When the mistake is a missing closing quote, the place where the quoted text starts.

    Either the quote is never closed (the error is at the end of the file), or a later quote
    closes it and the error comes just after that: both are reported where the text opens.
    """
    context = getattr(exc, "context", None) or ""
    mark = getattr(exc, "context_mark", None)
    if context.startswith("while scanning a quoted scalar") and mark is not None:
        return _quote_problem(text, mark.index, None)
    problem = getattr(exc, "problem_mark", None)
    if problem is None:
        return None
    try:
        last = None
        for token in yaml.scan(text, Loader=_FAST_LOADER):
            if token.start_mark.index >= problem.index:
                break
            last = token
    except yaml.YAMLError:
        pass
    if (
        isinstance(last, yaml.ScalarToken)
        and last.style in ("'", '"')
        and last.start_mark.line < last.end_mark.line
        and last.end_mark.line == problem.line
    ):
        return _quote_problem(text, last.start_mark.index, last.end_mark.line + 1)
    return None


def _quote_problem(text: str, index: int, closed_on: int | None) -> Problem:
    line, col = _position(text, index)
    quote = text[index] if index < len(text) and text[index] in "'\"" else '"'
    where = f"is only closed on line {closed_on}" if closed_on else "is never closed"
    return Problem(
        "",
        f"the quoted text that starts here {where}",
        line,
        col,
        "",
        f"add the closing {quote} at the end of the text on line {line}",
    )


def _syntax_problem(display: str, text: str, exc: yaml.YAMLError) -> Problem:
    if isinstance(exc, yaml.reader.ReaderError):
        line, col = _position(text, exc.position)
        ch = chr(exc.character) if isinstance(exc.character, int) else str(exc.character)
        issue = text_issue(ch)
        message = issue.message if issue else f"contains a character YAML does not allow ({ch!r})"
        return Problem(display, message, line, col, "", issue.hint if issue else "delete it")
    if quoted := _unclosed_quote(text, exc):
        return Problem(display, quoted.message, quoted.line, quoted.col, "", quoted.hint)
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
    return Problem(display, message, line, col, "", _QUOTE_HINT)


def _too_deep(display: str, line: int, col: int) -> HandoutsError:
    return HandoutsError(
        Problem(
            display,
            f"the lists and groups here are nested more than {MAX_DEPTH} levels deep",
            line,
            col,
            "",
            "a handout needs only a few levels: check the indentation and the brackets",
        )
    )


# libyaml's parser, when PyYAML was built with it, is about twenty times faster than the pure
# Python one; its error messages differ, so a file it refuses as invalid YAML is parsed again
# by the pure Python parser for the message users see (and tests pin). The depth limit holds
# on both, and a file refused for its depth is never parsed again.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _events(text: str, loader: type) -> Iterator[yaml.Event]:
    """Parse events, stopped with a HandoutsError as soon as nesting passes MAX_DEPTH."""
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                m = event.start_mark
                raise _TooDeep(m.line + 1, m.column + 1)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        yield event


class _TooDeep(Exception):
    def __init__(self, line: int, col: int) -> None:
        self.line, self.col = line, col


def _scan(display: str, text: str, loader: type = yaml.SafeLoader) -> list[Problem]:
    """Scan parse events (nothing is expanded) for anchors, aliases and extra documents."""
    problems: list[Problem] = []
    documents = anchors = 0
    first = (1, 1)
    for event in _events(text, loader):
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


def _is_depth_limit(exc: yaml.YAMLError) -> bool:
    """libyaml's own nesting limit (it may look ahead further than our count has reached)."""
    return "nesting depth" in str(getattr(exc, "problem", "") or "")


def _parse(display: str, text: str) -> yaml.Node | None:
    """The document's node tree, after the event checks; raise HandoutsError on any problem."""
    loader: type = _FAST_LOADER
    try:
        try:
            problems = _scan(display, text, loader)
        except yaml.YAMLError as fast:
            if _is_depth_limit(fast):
                m = fast.problem_mark
                raise _TooDeep(m.line + 1, m.column + 1) from None
            if isinstance(fast, yaml.reader.ReaderError) or loader is yaml.SafeLoader:
                raise
            # Only a syntax error gets here, and only text libyaml read without passing the
            # depth limit: the pure Python parser's work on it is linear and bounded by 1 MiB.
            loader = yaml.SafeLoader
            problems = _scan(display, text, loader)  # raises the error users see
        if problems:
            raise HandoutsError(problems)
        return yaml.compose(text, Loader=loader)
    except _TooDeep as deep:
        raise _too_deep(display, deep.line, deep.col) from None
    except yaml.YAMLError as exc:
        raise HandoutsError(_syntax_problem(display, text, exc)) from None


def load_yaml(path: Path, display: str | None = None) -> Document:
    """Load one YAML file strictly; raise HandoutsError listing every problem found.

    The file must be a regular file of at most 1 MiB inside its own folder (a link may point
    to a sibling, not out of the folder)."""
    display = display or str(path)
    try:
        raw = read_file(path, limit=MAX_BYTES, display=display, roots=(path.parent,))
    except FileRefused as exc:
        hint = "split it into several handouts" if "too large" in exc.reason else exc.hint
        raise HandoutsError(Problem(display, f"the file {exc.reason}", hint=hint)) from None
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
    node = _parse(display, text)
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
    builder = _Builder(doc, text)
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
