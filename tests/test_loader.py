"""Loading a project: every kind of bad input gives one exact, located, plain-language line.

Each problem prints as ``path:line:col key.path: message (hint)``, with ``path`` relative to
the project root and list items counted from 1 (``questions[2]`` is the second question).
"""

from __future__ import annotations

import io
import os
import struct
import textwrap
import zlib
from pathlib import Path

import pytest
import yaml

from handouts.errors import HandoutsError
from handouts.project import load_project
from handouts.yamlio import MAX_BYTES

from conftest import BRAND, HANDOUT, run_cli

H = "content/handouts/sample.yaml"
B = "content/brands/test/brand.yaml"
LOGO = "content/brands/test/logo.svg"

# A tiny valid handout, so that line numbers in the expected messages are easy to check.
MINI = textwrap.dedent("""\
    title: T
    questions:
      - question: Q
        answer: A
    """)

NO_LINKS = "is not allowed: use an https:// address (or mailto:, tel:)"
QUOTE_HINT = (
    "(check the indentation, and put text that contains ': ' or starts with a symbol in quotes)"
)
LOGO_HINT = "(export the logo again as a plain SVG or PNG)"
OUTSIDE = "(put the logo file next to brand.yaml and give just its name)"
ALIAS = "anchors and aliases (`&name`, `*name`) are not allowed"
ALIAS_HINT = "(write each value out in full)"


def edit(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` replaced by ``new``; fails if ``old`` is not there."""
    assert old in text, f"{old!r} is not in the text"
    return text.replace(old, new)


def problems(root: Path) -> list[str]:
    """The problem lines that loading ``root`` reports (and checks they make up the error)."""
    with pytest.raises(HandoutsError) as excinfo:
        load_project(root)
    lines = [str(p) for p in excinfo.value.problems]
    assert lines, "a HandoutsError from loading must carry located problems"
    assert str(excinfo.value) == "\n".join(lines)
    return lines


def png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
    )


# ---------------------------------------------------------------- what loads


def test_valid_project_loads_with_defaults(make_project):
    project = load_project(make_project())

    (loaded,) = project.handouts
    assert (loaded.id, loaded.language, loaded.display) == ("sample", "en", H)
    assert loaded.handout.title == "Sample Handout"
    assert loaded.handout.questions[0].sources == ["paper"]
    assert loaded.handout.references[0].link == "https://doi.org/10.1000/xyz123"
    (brand,) = project.brands
    assert brand.id == "test"  # from the folder name
    assert brand.display == B
    assert brand.logo == brand.folder / "logo.svg"
    assert brand.brand.font == "Atkinson Hyperlegible"
    assert brand.brand.handouts == "all"
    assert brand.brand.languages == ["en"]
    assert brand.brand.layouts == ["leaflet"]
    assert "leaflet" in project.layouts


def test_id_and_language_default_from_the_file_name(make_project):
    root = make_project(
        {
            H: None,
            "content/handouts/aftercare.es.yaml": MINI,
            "content/handouts/aftercare.yaml": MINI,
        }
    )

    project = load_project(root)

    found = sorted((h.id, h.language, h.display) for h in project.handouts)
    assert found == [
        ("aftercare", "en", "content/handouts/aftercare.yaml"),
        ("aftercare", "es", "content/handouts/aftercare.es.yaml"),
    ]
    assert project.handout_versions("aftercare").keys() == {"en", "es"}


def test_template_syntax_in_content_is_plain_text(make_project):
    text = edit(HANDOUT, "title: Sample Handout", 'title: "{{ 7*7 }}"')
    text = edit(text, "answer: Yes.", 'answer: "{{ 7*7 }} {% if true %}x{% endif %}"')

    project = load_project(make_project({H: text}))

    handout = project.handouts[0].handout
    assert handout.title == "{{ 7*7 }}"
    assert handout.questions[1].answer == "{{ 7*7 }} {% if true %}x{% endif %}"


def test_a_file_of_exactly_one_mib_loads(make_project):
    text = MINI + "#" * (MAX_BYTES - len(MINI) - 1) + "\n"
    assert len(text.encode()) == MAX_BYTES

    load_project(make_project({H: text}))


# ---------------------------------------------------------------- YAML layer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "title: [unclosed\nquestions:\n",
            f"{H}:2:10: this is not valid YAML: expected ',' or ']', but got ':' {QUOTE_HINT}",
        ),
        (
            "title: Sample\n  questions: x\n",
            f"{H}:2:12: this is not valid YAML: mapping values are not allowed here {QUOTE_HINT}",
        ),
    ],
    ids=["unclosed-bracket", "bad-indent"],
)
def test_yaml_syntax_error(make_project, text, expected):
    assert problems(make_project({H: text})) == [expected]


@pytest.mark.parametrize("text", ["", "# only\n# comments\n"], ids=["empty", "comments-only"])
def test_empty_file(make_project, text):
    assert problems(make_project({H: text})) == [
        f"{H}:1:1: the file is empty (fill it in, or delete it; `handouts new handout ID` "
        "writes a starter file)"
    ]


def test_file_that_is_not_a_mapping(make_project):
    assert problems(make_project({H: "- a\n- b\n"})) == [
        f"{H}:1:1: the file must be a list of `key: value` lines "
        "(start with a line such as `title: ...`)"
    ]


def test_file_that_is_not_utf8(make_project):
    root = make_project({H: b"title: T\nsubtitle: caf\xe9\nquestions: []\n"})
    assert problems(root) == [
        f"{H}:2: the file is not UTF-8 text (save it as UTF-8 in your editor)"
    ]


def test_file_over_one_mib(make_project):
    text = MINI + "#" * (MAX_BYTES - len(MINI)) + "\n"
    assert len(text.encode()) == MAX_BYTES + 1

    assert problems(make_project({H: text})) == [
        f"{H}: the file is too large (1,048,577 bytes; the limit is 1 MB) "
        "(split it into several handouts)"
    ]


def test_two_documents_in_one_file(make_project):
    assert problems(make_project({H: MINI + "---\n" + MINI})) == [
        f"{H}:5:1: the file holds more than one YAML document (remove the `---` line)"
    ]


def test_leading_document_marker_is_fine(make_project):
    load_project(make_project({H: "---\n" + MINI}))


def test_duplicate_key_gives_both_lines(make_project):
    text = edit(HANDOUT, "subtitle: Questions and answers", "subtitle: S\ntitle: Again")
    assert problems(make_project({H: text})) == [
        f"{H}:5:1 title: duplicate key 'title' (first given on line 3) (keep only one of them)"
    ]


def test_duplicate_nested_key(make_project):
    text = edit(MINI, "    answer: A\n", "    answer: A\n    answer: B\n")
    assert problems(make_project({H: text})) == [
        f"{H}:5:5 questions[1].answer: duplicate key 'answer' (first given on line 4) "
        "(keep only one of them)"
    ]


def test_key_that_is_not_a_word(make_project):
    assert problems(make_project({H: "1: x\n" + MINI})) == [
        f"{H}:1:1: keys must be plain words "
        "(write the key as a name followed by a colon, like `title:`)"
    ]


def test_alias_chain_is_refused(make_project):
    text = "a: &a [x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    assert problems(make_project({H: text})) == [
        f"{H}:1:4: {ALIAS} (6 found in this file) {ALIAS_HINT}"
    ]


def test_alias_bomb_is_refused_without_expanding_it(make_project, monkeypatch):
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for parent, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{parent}'] * 9)}]")
    root = make_project({H: "\n".join(lines) + "\n"})

    compose = yaml.compose

    def must_not_compose(text, *args, **kwargs):
        assert "&a" not in text, "the alias bomb reached the YAML composer"
        return compose(text, *args, **kwargs)

    monkeypatch.setattr(yaml, "compose", must_not_compose)
    found = problems(root)

    # Every anchor and alias is counted, none expanded, and reported once.
    assert found == [f"{H}:1:4: {ALIAS} ({1 + 8 * (1 + 9)} found in this file) {ALIAS_HINT}"]


def test_python_tag_on_a_value_is_refused_and_not_run(make_project, tmp_path):
    marker = tmp_path / "ran"
    text = edit(MINI, "title: T", f"title: !!python/object/apply:os.system touch {marker}")

    assert problems(make_project({H: text})) == [
        f"{H}:1:8 title: YAML tags such as `!!python/object/apply:os.system` are not allowed "
        "(remove the `!!...` part)"
    ]
    assert not marker.exists()


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("title: T", "title: !!python/object/apply:os.system [touch {marker}]", f"{H}:1:8 title"),
        (
            "questions:",
            "review: !!python/object/apply:os.system {{version: 1, reviewed_on: 2026-01-01}}\n"
            "questions:",
            f"{H}:2:9 review",
        ),
    ],
    ids=["on-a-list", "on-a-mapping"],
)
def test_python_tag_on_a_list_or_mapping_is_refused(make_project, tmp_path, old, new, where):
    marker = tmp_path / "ran"
    text = edit(MINI, old, new.format(marker=marker))

    with pytest.raises(HandoutsError) as excinfo:
        load_project(make_project({H: text}))

    assert not marker.exists()
    (line,) = str(excinfo.value).splitlines()
    assert line.startswith(where + ": ")
    assert "!!python/object/apply:os.system" in line
    assert "not allowed" in line


# ---------------------------------------------------------------- handout schema


def test_unknown_key_with_did_you_mean(make_project):
    text = edit(HANDOUT, "title: Sample Handout", "titel: Sample Handout")
    assert problems(make_project({H: text})) == [
        f"{H}:3:1 titel: unknown key 'titel' (did you mean 'title'?)",
    ]


def test_unknown_nested_key_with_did_you_mean(make_project):
    text = edit(HANDOUT, "    sources: [paper]", "    sorces: [paper]")
    assert problems(make_project({H: text})) == [
        f"{H}:20:5 questions[1].sorces: unknown key 'sorces' (did you mean 'sources'?)"
    ]


def test_unknown_key_without_a_close_match(make_project):
    text = edit(MINI, "    answer: A\n", "    answer: A\n    colour: blue\n")
    assert problems(make_project({H: text})) == [
        f"{H}:5:5 questions[1].colour: unknown key 'colour' (remove it or check the spelling)"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "title: T\nquestions: hello\n",
            f"{H}:2:12 questions: must be a list (one `- item` per line)",
        ),
        ("title: T\nquestions:\n", f"{H}:2:11 questions: must be a list (one `- item` per line)"),
        ("title: T\nquestions: []\n", f"{H}:2:12 questions: must not be empty"),
        (
            MINI + "review: yes\n",
            f"{H}:5:9 review: must be a group of `key: value` lines",
        ),
        (
            MINI + "review:\n  version: 1\n  reviewed_on: soon\n",
            f"{H}:7:16 review.reviewed_on: must be a date like 2026-11-01",
        ),
        (
            MINI + "references:\n  - id: Paper One\n    title: P\n",
            f"{H}:6:9 references[1].id: must be lower-case letters, digits and dashes, "
            "like `exosome-therapy`",
        ),
    ],
    ids=["list-is-text", "list-is-empty-value", "list-is-empty", "group-is-bool", "date", "slug"],
)
def test_wrong_type(make_project, text, expected):
    assert problems(make_project({H: text})) == [expected]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "title: T",
            "title: no",
            f"{H}:1:8 title: must be text, but YAML read `no` as a yes/no value "
            '(write it in quotes: "no")',
        ),
        (
            "title: T",
            "title: 0123",
            f"{H}:1:8 title: must be text, but YAML read `0123` as a number "
            '(write it in quotes: "0123")',
        ),
        (
            "title: T",
            "title: T\nsubtitle: 1.10",
            f"{H}:2:11 subtitle: must be text, but YAML read `1.10` as a number "
            '(write it in quotes: "1.10")',
        ),
        (
            "title: T",
            "title: T\nlanguage: no",
            f"{H}:2:11 language: must be text, but YAML read `no` as a yes/no value "
            '(write it in quotes: "no")',
        ),
        (
            "title: T",
            "title: 2026-01-01",
            f"{H}:1:8 title: must be text, but YAML read `2026-01-01` as a date "
            '(write it in quotes: "2026-01-01")',
        ),
        (
            "answer: A",
            "answer: yes",
            f"{H}:4:13 questions[1].answer: must be text, but YAML read `yes` as a yes/no value "
            '(write it in quotes: "yes")',
        ),
    ],
    ids=["title-no", "title-0123", "subtitle-1.10", "language-no", "title-date", "answer-yes"],
)
def test_yaml_11_surprises_in_text_fields(make_project, old, new, expected):
    assert problems(make_project({H: edit(MINI, old, new)})) == [expected]


def test_quoted_yaml_11_lookalikes_are_text(make_project):
    text = edit(MINI, "title: T", 'title: "no"\nsubtitle: "1.10"')
    handout = load_project(make_project({H: text})).handouts[0].handout
    assert (handout.title, handout.subtitle) == ("no", "1.10")


def test_empty_text_value_says_it_is_empty(make_project):
    (line,) = problems(make_project({H: edit(MINI, "title: T", "title:")}))
    assert line.startswith(f"{H}:1:7 title: ")
    assert "empty" in line
    assert "a empty" not in line
    assert 'write it in quotes: ""' not in line


def test_missing_title(make_project):
    text = edit(HANDOUT, "title: Sample Handout\n", "")
    assert problems(make_project({H: text})) == [
        f"{H}:1:1: 'title' is missing (add the line `title: ...`)"
    ]


def test_missing_key_in_second_question(make_project):
    text = edit(HANDOUT, "    answer: Yes.\n", "")
    assert problems(make_project({H: text})) == [
        f"{H}:21:5 questions[2]: 'answer' is missing (add the line `answer: ...`)"
    ]


def test_language_in_file_must_match_file_name(make_project):
    root = make_project({H: None, "content/handouts/aftercare.es.yaml": "language: en\n" + MINI})
    assert problems(root) == [
        "content/handouts/aftercare.es.yaml:1:11 language: the file name says 'es' but the "
        "file says 'en' (make them agree)"
    ]


def test_missing_reference_ids_in_sources(make_project):
    text = edit(HANDOUT, "sources: [paper]", "sources: [papr, other]")
    assert problems(make_project({H: text})) == [
        f"{H}:20:15 questions[1].sources[1]: no reference has the id 'papr' "
        "(did you mean 'paper'?)",
        f"{H}:20:21 questions[1].sources[2]: no reference has the id 'other' "
        "(add it under `references:`)",
    ]


def test_missing_reference_id_in_notice_sources(make_project):
    text = edit(
        HANDOUT, "    text: This is a **test** notice.", "    text: N\n    sources: [papers]"
    )
    assert problems(make_project({H: text})) == [
        f"{H}:13:15 notices[1].sources[1]: no reference has the id 'papers' (did you mean 'paper'?)"
    ]


def test_duplicate_reference_ids(make_project):
    text = edit(HANDOUT, "closing:", "  - id: paper\n    title: Another paper\nclosing:")
    assert problems(make_project({H: text})) == [
        f"{H}:30:9 references[2].id: reference id 'paper' is used twice "
        "(give each reference its own id)"
    ]


def test_duplicate_handout_id_and_language(make_project):
    root = make_project({"content/handouts/other.yaml": HANDOUT})
    assert problems(root) == [
        f"{H}:1:1 id: handout 'sample' in language 'en' is also defined in "
        "content/handouts/other.yaml (give one of them another id or language)"
    ]


# ---------------------------------------------------------------- links and images in text


def test_javascript_link_reported_on_its_line_inside_a_block(make_project):
    # `answer: |` is on line 15; its text starts on line 16 and `- two` is line 19.
    text = edit(HANDOUT, "      - two\n", "      - two [x](javascript:alert(1))\n")
    assert problems(make_project({H: text})) == [
        f"{H}:19 questions[1].answer: the link 'javascript:alert(1)' {NO_LINKS}"
    ]


def test_javascript_link_after_blank_lines_in_a_keep_block(make_project):
    text = edit(MINI, "answer: A", "answer: |+\n      para\n\n      [x](JavaScript:alert(1))")
    assert problems(make_project({H: text})) == [
        f"{H}:7 questions[1].answer: the link 'JavaScript:alert(1)' {NO_LINKS}"
    ]


def test_link_on_second_line_of_a_paragraph(make_project):
    text = edit(
        MINI,
        "answer: A",
        "answer: |\n      First line of a paragraph\n      then [x](javascript:alert(1))",
    )
    assert problems(make_project({H: text})) == [
        f"{H}:6 questions[1].answer: the link 'javascript:alert(1)' {NO_LINKS}"
    ]


def test_image_in_answer(make_project):
    text = edit(HANDOUT, "answer: Yes.", "answer: See ![x](y.png)")
    assert problems(make_project({H: text})) == [
        f"{H}:22 questions[2].answer: images are not allowed in handout text "
        "(remove the ![...](...) part; the brand logo is set in brand.yaml)"
    ]


def test_answer_starting_with_an_image_reads_as_a_yaml_tag(make_project):
    # An unquoted value that starts with `!` is a YAML tag; quoting it is the right fix.
    text = edit(HANDOUT, "answer: Yes.", "answer: ![x](y.png)")
    assert problems(make_project({H: text})) == [
        f'{H}:22:13 questions[2].answer: text that starts with `!` must be in quotes (write "!...")'
    ]


def test_data_and_file_links(make_project):
    text = edit(HANDOUT, "answer: Yes.", 'answer: "[a](data:text/html,hi) and [b](file:///etc/x)"')
    text = edit(text, "text: Call us.", "text: |\n    Call us.\n    [c](file:///tmp/x)")
    assert problems(make_project({H: text})) == [
        f"{H}:22 questions[2].answer: the link 'data:text/html,hi' {NO_LINKS}",
        f"{H}:22 questions[2].answer: the link 'file:///etc/x' {NO_LINKS}",
        f"{H}:34 closing.text: the link 'file:///tmp/x' {NO_LINKS}",
    ]


def test_link_without_scheme_in_notice(make_project):
    text = edit(
        HANDOUT, "text: This is a **test** notice.", "text: See [our site](clinic.example)."
    )
    assert problems(make_project({H: text})) == [
        f"{H}:12 notices[1].text: the link 'clinic.example' {NO_LINKS}"
    ]


def test_safe_links_load(make_project):
    text = edit(
        HANDOUT,
        "answer: Yes.",
        "answer: Call [us](tel:+15550100000), [mail](mailto:a@b.example) or "
        "[visit](https://clinic.example/faq).",
    )
    load_project(make_project({H: text}))


def test_reference_url_with_javascript(make_project):
    text = edit(HANDOUT, "doi: 10.1000/xyz123", "url: javascript:alert(1)")
    assert problems(make_project({H: text})) == [
        f"{H}:29:10 references[1].url: 'javascript:alert(1)' is not allowed: use an https:// "
        "address"
    ]


def test_reference_url_with_user_name(make_project):
    text = edit(HANDOUT, "doi: 10.1000/xyz123", "url: https://user:pw@evil.example/")
    assert problems(make_project({H: text})) == [
        f"{H}:29:10 references[1].url: 'https://user:pw@evil.example/' must not contain a "
        "user name or password"
    ]


# ---------------------------------------------------------------- brand


@pytest.mark.parametrize("logo", ["../../shared/logo.svg", "/etc/hostname"], ids=["dotdot", "abs"])
def test_logo_outside_the_brand_folder(make_project, logo):
    root = make_project({B: edit(BRAND, "logo: logo.svg", f"logo: {logo}")})
    (root / "content/shared").mkdir(parents=True)
    (root / "content/shared/logo.svg").write_text("<svg/>")
    assert problems(root) == [
        f"{B}:2:7 logo: the logo '{logo}' is outside the brand's folder {OUTSIDE}"
    ]


def test_logo_symlink_out_of_the_brand_folder(make_project, tmp_path):
    outside = tmp_path / "secret.svg"
    outside.write_text("<svg/>")
    root = make_project({B: edit(BRAND, "logo: logo.svg", "logo: link.svg")})
    os.symlink(outside, root / "content/brands/test/link.svg")
    assert problems(root) == [
        f"{B}:2:7 logo: the logo 'link.svg' is outside the brand's folder {OUTSIDE}"
    ]


def test_missing_logo_file(make_project, monkeypatch):
    root = make_project({LOGO: None})
    monkeypatch.chdir(root)  # the hint names the folder relative to the current directory
    assert problems(root) == [
        f"{B}:2:7 logo: the logo file 'logo.svg' does not exist "
        "(put it in content/brands/test/ or fix the name)"
    ]


@pytest.mark.parametrize(
    ("svg", "why"),
    [
        (
            '<svg xmlns="http://www.w3.org/2000/svg"><image href="http://x.example/y.png"/></svg>',
            "must not contain <image>, <use>, <script> or <foreignObject> elements",
        ),
        (
            '<?xml version="1.0"?>\n<!DOCTYPE svg [<!ENTITY x "y">]>\n'
            '<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>',
            "must not contain a DOCTYPE",
        ),
        (
            '<svg xmlns="http://www.w3.org/2000/svg"><a xlink:href="https://x.example"/></svg>',
            "must not link to other files",
        ),
        (
            '<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(http://x.example)"/>'
            "</svg>",
            "must not load other files through url()",
        ),
        ("hello", "is not an SVG image"),
    ],
    ids=["image", "doctype", "xlink", "css-url", "not-svg"],
)
def test_unsafe_svg_logo(make_project, svg, why):
    assert problems(make_project({LOGO: svg})) == [
        f"{B}:2:7 logo: the logo 'logo.svg' {why} {LOGO_HINT}"
    ]


def test_png_logo_with_too_many_pixels(make_project):
    root = make_project(
        {
            B: edit(BRAND, "logo: logo.svg", "logo: logo.png"),
            "content/brands/test/logo.png": png_header(40000, 40000),
        }
    )
    assert problems(root) == [
        f"{B}:2:7 logo: the logo 'logo.png' has too many pixels (40000 x 40000; the limit is 25 "
        "million) (save it smaller: about 1500 pixels across is plenty)"
    ]


def test_small_png_logo_loads(make_project):
    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (400, 200), "#0B5E6B").save(png, "PNG")  # a whole image: it is decoded
    root = make_project(
        {
            B: edit(BRAND, "logo: logo.svg", "logo: logo.png"),
            "content/brands/test/logo.png": png.getvalue(),
        }
    )
    assert load_project(root).brands[0].logo.name == "logo.png"


def test_logo_of_another_type(make_project):
    root = make_project(
        {
            B: edit(BRAND, "logo: logo.svg", "logo: logo.gif"),
            "content/brands/test/logo.gif": b"GIF89a",
        }
    )
    assert problems(root) == [
        f"{B}:2:7 logo: the logo 'logo.gif' must be an SVG, PNG or JPEG file {LOGO_HINT}"
    ]


@pytest.mark.parametrize(
    "value", ["red", '"red; background:url(http://x)"', '"#0B5E6"'], ids=["name", "css", "short"]
)
def test_bad_colour(make_project, value):
    root = make_project({B: edit(BRAND, 'primary: "#0B5E6B"', f"primary: {value}")})
    assert problems(root) == [
        f'{B}:4:12 colors.primary: must be a colour written as "#RRGGBB", like "#0B5E6B"'
    ]


def test_colour_is_normalised_to_upper_case(make_project):
    root = make_project({B: edit(BRAND, 'primary: "#0B5E6B"', 'primary: "#0b5e6b"')})
    assert load_project(root).brands[0].brand.colors.primary == "#0B5E6B"


def test_unquoted_colour_explains_the_comment(make_project):
    root = make_project({B: edit(BRAND, 'primary: "#0B5E6B"', "primary: #0B5E6B")})
    (line,) = problems(root)
    assert line.startswith(f"{B}:4:11 colors.primary: ")
    assert "a empty" not in line
    assert 'write it in quotes: ""' not in line
    assert '"#0B5E6B"' in line


def test_unknown_brand_key_with_did_you_mean(make_project):
    root = make_project({B: BRAND + "colour: blue\n"})
    assert problems(root) == [f"{B}:12:1 colour: unknown key 'colour' (did you mean 'colors'?)"]


def test_unknown_layout_with_did_you_mean(make_project):
    root = make_project({B: BRAND + "layouts: [leaflet, leaflett]\n"})
    assert problems(root) == [
        f"{B}:12:20 layouts[2]: unknown layout 'leaflett' (did you mean 'leaflet'?)"
    ]


@pytest.mark.parametrize(
    ("font", "hint"),
    [
        ("Comic Sans", "available: Atkinson Hyperlegible"),
        ("Atkinson Hyperlegibl", "did you mean 'Atkinson Hyperlegible'?"),
    ],
    ids=["no-match", "close"],
)
def test_unknown_font(make_project, font, hint):
    root = make_project({B: BRAND + f"font: {font}\n"})
    assert problems(root) == [f"{B}:12:7 font: font '{font}' is not in fonts/ ({hint})"]


def test_brand_names_unknown_handout(make_project):
    root = make_project({B: BRAND + "handouts: [nope]\n"})
    assert problems(root) == [
        f"{B}:12:12 handouts[1]: no handout has the id 'nope' (check content/handouts/)"
    ]


def test_brand_names_misspelt_handout(make_project):
    root = make_project({B: BRAND + "handouts: [sample, sampel]\n"})
    assert problems(root) == [
        f"{B}:12:20 handouts[2]: no handout has the id 'sampel' (did you mean 'sample'?)"
    ]


def test_brand_handouts_of_wrong_kind_mentions_the_list(make_project):
    (line,) = problems(make_project({B: BRAND + "handouts: some\n"}))
    assert line.startswith(f"{B}:12:11 handouts: ")
    assert "list" in line


def test_unknown_paper(make_project):
    root = make_project({B: edit(BRAND, "paper: letter", "paper: legal")})
    assert problems(root) == [f"{B}:6:8 paper: must be one of: 'letter' or 'a4'"]


def test_missing_brand_name(make_project):
    root = make_project({B: edit(BRAND, "name: Test Clinic\n", "")})
    assert problems(root) == [f"{B}:1:1: 'name' is missing (add the line `name: ...`)"]


# ---------------------------------------------------------------- several problems at once


def test_several_problems_in_one_file_are_reported_together_in_order(make_project):
    text = textwrap.dedent("""\
        titel: x
        subtitle: no
        questions:
          - question: Q
            answer: A
            extra: 1
          - answer: B
        """)
    found = problems(make_project({H: text}))
    assert found == [
        f"{H}:1:1 titel: unknown key 'titel' (did you mean 'title'?)",
        f"{H}:2:11 subtitle: must be text, but YAML read `no` as a yes/no value "
        '(write it in quotes: "no")',
        f"{H}:6:5 questions[1].extra: unknown key 'extra' (remove it or check the spelling)",
        f"{H}:7:5 questions[2]: 'question' is missing (add the line `question: ...`)",
    ]
    assert len(found) == 4


def test_several_link_problems_in_one_file_are_reported_together(make_project):
    text = edit(HANDOUT, "sources: [paper]", "sources: [nope]")
    text = edit(text, "answer: Yes.", "answer: See ![x](y.png)")
    assert problems(make_project({H: text})) == [
        f"{H}:20:15 questions[1].sources[1]: no reference has the id 'nope' "
        "(add it under `references:`)",
        f"{H}:22 questions[2].answer: images are not allowed in handout text "
        "(remove the ![...](...) part; the brand logo is set in brand.yaml)",
    ]


def test_problems_in_several_files_are_reported_together(make_project):
    root = make_project(
        {
            H: "title: T\nquestions: hello\n",
            B: edit(BRAND, "paper: letter", "paper: legal"),
            "content/handouts/broken.yaml": "title: [\n",
        }
    )
    assert problems(root) == [
        "content/handouts/broken.yaml:2:1: this is not valid YAML: expected the node content, "
        f"but found '<stream end>' {QUOTE_HINT}",
        f"{H}:2:12 questions: must be a list (one `- item` per line)",
        f"{B}:6:8 paper: must be one of: 'letter' or 'a4'",
    ]


# ---------------------------------------------------------------- the command line


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {H: edit(HANDOUT, "title: Sample Handout", "titel: Sample Handout")},
            [
                f"{H}:3:1 titel: unknown key 'titel' (did you mean 'title'?)",
            ],
        ),
        (
            {H: "title: [unclosed\nquestions:\n"},
            [f"{H}:2:10: this is not valid YAML: expected ',' or ']', but got ':' {QUOTE_HINT}"],
        ),
        (
            {B: BRAND + "layouts: [leaflett]\n"},
            [f"{B}:12:11 layouts[1]: unknown layout 'leaflett' (did you mean 'leaflet'?)"],
        ),
    ],
    ids=["schema", "syntax", "brand"],
)
def test_cli_build_reports_problems_and_exits_1(make_project, files, expected):
    root = make_project(files)

    ran = run_cli("build", "-C", str(root))

    assert ran.code == 1, ran
    # Every problem first, then the documents that file stopped, then the count.
    assert ran.stderr.startswith("".join(f"error: {line}\n" for line in expected))
    assert "has errors (see above)" in ran.stderr
    assert "0 built, 0 skipped, 1 failed" in ran.stderr
    assert ran.stdout == ""
    assert "Traceback" not in ran.stderr + ran.stdout
    assert not list((root / "output").rglob("*.pdf"))


def test_a_bad_id_from_the_file_name_is_blamed_on_the_name(make_project):
    root = make_project({H: None, "content/handouts/Flu_Shots.yaml": MINI})
    assert problems(root) == [
        "content/handouts/Flu_Shots.yaml: the file name gives the id 'Flu_Shots', which must be "
        "lower-case letters, digits and dashes, like `exosome-therapy` (rename the file using "
        "lower-case words and dashes, or set `id:` in the file)"
    ]
