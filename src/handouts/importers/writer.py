"""The one writer: a Draft → handout YAML a clinic can edit by hand (block scalars for answers,
quotes only where YAML needs them), with a ``# CHECK:`` comment above every guess; and the
atomic, never-overwriting write into ``content/handouts/``.

The text is checked before it leaves here: it must load through the strict loader into a
valid Handout with exactly the data the draft holds.
"""

from __future__ import annotations

import json
import os
import tempfile
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .. import markup
from ..errors import HandoutsError, Problem
from ..models import Handout, parse
from ..yamlio import MAX_BYTES, load_yaml
from .draft import REFERENCE_FIELDS, Draft
from .source import clean_text

FORMAT_NAMES = {
    "text": "plain text",
    "markdown": "Markdown",
    "html": "an HTML page",
    "docx": "a Word document",
}
WIDTH = 100


@dataclass(frozen=True)
class Guess:
    """A guess the importer made: the line of the YAML it concerns, its key, what to check."""

    line: int
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.line}: {self.key}: {self.message}"


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.guesses: list[Guess] = []

    def add(self, line: str, checks: Sequence[str] = (), key: str = "") -> None:
        """``line``, with a ``# CHECK:`` comment above it for each guess about it."""
        indent = line[: len(line) - len(line.lstrip(" "))]
        for check in checks:
            wrapped = textwrap.wrap(
                " ".join(check.split()),
                WIDTH - len(indent),
                initial_indent="# CHECK: ",
                subsequent_indent="#        ",
                break_on_hyphens=False,
            )
            self.lines += [indent + part for part in wrapped]
        self.lines.append(line)
        self.guesses += [Guess(len(self.lines), key, " ".join(c.split())) for c in checks]

    def extend(self, lines: list[str]) -> None:
        self.lines += lines


def scalar(value: str) -> str:
    """A one-line YAML scalar: plain when YAML reads it back as the same text, else quoted.
    Text with a colon or starting with a digit is quoted anyway, so that a later hand edit
    cannot turn it into a number or a date (``20:45`` is 1245 in YAML 1.1)."""
    risky = ":" in value or value[:1].isdigit()
    if value and not risky and value == value.strip() and "\n" not in value:
        try:
            if yaml.safe_load(f"k: {value}\n") == {"k": value}:
                return value
        except yaml.YAMLError:
            pass
    return json.dumps(value, ensure_ascii=False)


def _text(key: str, value: str, indent: str, block: bool = False) -> tuple[list[str], str]:
    """``key: value``, or a ``|`` block for text of several lines (or always, with ``block``);
    and the value YAML reads back (a block keeps one final newline)."""
    value = value.strip("\n")
    lines = value.split("\n")
    if (len(lines) == 1 and not block) or lines[0] != lines[0].lstrip():
        return [f"{indent}{key}: {scalar(value)}"], value
    body = [f"{indent}  {line.rstrip()}" if line.strip() else "" for line in lines]
    return [f"{indent}{key}: |", *body], "\n".join(line.rstrip() for line in lines) + "\n"


def _sources(ids: list[str], indent: str) -> list[str]:
    line = f"{indent}sources: [{', '.join(ids)}]"
    if len(line) <= WIDTH:
        return [line]
    return [f"{indent}sources:", *(f"{indent}  - {i}" for i in ids)]


def _clean(value: str) -> str:
    return clean_text(value)


def to_yaml(draft: Draft, handout_id: str, language: str) -> tuple[str, list[Guess], dict]:
    """The handout as YAML text, the guesses (with their lines) and the data it loads to."""
    out = _Lines()
    data: dict[str, Any] = {"id": handout_id, "language": language}
    origin = FORMAT_NAMES.get(draft.fmt, draft.fmt)
    out.extend(
        [
            f"# Imported by `handouts import` from {' '.join(draft.source.split())} ({origin}).",
            "# A reviewer must approve this text before it is printed: read it against the",
            '# source, settle every line marked "# CHECK:" (each is a guess the importer made)',
            "# and delete those comments, then add a `review:` block with the reviewer's name and",
            "# the date. Nothing here was invented: every word, title and link is the source's",
            "# own (or, for links, the references file's).",
            f"id: {handout_id}",
            f"language: {scalar(language)}",
        ]
    )
    title = _clean(draft.title).strip()
    out.add(f"title: {scalar(title)}", draft.title_checks, "title")
    data["title"] = title
    if draft.subtitle:
        data["subtitle"] = _clean(draft.subtitle).strip()
        out.add(f"subtitle: {scalar(data['subtitle'])}")
    if draft.notices:
        out.extend(["", "notices:"])
        data["notices"] = []
        for i, notice in enumerate(draft.notices):
            item: dict[str, Any] = {"kind": notice.kind, "text": _clean(notice.text)}
            out.add(f"  - kind: {notice.kind}", notice.checks, f"notices[{i + 1}]")
            lines, item["text"] = _text("text", item["text"], "    ")
            out.extend(lines)
            if notice.sources:
                item["sources"] = list(notice.sources)
                out.extend(_sources(notice.sources, "    "))
            data["notices"].append(item)
    out.extend(["", "questions:"])
    data["questions"] = []
    for i, q in enumerate(draft.questions):
        if i:
            out.extend([""])
        question = _clean(q.question).strip()
        answer = _clean(q.answer)
        out.add(f"  - question: {scalar(question)}", q.checks, f"questions[{i + 1}].question")
        answer_lines, loaded = _text("answer", answer, "    ", block=True)
        out.add(answer_lines[0], q.answer_checks, f"questions[{i + 1}].answer")
        out.extend(answer_lines[1:])
        item = {"question": question, "answer": loaded}
        if q.sources:
            item["sources"] = list(q.sources)
            out.extend(_sources(q.sources, "    "))
        data["questions"].append(item)
    if draft.references:
        out.extend(["", "references:"])
        data["references"] = []
        for i, ref in enumerate(draft.references):
            title = _clean(ref.title).strip()
            out.add(f"  - id: {ref.id}", ref.checks, f"references[{i + 1}]")
            out.extend([f"    title: {scalar(title)}"])
            item = {"id": ref.id, "title": title}
            for name in REFERENCE_FIELDS:
                value = ref.fields.get(name)
                if value is None:
                    continue
                if isinstance(value, int) and not isinstance(value, bool):
                    out.extend([f"    {name}: {value}"])
                    item[name] = value
                else:
                    text = " ".join(_clean(str(value)).split())
                    out.extend([f"    {name}: {scalar(text)}"])
                    item[name] = text
            data["references"].append(item)
    if draft.closing:
        c = draft.closing
        out.extend([""])
        out.add("closing:", c.checks, "closing")
        heading = _clean(c.heading).strip()
        out.extend([f"  heading: {scalar(heading)}"])
        data["closing"] = {"heading": heading}
        if c.text:
            lines, data["closing"]["text"] = _text("text", _clean(c.text), "  ")
            out.extend(lines)
    text = "\n".join(out.lines) + "\n"
    _verify(text, data, draft.source)
    return text, out.guesses, data


def _verify(text: str, data: dict[str, Any], source: str) -> None:
    """The YAML must read back as ``data`` and load as a valid handout; anything else is a bug
    here, never the user's to fix."""
    if len(text.encode()) > MAX_BYTES:
        raise HandoutsError(
            Problem(
                source,
                f"the handout would be {len(text.encode()):,} bytes; the limit is 1 MB",
                hint="import the questions in two or more parts, each its own handout",
            )
        )
    loaded = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if loaded != data:
        raise RuntimeError(f"the YAML written for {source} does not read back as its data")
    with tempfile.TemporaryDirectory(prefix="handouts-import-") as folder:
        path = Path(folder) / "check.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            handout = parse(Handout, load_yaml(path, "imported"))
        except HandoutsError as exc:
            raise RuntimeError(f"the YAML written for {source} does not load: {exc}") from None
    texts = [n.text for n in handout.notices] + [q.answer for q in handout.questions]
    if handout.closing and handout.closing.text:
        texts.append(handout.closing.text)
    for value in texts:
        if issues := markup.check(value):
            raise RuntimeError(f"the imported text has a link problem: {issues[0].message}")


# ---------------------------------------------------------------- writing the file


def target_path(project_dir: Path, handout_id: str, language: str) -> tuple[Path, list[Path]]:
    """Where the handout goes, and the files that already hold this id and language."""
    folder = project_dir / "content" / "handouts"
    names = [f"{handout_id}.{language}.yaml", f"{handout_id}.{language}.yml"]
    if language == "en":
        names = [f"{handout_id}.yaml", f"{handout_id}.yml", *names]
    existing = [folder / n for n in names if os.path.lexists(folder / n)]
    return folder / names[0], existing


def write_handout(
    text: str, project_dir: Path, handout_id: str, language: str, *, force: bool = False
) -> Path:
    """Write ``text`` as the handout file, atomically; refuse to replace a file unless
    ``force``. Returns the path written."""
    project_dir = Path(project_dir)
    if not (project_dir / "content").is_dir():
        raise HandoutsError(
            Problem(
                str(project_dir),
                "no content/ folder here",
                hint="run the command inside a handouts project, or point at one with -C DIR",
            )
        )
    target, existing = target_path(project_dir, handout_id, language)
    if existing and not force:
        shown = existing[0].relative_to(project_dir).as_posix()
        raise HandoutsError(
            Problem(
                shown,
                "this handout already exists; nothing was written",
                hint="choose another name with --id, or replace it with --force",
            )
        )
    if existing:
        target = existing[0]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if force:
            os.replace(tmp, target)
        else:
            _create(tmp, target, project_dir)
    except OSError as exc:
        raise HandoutsError(
            Problem(
                str(target.parent),
                f"cannot write here ({exc.strerror or exc})",
                hint="check the folder's permissions and free space",
            )
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _create(tmp: Path, target: Path, project_dir: Path) -> None:
    """Move ``tmp`` to ``target`` only if ``target`` does not exist, atomically: a hard link
    fails if a file appeared meanwhile. (Where links are not supported, check, then rename.)"""
    exists = HandoutsError(
        Problem(
            target.relative_to(project_dir).as_posix(),
            "this handout already exists; nothing was written",
            hint="choose another name with --id, or replace it with --force",
        )
    )
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise exists from None
    except OSError:
        if os.path.lexists(target):
            raise exists from None
        os.replace(tmp, target)
