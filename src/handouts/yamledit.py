"""Edit a hand-written YAML file without disturbing it: change one value, add a key or a list
item, or remove one, and keep every other byte (comments, blank lines, key order, quoting,
indentation, line endings) exactly as it was.

Each edit splices only the lines it concerns into the file's text, then reads the whole text
again and checks that the data changed exactly as asked and nothing else did. New text follows
the file's own indentation and is written by PyYAML's safe emitter, whose YAML 1.1 rules are
the ones handouts reads files with (a string such as ``no`` or ``0123`` is quoted, so it stays
text). Saving writes a temporary file, loads it with the strict loader, keeps the previous
version as ``NAME.bak`` and replaces the file atomically; it refuses when the file changed on
disk since it was read.

Used by ``handouts review approve`` and meant for any front end that saves a form::

    result = edit_file(path, lambda e: e.set(("review", "reviewed_by"), "Dr A. Rivera"))
    # or, step by step
    editor = YamlEditor.read(path)
    editor.set(("questions", 2, "answer"), "New text.\\n\\nA second paragraph.")
    editor.append(("review", "history"), {"version": 2, "reviewed_on": dt.date.today()})
    save(path, editor.text, original=editor.original)
"""

from __future__ import annotations

import copy
import os
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import HandoutsError, Problem
from .files import read_limited
from .yamlio import MAX_BYTES, Document, KeyPath, format_key, load_yaml

BACKUP_SUFFIX = ".bak"
_BOM = "\ufeff"
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class Flow(list):  # type: ignore[type-arg]
    """A list to write on one line, in brackets: ``[a, b, c]``."""


class EditError(HandoutsError):
    """An edit that cannot be made as asked; the file is left unchanged."""


# ---------------------------------------------------------------- rendering


class _Dumper(yaml.SafeDumper):
    """PyYAML's safe emitter (the loader's own YAML 1.1 rules), with multi-line text as a
    ``|`` block, ``Flow`` lists in brackets and the file's sequence indentation."""

    indented_sequences = True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, indentless and not self.indented_sequences)

    def ignore_aliases(self, data: Any) -> bool:
        return True  # never write anchors: the strict loader refuses them


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data.strip("\n") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _represent_flow(dumper: yaml.SafeDumper, data: Flow) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", list(data), flow_style=True)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(Flow, _represent_flow)


@dataclass(frozen=True)
class Style:
    """How a file is indented: the step of nested mappings, and whether a list under a key
    is indented (``key:\\n  - a``) or not (``key:\\n- a``)."""

    unit: int = 2
    indented_sequences: bool = True
    newline: str = "\n"


def _dump(value: Any, style: Style) -> str:
    dumper = type("_FileDumper", (_Dumper,), {"indented_sequences": style.indented_sequences})
    text = yaml.dump(
        {"k": value},
        Dumper=dumper,
        default_flow_style=False,
        allow_unicode=True,
        sort_keys=False,
        indent=style.unit,
        width=1 << 30,
    )
    return text.rstrip("\n")


def render_value(value: Any, col: int, style: Style = Style()) -> str:
    """What follows a key written at column ``col`` (0-based): ``": text"`` for a value that
    fits on the key's line, else ``":"`` and the lines of a block, indented under the key."""
    lines = _dump(value, style).split("\n")
    head = lines[0][1:]  # ": value" or ":" (then a block) or ": |-" (then text)
    rest = [(" " * col + line) if line.strip() else "" for line in lines[1:]]
    return style.newline.join([head, *rest])


def render_item(value: Any, col: int, style: Style = Style()) -> str:
    """A list item whose dash is at column ``col``: ``- a: 1`` and its following lines."""
    # "- key: value" with the item's other keys under the first, whatever the file's step
    lines = _dump([value], Style(2, True, style.newline)).split("\n")[1:]
    strip = len(lines[0]) - len(lines[0].lstrip(" "))
    lines = [line[strip:] for line in lines]
    rest = [(" " * col + line) if line.strip() else "" for line in lines[1:]]
    return style.newline.join([lines[0], *rest])


# ---------------------------------------------------------------- the editor


def _set_in(data: Any, path: KeyPath, value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _plain(value: Any) -> Any:
    """``value`` as the loader reads it back (Flow lists are lists)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class YamlEditor:
    """The text of one YAML file and the edits made to it so far (``text``).

    Paths are tuples of keys and list positions (0-based), as in the rest of handouts:
    ``("questions", 2, "answer")``. Every edit keeps the text outside the lines it concerns
    byte for byte, and is checked by reading the whole text again.
    """

    def __init__(self, text: str, display: str = "<text>", original: bytes | None = None) -> None:
        self.bom = text.startswith(_BOM)
        self.text = text.removeprefix(_BOM)
        self.display = display
        self.original = original
        self._parse()

    @classmethod
    def read(cls, path: Path, display: str | None = None) -> YamlEditor:
        """Read ``path`` for editing (a regular file of at most 1 MiB, UTF-8)."""
        display = display or str(path)
        raw = _read_regular(path, display)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise EditError(
                Problem(display, "the file is not UTF-8 text", hint="save it as UTF-8")
            ) from None
        return cls(text, display, raw)

    # ------------------------------------------------------------ reading

    def _parse(self) -> None:
        # The pure-Python parser: its marks count characters, so they index ``self.text``.
        loader = yaml.SafeLoader(self.text)
        try:
            node = loader.get_single_node()
            self.data = loader.construct_document(node) if node is not None else None
        except yaml.YAMLError as exc:
            raise EditError(
                Problem(self.display, f"this is not valid YAML ({exc})", hint="fix it first")
            ) from None
        finally:
            loader.dispose()
        if not isinstance(node, yaml.MappingNode) or node.flow_style:
            raise EditError(Problem(self.display, "the file must be a list of `key: value` lines"))
        self.root = node
        self.style = self._style()

    def _style(self) -> Style:
        unit, indented = None, None
        stack: list[yaml.Node] = [self.root]
        while stack and (unit is None or indented is None):
            node = stack.pop()
            if isinstance(node, yaml.MappingNode) and not node.flow_style:
                for key, value in node.value:
                    col = key.start_mark.column
                    if isinstance(value, yaml.MappingNode) and not value.flow_style:
                        unit = unit or (value.start_mark.column - col) or None
                    if isinstance(value, yaml.SequenceNode) and not value.flow_style:
                        indented = value.start_mark.column > col if indented is None else indented
                    stack.append(value)
            elif isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)
        newline = "\r\n" if "\r\n" in self.text else "\n"
        return Style(unit or 2, True if indented is None else indented, newline)

    def get(self, path: KeyPath, default: Any = None) -> Any:
        """The value at ``path`` as loaded, or ``default``."""
        data = self.data
        for part in path:
            try:
                data = data[part]
            except (KeyError, IndexError, TypeError):
                return default
        return data

    def has(self, path: KeyPath) -> bool:
        try:
            self._find(path)
        except KeyError:
            return False
        return True

    def _find(self, path: KeyPath) -> tuple[yaml.Node | None, yaml.Node]:
        """(key node or None for a list item, value node) at ``path``; KeyError if absent."""
        node: yaml.Node = self.root
        key: yaml.Node | None = None
        for part in path:
            if isinstance(part, int):
                if not isinstance(node, yaml.SequenceNode) or not 0 <= part < len(node.value):
                    raise KeyError(path)
                key, node = None, node.value[part]
            else:
                if not isinstance(node, yaml.MappingNode):
                    raise KeyError(path)
                for k, v in node.value:
                    if isinstance(k, yaml.ScalarNode) and k.value == part:
                        key, node = k, v
                        break
                else:
                    raise KeyError(path)
        return key, node

    # ------------------------------------------------------------ positions

    def _line_start(self, i: int) -> int:
        return self.text.rfind("\n", 0, i) + 1

    def _line_end(self, i: int) -> int:
        """The index of the line break ending the line that holds index ``i``."""
        end = self.text.find("\n", i)
        end = len(self.text) if end < 0 else end
        return end - 1 if end > 0 and self.text[end - 1] == "\r" else end

    def _last(self, node: yaml.Node) -> int:
        """Just after the last character that belongs to ``node``'s text."""
        if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
            key, value = node.value[-1]
            return max(self._colon(key) + 1, self._last(value))
        if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
            return self._last(node.value[-1])
        start, end = node.start_mark.index, node.end_mark.index
        return start + len(self.text[start:end].rstrip())

    def _colon(self, key: yaml.Node) -> int:
        colon = self.text.find(":", key.end_mark.index)
        if colon < 0:  # pragma: no cover - a parsed key always has its colon
            raise EditError(Problem(self.display, "cannot find the key's colon"))
        return colon

    def _block_end(self, key_col: int, last: int) -> int:
        """The end of the last line of an entry whose text ends at ``last``, extended over
        following comment lines indented deeper than the entry's key (they belong to it)."""
        end = self._line_end(last)
        probe = end
        while probe < len(self.text):
            start = self.text.find("\n", probe)
            if start < 0:
                break
            start += 1
            line_end = self._line_end(start)
            line = self.text[start:line_end]
            stripped = line.lstrip(" ")
            if not stripped:
                probe = line_end
                continue
            if stripped.startswith("#") and len(line) - len(stripped) > key_col:
                end = probe = line_end
                continue
            break
        return end

    # ------------------------------------------------------------ edits

    def _splice(self, start: int, end: int, new: str, expected: Any) -> None:
        before = self.text
        self.text = before[:start] + new + before[end:]
        try:
            self._parse()
        except EditError:
            self.text = before
            self._parse()
            raise EditError(
                Problem(self.display, "the edit would break the file; nothing was changed")
            ) from None
        if self.data != expected:
            self.text = before
            self._parse()
            raise EditError(
                Problem(
                    self.display,
                    "the edit did not read back as intended; nothing was changed",
                    hint="please report this with the file",
                )
            )

    def set(
        self, path: KeyPath, value: Any, *, after: Sequence[str] = (), separate: bool = False
    ) -> bool:
        """Set the value at ``path`` (a key of a mapping; its parents are created as needed).

        An existing value is replaced where it stands (a comment after it stays); a new key
        goes after the last of the keys named in ``after`` that the mapping has, else at its
        end, with a blank line before it when ``separate`` (a ``{...}`` mapping gaining a key is
        written out as a block). Returns False when the value was already equal (then nothing
        is touched, not even its quoting).
        """
        if not path or not isinstance(path[-1], str) or not _KEY.match(path[-1]):
            raise EditError(Problem(self.display, f"cannot set '{format_key(path)}'"))
        expected = copy.deepcopy(self.data)
        try:
            key, node = self._find(path)
        except KeyError:
            parent_path = path[:-1]
            try:
                _, parent = self._find(parent_path)
            except KeyError:
                return self.set(parent_path, {path[-1]: value}, after=after, separate=separate)
            if isinstance(parent, yaml.ScalarNode) and self.get(parent_path) is None:
                return self.set(parent_path, {path[-1]: value})
            if isinstance(parent, yaml.MappingNode) and parent.flow_style and parent_path:
                # `{a: 1}` on one line: written out again as a block, with the new key
                merged = {**self.get(parent_path), path[-1]: value}
                return self.set(parent_path, merged)
            if not isinstance(parent, yaml.MappingNode) or parent.flow_style:
                raise EditError(
                    Problem(
                        self.display,
                        f"cannot add '{path[-1]}' to {format_key(parent_path) or 'the file'}: "
                        "it is not a block of `key: value` lines",
                    )
                ) from None
            _set_in(expected, path, _plain(value))
            self._insert(parent, path[-1], value, after, separate, expected)
            return True
        if self.get(path) == _plain(value) and type(self.get(path)) is type(_plain(value)):
            return False
        assert key is not None
        _set_in(expected, path, _plain(value))
        col = key.start_mark.column
        rendered = render_value(value, col, self.style)
        colon = self._colon(key)
        one_line = isinstance(node, yaml.ScalarNode) and node.style not in ("|", ">")
        if one_line and node.start_mark.line == node.end_mark.line and "\n" not in rendered:
            if node.end_mark.index > node.start_mark.index:  # replace the scalar alone
                self._splice(node.start_mark.index, node.end_mark.index, rendered[2:], expected)
            else:  # `key:` with nothing after it
                self._splice(colon + 1, colon + 1, rendered[1:], expected)
            return True
        last = self._last(node) if node.end_mark.index > node.start_mark.index else colon + 1
        self._splice(colon + 1, max(last, colon + 1), rendered[1:], expected)
        return True

    def _insert(
        self,
        mapping: yaml.MappingNode,
        name: str,
        value: Any,
        after: Sequence[str],
        separate: bool,
        expected: Any,
    ) -> None:
        pairs = mapping.value
        anchor = pairs[-1]
        named = [p for p in pairs if isinstance(p[0], yaml.ScalarNode) and p[0].value in after]
        if named:
            anchor = max(named, key=lambda p: p[0].start_mark.index)
        col = pairs[0][0].start_mark.column
        at = self._block_end(anchor[0].start_mark.column, self._last_of_pair(anchor))
        nl = self.style.newline
        text = nl * (2 if separate else 1) + " " * col + name
        text += render_value(value, col, self.style)
        self._splice(at, at, text, expected)

    def _last_of_pair(self, pair: tuple[yaml.Node, yaml.Node]) -> int:
        key, value = pair
        end = self._colon(key) + 1
        if value.end_mark.index > value.start_mark.index:
            end = max(end, self._last(value))
        return end

    def append(self, path: KeyPath, item: Any) -> None:
        """Add ``item`` at the end of the list at ``path`` (created when missing)."""
        try:
            key, node = self._find(path)
        except KeyError:
            self.set(path, [item])
            return
        expected = copy.deepcopy(self.data)
        current = self.get(path)
        if not isinstance(current, list):
            raise EditError(
                Problem(self.display, f"{format_key(path)} is not a list", hint="make it one")
            )
        _set_in(expected, path, [*current, _plain(item)])
        if not isinstance(node, yaml.SequenceNode) or node.flow_style or not node.value:
            if key is None:
                raise EditError(Problem(self.display, f"cannot add to {format_key(path)}"))
            self.set(path, [*current, item])
            return
        last = node.value[-1]
        col = node.start_mark.column
        at = self._block_end(col, self._last(last))
        text = self.style.newline + " " * col + render_item(item, col, self.style)
        self._splice(at, at, text, expected)

    def delete(self, path: KeyPath) -> None:
        """Remove the key or list item at ``path``, with the lines it spans."""
        key, node = self._find(path)
        expected = copy.deepcopy(self.data)
        parent = expected
        for part in path[:-1]:
            parent = parent[part]
        del parent[path[-1]]
        first = key if key is not None else node
        col = first.start_mark.column
        if key is None:  # a list item starts at its dash, two columns before the value
            dash = self.text.rfind("-", 0, node.start_mark.index)
            col, start_at = self.text[self._line_start(dash) : dash].count(" "), dash
        else:
            start_at = key.start_mark.index
        line_start = self._line_start(start_at)
        if self.text[line_start:start_at].strip():
            raise EditError(
                Problem(
                    self.display,
                    f"cannot remove {format_key(path)}: it shares its line with another entry",
                )
            )
        last = self._last_of_pair((key, node)) if key is not None else self._last(node)
        end = self._block_end(col, last)
        end = self.text.find("\n", end)
        end = len(self.text) if end < 0 else end + 1
        self._splice(line_start, end, "", expected)

    def dumps(self) -> str:
        """The edited text, with the byte-order mark the file had."""
        return (_BOM if self.bom else "") + self.text


# ---------------------------------------------------------------- files


def _read_regular(path: Path, display: str) -> bytes:
    """The file's bytes: a regular file (not a symlink, FIFO or device) of at most 1 MiB."""
    if path.is_symlink():
        raise EditError(
            Problem(
                display,
                "is a symbolic link; nothing was changed",
                hint="edit the file it points to",
            )
        )
    try:
        return read_limited(path, MAX_BYTES)
    except OSError as exc:
        raise EditError(
            Problem(display, f"cannot edit this file ({exc.strerror or exc}); nothing was changed")
        ) from None


@dataclass(frozen=True)
class Saved:
    """A file written by ``save``: where, and where its previous version was kept."""

    path: Path
    backup: Path | None
    changed: bool


def save(
    path: Path,
    text: str,
    *,
    original: bytes | None,
    display: str | None = None,
    backup: bool = True,
    validate: Callable[[Document], None] | None = None,
) -> Saved:
    """Write ``text`` to ``path`` atomically, after loading it with the strict loader (and
    ``validate``, e.g. a model check). ``original`` is the file's content when it was read:
    if the file has changed since, nothing is written. The previous version is kept as
    ``NAME.bak`` (a hard link, so the swap is atomic)."""
    display = display or str(path)
    current = _read_regular(path, display)
    if original is not None and current != original:
        raise EditError(
            Problem(
                display,
                "the file changed on disk since it was read; nothing was saved",
                hint="run the command again (or reload the page) to start from the new version",
            )
        )
    data = text.encode("utf-8")
    if data == current:
        return Saved(path, None, False)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.unlink(missing_ok=True)
        with open(tmp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        doc = load_yaml(tmp, display)
        if validate:
            validate(doc)
        kept = path.with_name(path.name + BACKUP_SUFFIX) if backup else None
        if kept is not None:
            _keep(path, kept)
        os.replace(tmp, path)
        _sync_dir(path.parent)
    except HandoutsError as exc:
        raise EditError(
            [Problem(display, "the edited file would not load; nothing was saved"), *exc.problems]
        ) from None
    except OSError as exc:
        raise EditError(
            Problem(display, f"cannot write the file ({exc.strerror}); nothing was saved")
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
    return Saved(path, kept, True)


def _keep(path: Path, backup: Path) -> None:
    staged = backup.with_name(f".{backup.name}.{os.getpid()}.tmp")
    staged.unlink(missing_ok=True)
    try:
        os.link(path, staged)
    except OSError:  # no hard links here: copy instead
        shutil.copy2(path, staged)
    os.replace(staged, backup)


def _sync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def edit_file(
    path: Path,
    change: Callable[[YamlEditor], None],
    *,
    display: str | None = None,
    backup: bool = True,
    validate: Callable[[Document], None] | None = None,
) -> Saved:
    """Read ``path``, apply ``change`` to it, and ``save`` the result."""
    editor = YamlEditor.read(path, display)
    change(editor)
    return save(
        path,
        editor.dumps(),
        original=editor.original,
        display=editor.display,
        backup=backup,
        validate=validate,
    )
