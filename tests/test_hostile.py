"""Hostile input files (shared/design/security.md items 27-31 and issue 9): special files,
links out of their folder, deep or broken YAML, impossible dates, unknown languages, image and
font tricks, control characters, and template text in content. Each case gets a clear,
located error (or prints as written), never a hang, a crash or a leak.
"""

from __future__ import annotations

import io
import os
import random
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from handouts import markup
from handouts.checks import run_checks
from handouts.errors import HandoutsError, Problem, visible
from handouts.files import FileRefused, confined, read_file
from handouts.project import load_project

from conftest import BRAND, HANDOUT, REPO, normalise, pdf_text, run_cli

H = "content/handouts/sample.yaml"
B = "content/brands/test/brand.yaml"
BRAND_DIR = "content/brands/test"
FONT = REPO / "fonts" / "AtkinsonHyperlegible-Regular.ttf"
MARKER = "S3CRET-5b7e1d-MARKER"

MINI = textwrap.dedent("""\
    title: T
    questions:
      - question: Q
        answer: A
    """)


def edit(text: str, old: str, new: str) -> str:
    assert old in text, f"{old!r} is not in the text"
    return text.replace(old, new)


def problems(root: Path) -> list[str]:
    with pytest.raises(HandoutsError) as excinfo:
        load_project(root)
    lines = [str(p) for p in excinfo.value.problems]
    assert lines, "a HandoutsError from loading must carry located problems"
    return lines


def run_main(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real command in its own process, so a hang fails the test instead of stopping it."""
    return subprocess.run(
        [sys.executable, "-m", "handouts", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def png_bytes(width: int, height: int, *, noise: bool = False) -> bytes:
    from PIL import Image

    if noise:
        rng = random.Random(7)
        image = Image.frombytes(
            "RGB", (width, height), bytes(rng.getrandbits(8) for _ in range(width * height * 3))
        )
    else:
        image = Image.new("RGB", (width, height), "#0B5E6B")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def png_logo(make_project, data: bytes) -> Path:
    return make_project(
        {B: edit(BRAND, "logo: logo.svg", "logo: logo.png"), f"{BRAND_DIR}/logo.png": data}
    )


# ================================================================ 1. one bounded, confined reader


def test_read_file_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(FileRefused) as excinfo:
        read_file(fifo, limit=100, display="pipe.yaml")
    assert str(excinfo.value) == (
        "pipe.yaml: the file is not a regular file (it is a named pipe) "
        "(replace it with an ordinary file)"
    )


def test_read_file_refuses_a_link_to_dev_zero_and_a_folder(tmp_path: Path) -> None:
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    with pytest.raises(FileRefused, match=r"not a regular file \(it is a device\)"):
        read_file(tmp_path / "zero.yaml", limit=100)
    with pytest.raises(FileRefused, match=r"not a regular file \(it is a folder\)"):
        read_file(tmp_path, limit=100)


def test_read_file_reads_at_most_limit_plus_one_bytes_whatever_the_size_says(
    tmp_path: Path,
) -> None:
    # Files under /proc are regular files whose size is 0: the size must not be trusted.
    status = Path("/proc/self/status")
    assert status.stat().st_size == 0 and len(status.read_bytes()) > 40
    with pytest.raises(FileRefused, match=r"too large \(over 40 bytes; the limit is 40 bytes\)"):
        read_file(status, limit=40)
    (tmp_path / "ok.txt").write_bytes(b"x" * 40)
    assert read_file(tmp_path / "ok.txt", limit=40) == b"x" * 40


def test_confined_refuses_a_link_out_of_its_folder(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text(MARKER)
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "in.txt").write_text("fine")
    (folder / "out.txt").symlink_to(tmp_path / "secret.txt")
    (folder / "alias.txt").symlink_to("in.txt")
    assert confined(folder / "alias.txt", [folder]) == (folder / "in.txt").resolve()
    with pytest.raises(FileRefused, match="outside its folder"):
        confined(folder / "out.txt", [folder])
    with pytest.raises(FileRefused, match="outside its folder"):
        read_file(folder / "out.txt", limit=100, roots=[folder])


@pytest.mark.parametrize("name", [B, H, "content/brands/test/logo.svg"])
def test_fifo_in_place_of_a_project_file_never_hangs_check(make_project, name: str) -> None:
    root = make_project({name: None})
    os.mkfifo(root / name)
    ran = run_main("check", "-C", str(root))
    assert ran.returncode == 1, ran
    assert "is not a regular file (it is a named pipe)" in ran.stderr
    assert "does not exist" not in ran.stderr
    assert "Traceback" not in ran.stderr + ran.stdout


def test_fifo_logo_is_not_reported_as_missing(make_project) -> None:
    root = make_project({"content/brands/test/logo.svg": None})
    os.mkfifo(root / "content/brands/test/logo.svg")
    assert problems(root) == [
        f"{B}:2:7 logo: the logo 'logo.svg' is not a regular file (it is a named pipe) "
        "(export the logo again as a plain SVG or PNG)"
    ]


def test_handout_linked_to_dev_zero_is_refused_at_once(make_project) -> None:
    root = make_project({H: None})
    (root / H).symlink_to("/dev/zero")
    ran = run_main("check", "-C", str(root), timeout=60)
    assert ran.returncode == 1, ran
    assert f"{H}: the file is a link to a place outside its folder" in ran.stderr


def test_yaml_file_linked_out_of_its_folder_is_refused(make_project, tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text(f"title: {MARKER}\nbad key here\n")
    root = make_project({H: None})
    (root / H).symlink_to(secret)
    lines = problems(root)
    assert lines == [
        f"{H}: the file is a link to a place outside its folder "
        "(copy the file into the folder instead of linking to it)"
    ]
    assert MARKER not in "\n".join(lines)


def test_fifo_font_file_never_hangs_check(make_project) -> None:
    root = make_project({B: BRAND + "font: Piped\n"})
    (root / "fonts").mkdir()
    os.mkfifo(root / "fonts/Piped-Regular.ttf")
    ran = run_main("check", "-C", str(root))
    assert ran.returncode == 1, ran
    assert f"{B}:12:7 font: font 'Piped' is not in fonts/" in ran.stderr
    assert "Traceback" not in ran.stderr


def test_fifo_font_file_is_named_by_check(make_project) -> None:
    root = make_project()
    (root / "fonts").mkdir()
    os.mkfifo(root / "fonts/Piped-Regular.ttf")
    ran = run_main("check", "-C", str(root))
    assert (
        "fonts/Piped-Regular.ttf: this font file is not used: it is not a regular file (it is "
        "a named pipe)"
    ) in ran.stdout, ran


# ================================================================ 2. stylesheet linked out


SECRET_CSS = f'body::before {{ content: "{MARKER}"; }}\n'


def test_stylesheet_symlink_out_of_the_project_is_refused(make_project, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.css").write_text(SECRET_CSS)
    root = make_project()
    (root / "templates/leaflet").mkdir(parents=True)
    (root / "templates/leaflet/leaflet.css").symlink_to(outside / "secret.css")
    out = tmp_path / "out"
    ran = run_cli("build", "-C", str(root), "--out", str(out), "--jobs", "1")
    assert ran.code == 1, ran
    said = ran.stdout + ran.stderr
    assert "templates/leaflet/leaflet.css" in said
    assert "links outside the templates folder" in said
    for path in out.rglob("*"):
        if path.is_file():
            assert MARKER.encode() not in path.read_bytes(), path
            if path.suffix == ".pdf":
                assert MARKER not in pdf_text(path.read_bytes())


def test_stylesheet_inside_the_templates_folder_still_applies(make_project, tmp_path: Path) -> None:
    root = make_project()
    css = (REPO / "templates/leaflet/leaflet.css").read_text()
    (root / "templates/leaflet").mkdir(parents=True)
    (root / "templates/leaflet/leaflet.css").write_text(
        css + '\nbody::before { content: "OWN-STYLE-APPLIED"; }\n'
    )
    out = tmp_path / "out"
    ran = run_cli("build", "-C", str(root), "--out", str(out), "--jobs", "1")
    assert ran.code == 0, ran
    (pdf,) = out.rglob("*.pdf")
    assert "OWN-STYLE-APPLIED" in pdf_text(pdf.read_bytes())


# ================================================================ 3. depth


DEPTH_HINT = "(a handout needs only a few levels: check the indentation and the brackets)"


def _deep(make_project, text: str) -> list[str]:
    return problems(make_project({H: text}))


def test_50000_levels_of_brackets_is_a_clear_error_without_the_slow_parser(
    make_project, monkeypatch
) -> None:
    root = make_project({H: "title: " + "[" * 50_000 + "]" * 50_000 + "\n"})

    def slow_parser(*args, **kwargs):
        raise AssertionError("a file refused for its depth must not be parsed again")

    monkeypatch.setattr(yaml.scanner.Scanner, "fetch_more_tokens", slow_parser)  # pure Python
    assert problems(root) == [
        f"{H}:1:1007: the lists and groups here are nested more than 32 levels deep {DEPTH_HINT}"
    ]


def test_900_levels_is_a_clear_error_where_level_33_starts(make_project) -> None:
    text = "title: " + "[" * 900 + "]" * 900 + "\n"
    # The mapping is level 1, so the 32nd bracket (column 8 + 31) opens level 33.
    assert _deep(make_project, text) == [
        f"{H}:1:39: the lists and groups here are nested more than 32 levels deep {DEPTH_HINT}"
    ]


def test_deep_indentation_is_a_clear_error_on_its_line(make_project) -> None:
    lines = ["title: T"] + ["  " * i + f"k{i}:" for i in range(40)]
    assert _deep(make_project, "\n".join(lines) + "\n") == [
        f"{H}:34:65: the lists and groups here are nested more than 32 levels deep {DEPTH_HINT}"
    ]


def test_32_levels_is_still_read(make_project) -> None:
    # Depth is not a syntax error: the file loads as far as the schema, which refuses the key.
    text = MINI + "extra: " + "[" * 31 + "]" * 31 + "\n"
    assert _deep(make_project, text) == [
        f"{H}:5:1 extra: unknown key 'extra' (remove it or check the spelling)"
    ]


# ================================================================ 4. unclosed quotes


def test_unclosed_quote_is_reported_where_the_text_starts(make_project) -> None:
    text = edit(MINI, "answer: A", 'answer: "A')
    assert _deep(make_project, text) == [
        f'{H}:4:13: the quoted text that starts here is never closed (add the closing " at the '
        "end of the text on line 4)"
    ]


def test_quote_closed_by_a_later_quote_is_reported_where_it_starts(make_project) -> None:
    # Line 28's quote is missing; the quote that opens line 30 closes it, and YAML only
    # stumbles after that, on line 30.
    text = edit(HANDOUT, "journal: Journal of Tests", "journal: 'Journal of Tests")
    text = edit(text, "year: 2024", "year: 2024\n    publisher: 'Tests Press'")
    line = text.splitlines().index("    journal: 'Journal of Tests") + 1
    assert _deep(make_project, text) == [
        f"{H}:{line}:14: the quoted text that starts here is only closed on line {line + 2} "
        f"(add the closing ' at the end of the text on line {line})"
    ]


# ================================================================ 5. impossible dates


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("2026-02-30", "February 2026 has no day 30"),
        ('"2026-02-30"', "February 2026 has no day 30"),
        ("2025-02-29", "February 2025 has no day 29"),
        ("2026-13-01", "there is no month 13"),
        ("2026-04-31 10:00:00", "April 2026 has no day 31"),
    ],
    ids=["plain", "quoted", "not-a-leap-year", "month", "with-time"],
)
def test_impossible_review_date_is_a_clear_error_at_its_line(
    make_project, value: str, why: str
) -> None:
    text = edit(HANDOUT, "reviewed_on: 2026-10-01", f"reviewed_on: {value}")
    shown = value.strip('"')
    assert _deep(make_project, text) == [
        f"{H}:7:16 review.reviewed_on: '{shown}' is not a real date: {why}"
    ]


def test_leap_day_is_a_real_date(make_project) -> None:
    text = edit(HANDOUT, "reviewed_on: 2026-10-01", "reviewed_on: 2028-02-29")
    project = load_project(make_project({H: text}))
    assert str(project.handouts[0].handout.review.reviewed_on) == "2028-02-29"


@pytest.mark.parametrize("command", ["check", "build"])
def test_impossible_date_via_cli_exits_1_not_internal_error(
    make_project, tmp_path: Path, command: str
) -> None:
    root = make_project({H: edit(HANDOUT, "reviewed_on: 2026-10-01", "reviewed_on: 2026-02-30")})
    extra = ["--out", str(tmp_path / "out"), "--jobs", "1"] if command == "build" else []
    ran = run_cli(command, "-C", str(root), *extra)
    assert ran.code == 1, ran
    assert "February 2026 has no day 30" in ran.stderr


# ================================================================ 6. unknown languages

LANG_PREFIX = "must be a language code such as en, es, zh, vi, ko, ar or ht"


def test_unknown_language_in_the_file(make_project) -> None:
    text = edit(HANDOUT, "language: en", "language: zz")
    assert _deep(make_project, text) == [
        f"{H}:2:11 language: {LANG_PREFIX}: 'zz' is not one that dates and language names can "
        "be printed in"
    ]


def test_unknown_language_in_the_file_name(make_project) -> None:
    name = "content/handouts/sample.zz.yaml"
    text = HANDOUT.replace("language: en\n", "")
    lines = problems(make_project({H: None, name: text}))
    assert lines == [
        f"{name}: the file name gives the language 'zz', which {LANG_PREFIX}: 'zz' is not one "
        "that dates and language names can be printed in (rename the file using lower-case "
        "words and dashes, or set `language:` in the file)"
    ]


def test_unknown_language_in_brand_languages_with_did_you_mean(make_project) -> None:
    root = make_project({B: BRAND + "languages: [en, sp]\n"})
    assert problems(root) == [
        f"{B}:12:17 languages[2]: must be a language code: 'sp' is not one; did you mean 'es' "
        "(Spanish)?"
    ]


def test_known_languages_and_regions_still_load(make_project) -> None:
    text = edit(HANDOUT, "language: en", "language: es-MX")
    files = {H: None, "content/handouts/sample.es-MX.yaml": text}
    files[B] = BRAND + "languages: [en, es-MX, vi, zh-Hant, ht, fil]\n"
    load_project(make_project(files))


def test_unknown_language_via_cli_check_is_an_error(make_project) -> None:
    root = make_project({H: edit(HANDOUT, "language: en", "language: zz")})
    ran = run_cli("check", "-C", str(root))
    assert ran.code == 1, ran
    assert f"{H}:2:11 language:" in ran.stderr


# ================================================================ 7. images


def _jpeg(width: int, height: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (width, height), 255).save(out, "JPEG", quality=10)
    return out.getvalue()


def _with_decoy_frame(jpeg: bytes, width: int, height: int) -> bytes:
    """``jpeg`` with a small frame header placed before its real one."""
    sof = jpeg.index(b"\xff\xc0")
    decoy = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return jpeg[:sof] + decoy + jpeg[sof:]


def test_jpeg_whose_first_frame_header_lies_is_checked_on_the_decoded_size(make_project) -> None:
    data = _with_decoy_frame(_jpeg(5200, 5000), 16, 16)
    assert len(data) < 2 * 1024 * 1024
    from PIL import Image

    assert Image.open(io.BytesIO(data)).size == (5200, 5000)  # what would be decoded
    root = make_project(
        {B: edit(BRAND, "logo: logo.svg", "logo: logo.jpg"), f"{BRAND_DIR}/logo.jpg": data}
    )
    assert problems(root) == [
        f"{B}:2:7 logo: the logo 'logo.jpg' has too many pixels (5200 x 5000; the limit is 25 "
        "million) (save it smaller: about 1500 pixels across is plenty)"
    ]


def test_truncated_png_logo_is_an_error_even_after_weasyprint_is_imported(make_project) -> None:
    import weasyprint  # noqa: F401  (it makes Pillow load cut-short images silently)

    whole = png_bytes(120, 120, noise=True)
    root = png_logo(make_project, whole[: len(whole) // 2])
    (line,) = problems(root)
    assert line.startswith(
        f"{B}:2:7 logo: the logo 'logo.png' cannot be decoded as a PNG image: the file is "
        "damaged or cut short ("
    )
    assert line.endswith("(export the logo again as a plain SVG or PNG)")


def test_whole_png_logo_loads(make_project) -> None:
    load_project(png_logo(make_project, png_bytes(120, 120, noise=True)))


@pytest.mark.parametrize("name", ["big.gif", "big.txt"], ids=["gif", "misnamed"])
def test_raster_bomb_a_template_asks_for_fails_its_document(
    make_project, tmp_path: Path, name: str
) -> None:
    # Not a logo, so never checked at load: the fetcher decodes-and-checks whatever Pillow
    # would decode (WeasyPrint hands Pillow every image that is not SVG, whatever its name).
    from PIL import Image

    gif = io.BytesIO()
    Image.new("P", (6000, 5000), 0).save(gif, "GIF")
    assert len(gif.getvalue()) < 200_000
    page = (
        '{% extends "base/page.html" %}{% block header %}'
        f'<img src="{name}" alt="x">{{% endblock %}}'
    )
    root = make_project(
        {"templates/leaflet/page.html": page, f"{BRAND_DIR}/{name}": gif.getvalue()}
    )
    out = tmp_path / "out"
    ran = run_cli("build", "-C", str(root), "--out", str(out), "--jobs", "1")
    assert ran.code == 1, ran
    assert "has too many pixels (6000 x 5000; the limit is 25 million)" in ran.stdout + ran.stderr
    assert not list(out.rglob("*.pdf"))


# ================================================================ 8. fonts

EVIL_FAMILY = "X;}body{background:red}"


def test_font_family_name_that_would_inject_css_is_refused(make_project) -> None:
    root = make_project({B: BRAND + f'font: "{EVIL_FAMILY}"\n'})
    (root / "fonts").mkdir()
    (root / f"fonts/{EVIL_FAMILY}-Regular.ttf").write_bytes(FONT.read_bytes())
    assert problems(root) == [
        f"{B}:12:7 font: must be a font family name made of letters, digits, spaces and "
        "dashes, like Atkinson Hyperlegible"
    ]


def test_font_file_with_an_unsafe_name_is_skipped_and_named_by_check(make_project) -> None:
    root = make_project()
    (root / "fonts").mkdir()
    (root / f"fonts/{EVIL_FAMILY}-Regular.ttf").write_bytes(FONT.read_bytes())
    report = run_checks(load_project(root))
    skipped = [f for f in report.findings if f.code == "glyphs.font-skipped"]
    assert [str(f.problem) for f in skipped] == [
        f"fonts/{EVIL_FAMILY}-Regular.ttf: this font file is not used: its family name "
        f"'{EVIL_FAMILY}' may only have letters, digits and spaces (name font files "
        "Family-Style.ttf, like AtkinsonHyperlegible-Regular.ttf)"
    ]
    assert skipped[0].severity == "warning"


def test_corrupt_font_file_is_a_clear_error_naming_the_file(make_project) -> None:
    root = make_project({B: BRAND + "font: Broken\n"})
    (root / "fonts").mkdir()
    (root / "fonts/Broken-Regular.ttf").write_bytes(b"not a font" * 50)
    ran = run_cli("check", "-C", str(root))
    assert ran.code == 1, ran
    assert "glyphs.font-unreadable" in ran.stdout
    assert (
        f"{B}:12:7 font: the font file fonts/Broken-Regular.ttf is damaged or not a font"
    ) in ran.stdout


# ================================================================ 9. control characters


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('title: "Stop\\0here"', "1:8 title: contains an invisible control character (U+0000 NUL)"),
        ('title: "Ring\\a"', "1:8 title: contains an invisible control character (U+0007 BEL)"),
        (
            'title: "\\e[31mRed"',
            "1:8 title: contains an invisible control character (U+001B ESC)",
        ),
        (
            'title: "Page\\fbreak"',
            "1:8 title: contains an invisible control character (U+000C form feed)",
        ),
        ('title: "CSI\\x9b"', "1:8 title: contains an invisible control character (U+009B)"),
        ("title: Raw\x1b[2Jclear", "1:11: contains an invisible control character (U+001B ESC)"),
    ],
    ids=["nul", "bel", "esc", "form-feed", "c1", "raw-esc"],
)
def test_control_characters_are_refused_at_line_and_column(
    make_project, line: str, expected: str
) -> None:
    (found,) = _deep(make_project, line + "\n" + MINI.split("\n", 1)[1])
    assert found.startswith(f"{H}:{expected} (delete it; ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("title: Pay \u202eKCABDNUFER", "1:12 title: contains a hidden text-direction control "),
        ("title: x \u2066y\u2069", "1:10 title: contains a hidden text-direction control "),
        (
            "title: Ze\u0301\u0302\u0303\u0304\u0305\u0306lgo",
            "1:9 title: has 6 marks stacked on one letter (at most 4 are allowed)",
        ),
    ],
    ids=["rlo", "isolate", "combining-flood"],
)
def test_direction_overrides_and_mark_floods_are_refused(
    make_project, text: str, expected: str
) -> None:
    (found,) = _deep(make_project, text + "\n" + MINI.split("\n", 1)[1])
    assert found.startswith(f"{H}:{expected}")


def test_control_characters_in_an_answer_brand_and_settings_are_refused(make_project) -> None:
    handout = edit(HANDOUT, "answer: Yes.", 'answer: "Yes.\\a"')
    brand = edit(BRAND, "name: Test Clinic", "name: Test\u202eClinic")
    settings = 'plain_language:\n  "util\\eize": use\n'
    lines = problems(make_project({H: handout, B: brand, "handouts.yaml": settings}))
    assert [line.split(" (")[0] for line in lines] == [
        "handouts.yaml:2:3 plain_language: contains an invisible control character",
        f"{H}:22:13 questions[2].answer: contains an invisible control character",
        f"{B}:1:11 name: contains a hidden text-direction control",
    ]


def test_ordinary_accents_tabs_and_line_breaks_still_load(make_project) -> None:
    handout = textwrap.dedent("""\
        title: "Café, niño, Tiếng Việt, Tiê\u0323\u0302ng, नमस्ते, ภาษาไทย, עִבְרִית"
        subtitle: "a\\tb"
        questions:
          - question: ¿Qué es?
            answer: |
              Primera línea.
              Segunda línea.
        """)
    project = load_project(make_project({H: handout}))
    assert project.handouts[0].handout.subtitle == "a\tb"


def test_problem_text_never_carries_terminal_escapes() -> None:
    problem = Problem("a\x1b[31m.yaml", "bad \x1b]0;title\x07 x\u202ey\nz", 1, 2, "k\x00", "h\x9b")
    shown = str(problem)
    assert shown == "a\\x1b[31m.yaml:1:2 k\\x00: bad \\x1b]0;title\\x07 x\\u202ey\\x0az (h\\x9b)"
    assert visible("é ñ \t") == "é ñ \\x09"


def test_file_name_with_an_escape_sequence_is_shown_visibly(make_project) -> None:
    name = "content/handouts/evil\x1b[2J.yaml"
    root = make_project({name: "title: [oops\n"})
    ran = run_cli("check", "-C", str(root))
    assert ran.code == 1, ran
    assert "\x1b" not in ran.stderr
    assert "content/handouts/evil\\x1b[2J.yaml:" in ran.stderr


# ================================================================ 10. template text in content


def test_template_text_in_an_answer_prints_as_written(make_project, tmp_path: Path) -> None:
    answer = "Two sums: {{ 7*7 }} and {{ 6*6 }}, then *this* and **that**."
    root = make_project({H: edit(HANDOUT, "answer: Yes.", f'answer: "{answer}"')})
    html = markup.to_html(answer)
    assert "<em>this</em>" in html and "<strong>that</strong>" in html
    out = tmp_path / "out"
    ran = run_cli("build", "-C", str(root), "--out", str(out), "--jobs", "1")
    assert ran.code == 0, ran
    (pdf,) = out.rglob("*.pdf")
    text = "".join(normalise(pdf_text(pdf.read_bytes())).split())
    assert "Twosums:{{7*7}}and{{6*6}},thenthisandthat." in text


@pytest.mark.parametrize(
    ("source", "html"),
    [
        ("{{ 7*7 }} and {{ 7*7 }}", "<p>{{ 7*7 }} and {{ 7*7 }}</p>"),
        ("{% if a*b %}x{% endif %} *y*", "<p>{% if a*b %}x{% endif %} <em>y</em></p>"),
        ("{# a*b #} c*d", "<p>{# a*b #} c*d</p>"),
        ("`{{ 7*7 }}` and *em*", "<p><code>{{ 7*7 }}</code> and <em>em</em></p>"),
        ("*{{ x }}* and **b**", "<p><em>{{ x }}</em> and <strong>b</strong></p>"),
        ("{{ 2*3\n}} *a*", "<p>{{ 2*3\n}} <em>a</em></p>"),
    ],
    ids=["two-spans", "statement", "comment", "code", "inside-emphasis", "no-line-crossing"],
)
def test_template_spans_in_markdown(source: str, html: str) -> None:
    assert markup.to_html(source).strip() == html


def test_many_unclosed_template_openers_stay_linear() -> None:
    # Each `{{` looks ahead a bounded distance only; this is one 400 KB line.
    text = "{{ *a* " * 60_000
    assert markup.to_html(text).count("<em>") == 60_000


# ================================================================ fuzz finds (regressions)


def test_an_empty_id_or_language_takes_the_file_name(make_project) -> None:
    # Found by tests/test_fuzz.py: `id:` left empty loaded as None and crashed the loader.
    handout = edit(HANDOUT, "id: sample", "id:").replace("language: en", "language: # later")
    brand = "id:\n" + BRAND
    project = load_project(make_project({H: handout, B: brand}))
    assert (project.handouts[0].id, project.handouts[0].language) == ("sample", "en")
    assert project.brands[0].id == "test"


def test_a_logo_name_too_long_for_the_file_system(make_project) -> None:
    # Found by tests/test_fuzz.py: a 1 MB logo name raised OSError (file name too long).
    name = "x" * 1_000_000
    (line,) = problems(make_project({B: edit(BRAND, "logo: logo.svg", f"logo: {name}")}))
    assert line.startswith(f"{B}:2:7 logo: the logo file '{'x' * 900}")
    assert "characters) …" in line and len(line) < 2500
    assert line.endswith("' does not exist (put it in content/brands/test/ or fix the name)")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("title: " + "9" * 5000, "1:8 title: this number is too long (put the value in quotes)"),
        ('title: "\\ud800"', "1:8 title: contains an invalid character (U+D800) (delete it)"),
    ],
    ids=["huge-int", "lone-surrogate"],
)
def test_values_found_by_the_fuzzer(make_project, line: str, message: str) -> None:
    # A 5,000-digit number crashed the loader (ValueError); a lone surrogate must never reach
    # a message printed to a UTF-8 terminal.
    assert _deep(make_project, line + "\n" + MINI.split("\n", 1)[1]) == [f"{H}:{message}"]
