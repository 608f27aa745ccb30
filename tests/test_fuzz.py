"""Property-based fuzzing of the loader and the checks (Hypothesis): random YAML documents,
random text, and random mutations of the example files (byte flips, lost or doubled lines,
deep nesting, huge values, odd Unicode, YAML edge cases). Whatever the input, loading and
checking either works or raises HandoutsError with printable, located problems: never any
other exception, never a traceback, never a hang (a generous deadline guards against that;
timing goals live in bench/fuzz.py).

HANDOUTS_FUZZ_EXAMPLES=N runs N examples per test with fresh random seeds (a long run, which
also tries values of a full megabyte); by default each test runs a fixed, reproducible set
whose largest values are 100 KB (a megabyte of prose costs the checks about 1.5 s of CPU:
fine for a long run, too slow for every `make test`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handouts.checks import format_text, run_checks, to_json
from handouts.errors import HandoutsError
from handouts.project import load_project

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = os.environ.get("HANDOUTS_FUZZ_EXAMPLES")
TODAY = dt.date(2026, 6, 1)

FUZZ = settings(
    max_examples=int(EXAMPLES) if EXAMPLES else 300,
    # A hang guard only (bench/fuzz.py measures speed); a long run on a busy machine gets more.
    deadline=dt.timedelta(seconds=60 if EXAMPLES else 10),
    derandomize=not EXAMPLES,  # the suite is reproducible; a long run explores
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture,
    ],
)

# ---------------------------------------------------------------- the example files

CONTENT = REPO / "content"
EXAMPLE_FILES = {
    p.relative_to(REPO).as_posix(): p.read_bytes()
    for p in sorted(CONTENT.glob("handouts/*.yaml")) + sorted(CONTENT.glob("brands/*/brand.yaml"))
}

# Values that YAML, the schema or the checks treat specially.
EDGE_VALUES = [
    "",
    "~",
    "null",
    "no",
    "yes",
    "0123",
    "1.10",
    "0x1F",
    "1e999",
    ".nan",
    "-.inf",
    "99999999999999999999999999",
    "1:2:3:4:5",
    "2026-02-30",
    "2026-13-45",
    "0000-01-01",
    "2026-10-01T10:00:00Z",
    '"2026-02-31"',
    "[]",
    "{}",
    "[a, [b, {c: d}]]",
    "!!python/object/apply:os.system ['true']",
    "!!binary aGVsbG8=",
    "!tag x",
    "&anchor x",
    "*alias",
    "<<: {a: 1}",
    "? complex key",
    "|",
    ">-",
    "'",
    '"',
    "#",
    "@at",
    "`tick",
    "%YAML 1.1",
    "---",
    "...",
    "- item",
    ": colon",
    "{{ 7*7 }} {% if x %}y{% endif %}",
    '"\\e[31mred\\0\\a\\f\\x9b\\N\\L\\P"',
    '"\\ud800 lone"',
    "\u202eevil\u2066x\u2069",
    "e\u0301\u0302\u0303\u0304\u0305\u0306",
    "[link](javascript:alert(1))",
    "![img](file:///etc/passwd)",
    "<script>alert(1)</script>",
    "https://user:pw@x.example/",
    "mailto:",
    "zz",
    "sp",
    "X;}body{background:red}",
    "#0B5E6B",
    '"#GGGGGG"',
    "\uff21\uff22\uff23 漢字 🎉 \U0001f469\u200d\U0001f4bb",
]
KEYS = [
    "id",
    "language",
    "title",
    "subtitle",
    "keywords",
    "review",
    "version",
    "reviewed_on",
    "next_review",
    "translation",
    "notices",
    "kind",
    "text",
    "sources",
    "questions",
    "question",
    "answer",
    "references",
    "url",
    "doi",
    "pmid",
    "year",
    "closing",
    "heading",
    "max_pages",
    "orientation",
    "body_pt",
    "min_body_pt",
    "step_pt",
    "panels_per_page",
    "qr_min_mm",
    "qr_max_mm",
    "name",
    "logo",
    "colors",
    "primary",
    "accent",
    "font",
    "paper",
    "contact",
    "phone",
    "email",
    "website",
    "booking_url",
    "handouts",
    "languages",
    "layouts",
    "language_assistance",
    "print_ready",
    "target_grade",
    "plain_language",
]

# ---------------------------------------------------------------- strategies

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.dates(),
    st.sampled_from(EDGE_VALUES),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=12))
documents = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=6),
    max_leaves=40,
)


@st.composite
def yaml_documents(draw: st.DrawFn) -> bytes:
    """A random document, shaped like a handout or brand more often than not, as YAML."""
    data = draw(documents)
    if draw(st.booleans()):
        data = draw(st.dictionaries(st.sampled_from(KEYS), documents, min_size=1, max_size=8))
    text = yaml.safe_dump(
        data,
        allow_unicode=draw(st.booleans()),
        default_flow_style=draw(st.sampled_from([None, True, False])),
        sort_keys=False,
    )
    return text.encode("utf-8", "surrogatepass")


raw_text = st.one_of(
    st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=400),
    st.lists(
        st.sampled_from(EDGE_VALUES + [f"{k}: " for k in KEYS] + ["\n", "  ", "- ", ": "]),
        max_size=60,
    ).map(lambda parts: "".join(parts).encode("utf-8", "surrogatepass")),
)


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _flip(draw: st.DrawFn, data: bytes) -> bytes:
    if not data:
        return data
    i = draw(st.integers(0, len(data) - 1))
    return data[:i] + bytes([draw(st.integers(0, 255))]) + data[i + 1 :]


def _delete_line(draw: st.DrawFn, data: bytes) -> bytes:
    lines = _lines(data)
    del lines[draw(st.integers(0, len(lines) - 1))]
    return b"\n".join(lines)


def _duplicate_line(draw: st.DrawFn, data: bytes) -> bytes:
    lines = _lines(data)
    i = draw(st.integers(0, len(lines) - 1))
    lines.insert(i, lines[i])
    return b"\n".join(lines)


def _swap_lines(draw: st.DrawFn, data: bytes) -> bytes:
    lines = _lines(data)
    i, j = (draw(st.integers(0, len(lines) - 1)) for _ in range(2))
    lines[i], lines[j] = lines[j], lines[i]
    return b"\n".join(lines)


def _reindent(draw: st.DrawFn, data: bytes) -> bytes:
    lines = _lines(data)
    i = draw(st.integers(0, len(lines) - 1))
    shift = draw(st.integers(-4, 4))
    lines[i] = b" " * shift + lines[i] if shift > 0 else lines[i][-shift:]
    return b"\n".join(lines)


def _truncate(draw: st.DrawFn, data: bytes) -> bytes:
    return data[: draw(st.integers(0, len(data)))]


def _replace_value(draw: st.DrawFn, data: bytes, value: bytes) -> bytes:
    lines = _lines(data)
    candidates = [i for i, line in enumerate(lines) if b": " in line or line.endswith(b":")]
    if not candidates:
        return data + b"\n" + value
    i = draw(st.sampled_from(candidates))
    head = lines[i].split(b":", 1)[0]
    lines[i] = head + b": " + value
    return b"\n".join(lines)


def _edge_value(draw: st.DrawFn, data: bytes) -> bytes:
    return _replace_value(draw, data, draw(st.sampled_from(EDGE_VALUES)).encode("utf-8"))


def _unicode(draw: st.DrawFn, data: bytes) -> bytes:
    text = draw(st.text(min_size=1, max_size=30))
    i = draw(st.integers(0, len(data)))
    return data[:i] + text.encode("utf-8", "surrogatepass") + data[i:]


def _deep(draw: st.DrawFn, data: bytes) -> bytes:
    n = draw(st.sampled_from([10, 31, 32, 33, 100, 999, 1001, 5000, 50_000]))
    kind = draw(st.sampled_from(["list", "map", "unbalanced", "block"]))
    if kind == "list":
        value = b"[" * n + b"]" * n
    elif kind == "map":
        value = b"{a: " * n + b"}" * n
    elif kind == "unbalanced":
        value = b"[" * n
    else:
        n = min(n, 2000)
        value = b"\n" + b"\n".join(b"  " * (i + 1) + b"k:" for i in range(n))
    return _replace_value(draw, data, value)


# Over 1 MiB the file is refused unread; just under it, every check reads a megabyte of text.
HUGE_SIZES = [1_000, 100_000, 1_100_000] + ([1_000_000] if EXAMPLES else [])


def _huge(draw: st.DrawFn, data: bytes) -> bytes:
    n = draw(st.sampled_from(HUGE_SIZES))
    filler = draw(st.sampled_from([b"x", b"word ", b"\xc3\xa9", b"*", b"{{ ", b"[a](b) "]))
    value = (filler * (n // len(filler) + 1))[:n]
    return _replace_value(draw, data, value)


MUTATIONS: list[Callable[[st.DrawFn, bytes], bytes]] = [
    _flip,
    _delete_line,
    _duplicate_line,
    _swap_lines,
    _reindent,
    _truncate,
    _edge_value,
    _unicode,
    _deep,
    _huge,
]


@st.composite
def mutated_examples(draw: st.DrawFn) -> tuple[str, bytes]:
    """One example file (its path in the project) after one to four random mutations."""
    name = draw(st.sampled_from(sorted(EXAMPLE_FILES)))
    data = EXAMPLE_FILES[name]
    for _ in range(draw(st.integers(1, 4))):
        data = draw(st.sampled_from(MUTATIONS))(draw, data)
    return name, data


TARGETS = {
    "handout": "content/handouts/fuzz.yaml",
    "translation": "content/handouts/fuzz.es.yaml",
    "brand": "content/brands/fuzz/brand.yaml",
    "settings": "handouts.yaml",
    "layout": "templates/leaflet/layout.yaml",  # the project's own settings for a layout
}

# ---------------------------------------------------------------- the property

_RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _printable(text: str) -> None:
    text.encode("utf-8")  # would fail on a lone surrogate
    assert not _RAW_CONTROL.search(text), f"raw control character in {text[:300]!r}"
    assert "Traceback" not in text


def exercise(root: Path) -> bool:
    """Load and check the project at ``root``: it works (True), or fails with HandoutsError
    only (False)."""
    try:
        project = load_project(root)
    except HandoutsError as exc:
        assert exc.problems, "a loading error must carry located problems"
        for problem in exc.problems:
            _printable(str(problem))
            assert problem.line is None or problem.line >= 1
            assert problem.col is None or problem.col >= 1
        return False
    report = run_checks(project, today=TODAY)
    for line in format_text(report).splitlines():
        _printable(line)
    json.dumps(to_json(report), ensure_ascii=False).encode("utf-8")
    return True


@contextmanager
def written(root: Path, name: str, data: bytes) -> Iterator[None]:
    """``root`` with the file ``name`` holding ``data``, put back afterwards."""
    path = root / name
    before = path.read_bytes() if path.exists() else None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    try:
        yield
    finally:
        if before is None:
            path.unlink()
            if path.parent.name == "fuzz":
                path.parent.rmdir()
        else:
            path.write_bytes(before)


def make_fuzz_project() -> Path:
    root = Path(tempfile.mkdtemp(prefix="handouts-fuzz-"))
    shutil.copytree(CONTENT, root / "content")
    return root


@pytest.fixture(scope="module")
def project_root() -> Iterator[Path]:
    root = make_fuzz_project()
    exercise(root)  # the untouched examples load and check
    yield root
    shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------- the tests


@FUZZ
@given(target=st.sampled_from(sorted(TARGETS)), data=yaml_documents())
def test_random_yaml_documents(project_root: Path, target: str, data: bytes) -> None:
    with written(project_root, TARGETS[target], data):
        exercise(project_root)


@FUZZ
@given(target=st.sampled_from(sorted(TARGETS)), data=raw_text)
def test_random_text_and_bytes(project_root: Path, target: str, data: bytes) -> None:
    with written(project_root, TARGETS[target], data):
        exercise(project_root)


@FUZZ
@given(example=mutated_examples())
def test_mutated_example_handouts_and_brands(
    project_root: Path, example: tuple[str, bytes]
) -> None:
    name, data = example
    with written(project_root, name, data):
        exercise(project_root)


@settings(FUZZ, max_examples=int(EXAMPLES) if EXAMPLES else 600)
@given(example=mutated_examples(), other=mutated_examples())
def test_two_mutated_files_at_once(
    project_root: Path, example: tuple[str, bytes], other: tuple[str, bytes]
) -> None:
    if example[0] == other[0]:
        other = (next(n for n in sorted(EXAMPLE_FILES) if n != example[0]), other[1])
    with written(project_root, *example), written(project_root, *other):
        exercise(project_root)
