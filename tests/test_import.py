"""`handouts import`: the seed FAQ and every source format into a draft handout, hostile HTML,
and the web page (`render_web_page`) back out and in again.

Fixtures are in tests/fixtures/import/: a copy of the seed FAQ and its references file (the
project's own example content), and HTML and Markdown pages written for these tests from the
seed's text. The 5 MB page and the .docx files are made here. The web page's axe-core check
is in test_web_page_browser.py, with the other browser tests.
"""

from __future__ import annotations

import html as htmllib
import json
import os
import re
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile
from pathlib import Path

import html5lib
import lxml.html
import pytest

from handouts import api, markup
from handouts.errors import HandoutsError
from handouts.importers import html as html_reader
from handouts.importers import import_file, mdtext, write_result
from handouts.importers.draft import Draft, DraftQuestion
from handouts.importers.writer import to_yaml
from handouts.models import Handout, parse
from handouts.webpage import render_web_page
from handouts.yamlio import load_yaml

from conftest import REPO, decode_qr_codes, normalise, pdf_text, run_cli

FIXTURES = Path(__file__).parent / "fixtures" / "import"
SEED = FIXTURES / "exosome-therapy-faq.txt"
REFERENCES = FIXTURES / "references.yaml"
CONFIRMED_DOIS = {"10.1111/jocd.16149", "10.1186/s12964-022-00959-4", "10.21037/sci-2020-037"}


def _shared_seed() -> Path | None:
    """The original seed folder (../shared/seed beside the repository), when it is there."""
    for parent in (REPO.parent, REPO.parent.parent):
        if (parent / "shared" / "seed" / "exosome-therapy-faq.txt").is_file():
            return parent / "shared" / "seed"
    return None


def _visible_text(rendered: str) -> str:
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", rendered))


def _seed_parts() -> dict:
    """The seed read independently of the importer: title, notice, questions with the words
    of their answers (article lines apart), article titles and the closing question."""
    lines = [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines()]
    content = [line for line in lines if line]
    title, notice, rest = content[0], content[1], content[2:]
    questions: list[tuple[str, list[str]]] = []
    articles = []
    for line in rest:
        if line.endswith("?"):
            questions.append((line, []))
        elif line.endswith("(Read Here)"):
            articles.append(line.lstrip("•").removesuffix("(Read Here)").strip())
        else:
            questions[-1][1].extend(line.split())
    *asked, (closing, after) = questions
    assert not after
    return {
        "title": title,
        "notice": notice,
        "questions": asked,
        "articles": articles,
        "closing": closing,
    }


# ---------------------------------------------------------------- the seed


def test_the_fixture_is_the_shared_seed() -> None:
    shared = _shared_seed()
    if shared is None:
        pytest.skip("../shared/seed is not beside this checkout")
    assert SEED.read_bytes() == (shared / "exosome-therapy-faq.txt").read_bytes()
    assert REFERENCES.read_bytes() == (shared / "references.yaml").read_bytes()


def test_the_seed_imports_faithfully() -> None:
    seed = _seed_parts()
    result = import_file(SEED)
    data = result.data
    assert len(seed["questions"]) == 7
    assert [q["question"] for q in data["questions"]] == [q for q, _ in seed["questions"]]
    for (_, words), imported in zip(seed["questions"], data["questions"], strict=True):
        assert imported["answer"].split() == words
    assert f"{data['title']} {data['subtitle']}" == seed["title"]
    assert data["notices"] == [{"kind": "warning", "text": seed["notice"]}]
    assert [r["title"] for r in data["references"]] == seed["articles"]
    assert data["questions"][4]["sources"] == [r["id"] for r in data["references"]]
    assert data["closing"] == {"heading": seed["closing"]}
    # Without a references file nothing is linked, and each article says so.
    assert all(set(r) == {"id", "title"} for r in data["references"])
    unlinked = [g for g in result.guesses if g.key.startswith("references")]
    assert len(unlinked) == 4 and all("no link" in g.message for g in unlinked)
    # Every question was found by its question mark alone: each is marked.
    marked = [g.key for g in result.guesses if "question mark" in g.message]
    assert marked == [f"questions[{i}].question" for i in range(1, 8)]


def test_references_file_fills_the_three_confirmed_dois_and_nothing_else() -> None:
    result = import_file(SEED, references=REFERENCES)
    refs = result.data["references"]
    assert {r["doi"] for r in refs if "doi" in r} == CONFIRMED_DOIS
    last = refs[3]
    assert last["title"] == "Exosomes: Current use and future applications"
    assert not {"doi", "pmid", "url"} & set(last)
    assert refs[0]["pmid"] == "38226413" and refs[1]["authors"] == "Rezaie J, Feghhi M, Etemadi T"
    # Its # CHECK: comment sits right above it, and the guess points at its line.
    lines = result.yaml.splitlines()
    at = lines.index("  - id: exosomes-current-use-future")
    above = at
    while lines[above - 1].lstrip().startswith("#"):
        above -= 1
    comment = " ".join(line.strip(" #") for line in lines[above:at])
    assert lines[above].strip().startswith("# CHECK: no link")
    assert "references.yaml:28" in comment
    guess = next(g for g in result.guesses if g.key == "references[4]")
    assert guess.line == at + 1
    assert [g.key for g in result.guesses if g.key.startswith("references")] == ["references[4]"]


def test_the_yaml_is_readable_and_loads_through_the_strict_loader(tmp_path: Path) -> None:
    result = import_file(SEED, references=REFERENCES)
    text = result.yaml
    assert text.startswith("# Imported by `handouts import` from ")
    assert "reviewer must approve" in text
    assert text.count("    answer: |\n") == 7  # every answer a block scalar
    assert "\t" not in text and all(len(line) < 2000 for line in text.splitlines())
    path = tmp_path / "exosome-therapy.yaml"
    path.write_text(text, encoding="utf-8")
    handout = parse(Handout, load_yaml(path))
    assert handout.model_dump(exclude_defaults=True, mode="json") == result.data


def test_cli_import_writes_lists_guesses_and_checks(make_project, tmp_path: Path) -> None:
    root = make_project()
    ran = run_cli("import", str(SEED), "-C", str(root), "--references", str(REFERENCES))
    assert ran.code == 0, ran
    target = root / "content/handouts/exosome-therapy.yaml"
    out = ran.stdout.splitlines()
    assert out[0] == (
        f"imported {SEED} (plain text): 7 questions, 1 notice, 4 references, "
        "a closing call to action"
    )
    assert out[1] == f"wrote {target}"
    assert out[3] == "11 guesses to check, each marked # CHECK: in the file:"
    assert out[4] == (
        f'  {target}:10 title: split "Exosome Therapy Frequently Asked Questions" into a '
        "title and a subtitle"
    )
    assert "handouts check:" in out
    assert "exosome-therapy (en)  content/handouts/exosome-therapy.yaml" in out
    assert any("links.no-link" in line and "references[4]" in line for line in out)
    assert any("governance.no-review" in line for line in out)
    assert out[-1].startswith("0 errors, ")
    assert "sample (en)" not in ran.stdout  # only the imported handout's findings
    # Never overwritten without --force, and nothing changes when refused.
    before = target.read_bytes()
    target.write_text(before.decode() + "# edited by hand\n")
    ran = run_cli("import", str(SEED), "-C", str(root))
    assert ran.code == 1
    assert ran.stderr == (
        "error: content/handouts/exosome-therapy.yaml: this handout already exists; nothing "
        "was written (choose another name with --id, or replace it with --force)\n"
    )
    assert target.read_text().endswith("# edited by hand\n")
    ran = run_cli("import", str(SEED), "-C", str(root), "--force", "--id", "exosome-therapy")
    assert ran.code == 0 and "# edited by hand" not in target.read_text()
    assert [p.name for p in target.parent.iterdir() if p.name.startswith(".")] == []
    ran = run_cli("import", str(SEED), "-C", str(root), "--id", "Exo Therapy")
    assert ran.code == 1 and "--id: 'Exo Therapy' cannot be a handout id" in ran.stderr


def test_the_imported_seed_builds_a_leaflet(make_project, tmp_path: Path) -> None:
    root = make_project()
    ran = run_cli("import", str(SEED), "-C", str(root), "--references", str(REFERENCES))
    assert ran.code == 0, ran
    out = tmp_path / "out"
    ran = run_cli(
        "build", "-C", str(root), "--out", str(out), "--handout", "exosome-therapy", "-j", "1"
    )
    assert ran.code == 0, ran
    pdf = (out / "test/exosome-therapy.en.leaflet.pdf").read_bytes()
    text = normalise(pdf_text(pdf))
    seed = _seed_parts()
    for question, words in seed["questions"]:
        assert normalise(question) in text
        assert " ".join(words[:8]) in text
    for title in seed["articles"]:
        assert normalise(title)[:40] in text
    assert "No confirmed online link" in text
    assert seed["closing"] in text
    assert {f"https://doi.org/{doi}" for doi in CONFIRMED_DOIS} <= set(decode_qr_codes(pdf))


def test_write_result_never_replaces_a_file_unless_forced(make_project) -> None:
    root = make_project()
    result = import_file(SEED)
    path = write_result(result, root)
    assert path == root / "content/handouts/exosome-therapy.yaml"
    with pytest.raises(HandoutsError, match="already exists"):
        write_result(result, root)
    es = import_file(SEED, language="es", handout_id="exo")
    assert write_result(es, root).name == "exo.es.yaml"
    assert write_result(result, root, force=True) == path


# ---------------------------------------------------------------- text and YAML details


@pytest.mark.parametrize(
    "text",
    [
        "2 * 3 = 6 and 4 * 5 = 20",
        "snake_case and _underscored_ words",
        "[not a link](javascript:alert(1))",
        "<https://autolink.example> and <b>bold</b>",
        "AT&T &amp; &copy; stay as written",
        "- not a list\n+ nor this\n1. nor this",
        "back\\slash \\*and\\* `code`",
        "{{ 7*7 }} {% raw %}",
    ],
)
def test_escaped_text_prints_as_written(text: str) -> None:
    rendered = markup.to_html(mdtext.escape(text))
    assert "<a " not in rendered and "<em>" not in rendered and "<li>" not in rendered
    assert _visible_text(rendered).split() == text.split()


def test_values_yaml_would_misread_are_quoted(tmp_path: Path) -> None:
    draft = Draft(source="x.txt", fmt="text", title="no", subtitle="0123")
    draft.questions = [
        DraftQuestion("Yes: is it? # really", " leading space and a: colon\n"),
        DraftQuestion("1.10", "- a\n- b\n\n> quoted"),
    ]
    text, _, data = to_yaml(draft, "tricky", "en")
    path = tmp_path / "tricky.yaml"
    path.write_text(text, encoding="utf-8")
    handout = parse(Handout, load_yaml(path))
    assert (handout.title, handout.subtitle) == ("no", "0123")
    assert [q.question for q in handout.questions] == ["Yes: is it? # really", "1.10"]
    assert handout.questions[1].answer == "- a\n- b\n\n> quoted\n"
    assert data["title"] == "no"


def test_bad_files_get_clear_errors(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    with pytest.raises(HandoutsError, match="not a regular file"):
        import_file(fifo)  # returns at once: a FIFO is never opened for a blocking read
    with pytest.raises(HandoutsError, match=r"cannot import \.doc files \(open it in Word"):
        import_file(tmp_path / "old.doc")
    with pytest.raises(HandoutsError, match="the file does not exist"):
        import_file(tmp_path / "missing.txt")
    big = tmp_path / "big.txt"
    big.write_bytes(b"Title\n\n" + b"x" * (1024 * 1024))
    with pytest.raises(HandoutsError, match=r"too large \(more than 1 MB\)"):
        import_file(big)
    empty = tmp_path / "empty.txt"
    empty.write_text("Just a title\n\nAnd a paragraph without questions.\n")
    with pytest.raises(HandoutsError, match="no questions found in the text"):
        import_file(empty)
    with pytest.raises(HandoutsError, match="--lang: 'english' is not a language code"):
        import_file(SEED, language="english")


def test_windows_text_and_bullets_of_any_kind(tmp_path: Path) -> None:
    path = tmp_path / "faq.txt"
    text = "Caf\xe9 FAQ\r\n\r\nIs it open?\r\nYes.\r\n- Mon\r\n  * Tue\r\n\r\nDone?\r\n"
    path.write_bytes(text.encode("cp1252"))
    result = import_file(path)
    assert result.data["title"] == "Café"
    assert result.data["questions"] == [
        {"question": "Is it open?", "answer": "Yes.\n\n- Mon\n- Tue\n"}
    ]
    assert any("Windows-1252" in w for w in result.warnings)
    assert any("flattened" in g.message for g in result.guesses)


# ---------------------------------------------------------------- HTML pages


def _links(markdown: str) -> list[str]:
    tokens = [t for block in markup.parse(markdown) for t in (block.children or [])]
    return [str(t.attrGet("href")) for t in tokens if t.type == "link_open"]


def test_faqpage_json_ld_comes_first() -> None:
    result = import_file(FIXTURES / "faq-jsonld.html")
    data = result.data
    assert [q["question"] for q in data["questions"]] == [
        "What are exosomes?",
        "Is there evidence exosomes work in therapy?",
        "Are exosomes dangerous or safe?",
    ]
    assert data["questions"][0]["answer"] == (
        "Exosomes are a subtype of **extracellular vesicles** that are responsible for "
        "cell-to-cell communication.\n\nExosomes can carry a variety of substances from their "
        "cell of origin.\n"
    )
    assert data["questions"][2]["answer"].count("\n\n") == 1  # plain-text paragraphs kept
    refs = {r["id"]: r for r in data["references"]}
    assert data["questions"][1]["sources"] == list(refs)
    assert [r.get("doi") or r.get("pmid") for r in refs.values()] == [
        "10.1111/jocd.16149",
        "10.1186/s12964-022-00959-4",
        "38226413",
    ]
    assert (data["title"], data["subtitle"]) == ("Exosome Therapy", "Frequently Asked Questions")
    assert data["notices"] == [
        {
            "kind": "warning",
            "text": "Please note: no exosome products have been approved by the FDA.",
        }
    ]
    for hidden in ("Home", "Services", "Privacy", "Research is pre-clinical", "Lakeview"):
        assert hidden not in result.yaml
    assert not result.warnings  # the visible accordion matches the data


def test_microdata_and_the_page_language() -> None:
    result = import_file(FIXTURES / "faq-microdata.html")
    assert [q["question"] for q in result.data["questions"]] == [
        "¿Qué son los exosomas?",
        "¿Los exosomas son peligrosos o seguros?",
    ]
    assert result.data["questions"][1]["answer"] == "Se consideran seguros.\n"
    assert any("says its language is 'es'" in w and "--lang es" in w for w in result.warnings)
    spanish = import_file(FIXTURES / "faq-microdata.html", language="es")
    assert spanish.filename == "terapia-con-exosomas.es.yaml" and not spanish.warnings


def test_details_and_summary() -> None:
    result = import_file(FIXTURES / "faq-details.html")
    data = result.data
    assert [q["question"] for q in data["questions"]] == [
        "What are exosomes?",
        "How do exosomes work in therapy?",
        "More reading",
        "Are exosomes dangerous or safe?",
    ]
    assert (
        "- RNA and lipids\n- proteins\n- inside the cell\n- on its surface\n"
        in (data["questions"][0]["answer"])
    )
    guesses = {(g.key, g.message) for g in result.guesses}
    assert ("questions[1].answer", "a nested list was flattened into one list") in guesses
    assert ("questions[3].question", "a collapsible section whose title is not a question") in (
        guesses
    )
    assert data["questions"][1]["answer"] == (
        "Exosomes play an *important* role in therapy by enhancing cell-to-cell communication.\n"
    )
    last = data["questions"][3]["answer"]
    assert _links(last) == ["mailto:care@harbour.example"]  # the relative link is text
    assert "Contact us" in last
    assert any("relative to the page" in w for w in result.warnings)
    assert [r.get("doi") for r in data["references"]] == ["10.21037/sci-2020-037", None]
    assert data["closing"] == {"heading": "Want to learn more about exosome therapy?"}


def test_an_accordion_page_without_structured_data(tmp_path: Path) -> None:
    """The usual accessible accordion: the question in a heading's button, the answer in a
    panel that stays hidden until the button opens it. Other hidden text is still dropped."""
    path = tmp_path / "accordion.html"
    path.write_text(
        textwrap.dedent(
            """\
            <h1>Exosome Therapy</h1>
            <div class="accordion">
              <h3><button aria-expanded="false" aria-controls="a1">What are exosomes?</button></h3>
              <div id="a1" role="region" hidden><p>Exosomes are extracellular vesicles.</p></div>
              <h3><button data-toggle="collapse">Can exosomes cure cancer?</button></h3>
              <div class="collapse" style="display: none"><p>They are not a cure.</p></div>
            </div>
            <div hidden>Hidden spam words</div>
            <button>Print this page</button>
            """
        )
    )
    result = import_file(path)
    assert [(q["question"], q["answer"]) for q in result.data["questions"]] == [
        ("What are exosomes?", "Exosomes are extracellular vesicles.\n"),
        ("Can exosomes cure cancer?", "They are not a cure.\n"),
    ]
    assert "spam" not in result.yaml and "Print" not in result.yaml
    assert any("1 hidden element(s) dropped" in w for w in result.warnings)


def test_headings_and_bold_lines_ending_in_a_question_mark() -> None:
    result = import_file(FIXTURES / "faq-headings.html")
    data = result.data
    assert [q["question"] for q in data["questions"]] == [
        "Are exosomes the same thing as stem cells?",
        "Can exosomes cure cancer?",
        "Are exosomes dangerous or safe?",
    ]
    assert "**Stem cells**" in data["questions"][0]["answer"]
    assert "Safety" not in result.yaml.split("questions:")[1]
    assert 'the section heading "Safety" was left out' in result.warnings
    assert "they are **not a cure** for cancer" in data["questions"][1]["answer"]
    assert data["questions"][2]["answer"] == (
        "Exosomes are considered safe because they are part of our body.\\\n"
        "They have been studied in various skin conditions and wound healing.\n"
    )
    assert not [g for g in result.guesses if "question mark" in g.message]


HIDDEN_WORDS = (
    "HIDDEN", "TEMPLATE TEXT", "NOSCRIPT", "OBJECT TEXT", "SVG TEXT", "FORM VALUE",
    "BUTTON TEXT", "PIXEL", "IFRAME", "frame text", "evil.example", "tracker.example",
    "secret", "onload", "alert('",
)  # fmt: skip


def _assert_safe(result) -> None:
    for word in HIDDEN_WORDS:
        assert word not in result.yaml, word
    texts = [q["answer"] for q in result.data["questions"]]
    texts += [n["text"] for n in result.data.get("notices", [])]
    for text in texts:
        assert all(href.startswith(("https://", "mailto:", "tel:")) for href in _links(text))
        rendered = markup.to_html(text)
        assert "<script" not in rendered and "<img" not in rendered and "<iframe" not in rendered
        assert not re.search(r'href="(?!https://|mailto:|tel:)', rendered)


def test_hostile_markup_carries_nothing_unsafe_over() -> None:
    result = import_file(FIXTURES / "faq-hostile.html")
    assert [q["question"] for q in result.data["questions"]] == [
        "What are exosomes?",
        "Are exosomes dangerous or safe?",
    ]
    _assert_safe(result)
    first, second = (q["answer"] for q in result.data["questions"])
    assert "Links: first, second, third, fourth, fifth, sixth, seventh, [the FDA]" in first
    # Text that looks like markup is kept as text, and prints as written.
    written = "Written as text: [click](javascript:alert(6)), {{ 7*7 }}, <script>alert(7)</script>"
    assert _visible_text(markup.to_html(second)).split()[:8] == written.split()
    warnings = "\n".join(result.warnings)
    assert "7 link(s) to javascript:, data: or other non-web addresses removed" in warnings
    assert "1 image(s) dropped" in warnings


def _bomb(tmp_path: Path, before_questions: bool) -> Path:
    """The hostile page with 5 MB of nested divs in its main content."""
    page = (FIXTURES / "faq-hostile.html").read_text()
    n = 5 * 1024 * 1024 // len("<div></div>")
    bomb = "<div>" * n + "deep" + "</div>" * n
    if before_questions:
        page = page.replace("<main>", "<main>" + bomb, 1)
    else:
        page = page.replace("</main>", bomb + "</main>", 1)
    path = tmp_path / "bomb.html"
    path.write_text(page)
    assert path.stat().st_size > 5 * 1024 * 1024
    return path


def test_five_megabytes_of_nested_divs_are_dropped_in_bounded_memory(tmp_path: Path) -> None:
    path = _bomb(tmp_path, before_questions=False)
    tracemalloc.start()
    try:
        result = import_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [q["question"] for q in result.data["questions"]] == [
        "What are exosomes?",
        "Are exosomes dangerous or safe?",
    ]
    _assert_safe(result)
    assert "deep" not in result.yaml.split("questions:")[1].replace("deeper", "")
    assert any("nested more than 256 deep" in w for w in result.warnings)
    # The page is 5.2 MB; reading, decoding and parsing it holds a few copies at most.
    assert peak < 48 * 1024 * 1024, peak


def test_nesting_before_the_questions_is_a_clear_error(tmp_path: Path) -> None:
    path = _bomb(tmp_path, before_questions=True)
    with pytest.raises(HandoutsError) as caught:
        import_file(path)
    message = str(caught.value)
    assert "no questions found in the page" in message
    assert "nested more than 256 deep (a broken or hostile page); nothing after" in message


def test_the_parser_memory_outside_python_is_bounded_too(tmp_path: Path) -> None:
    """lxml allocates in C, where tracemalloc cannot see: measure the process instead."""
    path = _bomb(tmp_path, before_questions=False)
    script = textwrap.dedent(
        """
        import resource, sys
        from handouts.importers import import_file
        import_file(sys.argv[1])  # warm up: modules, caches
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        import_file(sys.argv[2])
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((after - before) // 1024)
        """
    )
    ran = subprocess.run(
        [sys.executable, "-c", script, str(FIXTURES / "faq-hostile.html"), str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    grown_mib = int(ran.stdout.strip())
    assert grown_mib < 100, grown_mib


def test_an_oversized_tree_is_read_only_up_to_its_budget(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(html_reader, "MAX_ELEMENTS", 500)
    rows = "".join(f"<p>Line {i}.</p>" for i in range(5000))
    path = tmp_path / "wide.html"
    path.write_text(f"<h1>Wide</h1><h2>Is it wide?</h2>{rows}<h2>Is this read?</h2><p>No.</p>")
    result = import_file(path)
    assert [q["question"] for q in result.data["questions"]] == ["Is it wide?"]
    assert any("more than 500 elements; the rest was not read" in w for w in result.warnings)


# ---------------------------------------------------------------- Markdown and Word


def test_markdown_headings_and_bold_lines() -> None:
    result = import_file(FIXTURES / "faq.md")
    data = result.data
    assert [q["question"] for q in data["questions"]] == [
        "What are exosomes?",
        "Can exosomes cure cancer?",
        "Is there evidence exosomes work in therapy?",
    ]
    # A soft line break is a space in print: the importer joins the lines of a paragraph.
    assert data["questions"][0]["answer"] == (
        "Exosomes are a subtype of *extracellular vesicles* that are responsible for "
        "cell-to-cell communication.\n\n- RNA\n- lipids\n- and proteins\n"
    )
    assert ("questions[1].answer", "a nested list was flattened into one list") in {
        (g.key, g.message) for g in result.guesses
    }
    assert data["questions"][1]["answer"] == "They are **not a cure** for cancer.\n"
    assert [r["title"] for r in data["references"]] == [
        "Exosomal therapy\u2014a new frontier in regenerative medicine",
        "Exosomes: Current use and future applications",
    ]
    assert data["references"][0]["doi"] == "10.21037/sci-2020-037"
    assert data["closing"] == {"heading": "Want to learn more about exosome therapy?"}
    _assert_safe(result)


def _add_hyperlink(paragraph, text: str, url: str) -> None:
    """python-docx has no hyperlink API: write the w:hyperlink element and its relationship."""
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    rel = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rel)
    run = OxmlElement("w:r")
    node = OxmlElement("w:t")
    node.text = text
    run.append(node)
    link.append(run)
    paragraph._p.append(link)


def _seed_docx(path: Path) -> Path:
    """A Word version of part of the seed, the way a clinic would have typed it."""
    import docx

    document = docx.Document()
    document.add_paragraph("Exosome Therapy", style="Title")
    document.add_paragraph("Frequently Asked Questions", style="Subtitle")
    document.add_paragraph(
        "Please note: no exosome products have been approved by the FDA. Meaning, all exosome "
        "therapies are considered experimental by the FDA."
    )
    document.add_heading("What are exosomes?", level=2)
    document.add_paragraph(
        "Exosomes are a subtype of extracellular vesicles that are responsible for "
        "cell-to-cell communication."
    )
    bold_question = document.add_paragraph()
    bold_question.add_run("Is there evidence exosomes work in therapy?").bold = True
    answer = document.add_paragraph("While much of the research surrounding exosomes shows ")
    answer.add_run("great promise").italic = True
    answer.add_run(", it is currently in the pre-clinical trial phase.")
    document.add_paragraph("Explore recent peer reviewed articles below:")
    item = document.add_paragraph(
        "A comprehensive review of the medical and cosmetic applications of exosomes in "
        "dermatology (",
        style="List Bullet",
    )
    _add_hyperlink(item, "Read Here", "https://doi.org/10.1111/jocd.16149")
    item.add_run(")")
    document.add_paragraph(
        "Exosomes: Current use and future applications (Read Here)", style="List Bullet"
    )
    evil = document.add_paragraph("Do not follow ")
    _add_hyperlink(evil, "this", "javascript:alert(1)")
    document.add_paragraph("Want to learn more about exosome therapy?", style="Heading 2")
    document.save(path)
    return path


def test_a_word_document_made_with_python_docx(tmp_path: Path) -> None:
    result = import_file(_seed_docx(tmp_path / "faq.docx"))
    data = result.data
    assert (data["title"], data["subtitle"]) == ("Exosome Therapy", "Frequently Asked Questions")
    assert data["notices"][0]["kind"] == "warning"
    assert data["notices"][0]["text"].startswith("Please note: no exosome products")
    assert [q["question"] for q in data["questions"]] == [
        "What are exosomes?",
        "Is there evidence exosomes work in therapy?",
    ]
    assert data["questions"][1]["answer"] == (
        "While much of the research surrounding exosomes shows *great promise*, it is currently "
        "in the pre-clinical trial phase.\n\nExplore recent peer reviewed articles below:\n\n"
        "Do not follow this\n"
    )
    refs = data["references"]
    assert [(r["title"], r.get("doi")) for r in refs] == [
        (
            "A comprehensive review of the medical and cosmetic applications of exosomes in "
            "dermatology",
            "10.1111/jocd.16149",
        ),
        ("Exosomes: Current use and future applications", None),
    ]
    assert data["closing"] == {"heading": "Want to learn more about exosome therapy?"}
    _assert_safe(result)


def _zip(path: Path, parts: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def test_word_files_that_are_not_what_they_claim(tmp_path: Path) -> None:
    fake = tmp_path / "fake.docx"
    fake.write_text("just text")
    with pytest.raises(HandoutsError, match=r"not a Word \.docx file"):
        import_file(fake)
    bomb = _zip(tmp_path / "bomb.docx", {"word/document.xml": b"<a>" + b" " * (6 << 20) + b"</a>"})
    assert bomb.stat().st_size < 100_000
    with pytest.raises(HandoutsError, match=r"word/document\.xml is too large"):
        import_file(bomb)
    doctype = _zip(
        tmp_path / "entities.docx",
        {"word/document.xml": b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'},
    )
    with pytest.raises(HandoutsError, match="declares a DOCTYPE"):
        import_file(doctype)


# ---------------------------------------------------------------- the web page


@pytest.fixture(scope="module")
def repo_jobs():
    return list(api.plan(api.open_project(REPO), formats=["web"]))


def _json_ld(page_html: str) -> dict:
    root = lxml.html.document_fromstring(
        page_html.encode(), parser=lxml.html.HTMLParser(encoding="utf-8")
    )
    scripts = root.xpath("//script")
    assert len(scripts) == 1 and scripts[0].get("type") == "application/ld+json"
    return json.loads(scripts[0].text)


def test_one_web_page_per_brand_and_language(repo_jobs) -> None:
    assert sorted(str(j.output) for j in repo_jobs) == [
        "harbour/exosome-therapy.en.html",
        "harbour/exosome-therapy.es.html",
        "riverside/exosome-therapy.en.html",
        "riverside/exosome-therapy.es.html",
    ]


def test_web_page_is_valid_html5_with_faqpage_json_ld(repo_jobs) -> None:
    for job in repo_jobs:
        page = render_web_page(job)
        html5lib.HTMLParser(strict=True).parse(page.html)  # raises on any parse error
        handout = job.handout.handout
        data = _json_ld(page.html)
        assert data["@type"] == "FAQPage" and data["inLanguage"] == handout.language
        assert [q["name"] for q in data["mainEntity"]] == [q.question for q in handout.questions]
        for entity, question in zip(data["mainEntity"], handout.questions, strict=True):
            answer = entity["acceptedAnswer"]["text"]
            assert (
                _visible_text(answer).split()
                == _visible_text(markup.to_html(question.answer)).split()
            )
        cited = data["mainEntity"][4]["acceptedAnswer"]["citation"]
        assert [c.get("url") for c in cited][:3] == [
            f"https://doi.org/{doi}"
            for doi in ("10.1111/jocd.16149", "10.1186/s12964-022-00959-4", "10.21037/sci-2020-037")
        ]
        assert "url" not in cited[3]
        # Nothing external: no style sheet, script or font to fetch; the one image is the
        # logo, which is returned to be written beside the page.
        root = lxml.html.document_fromstring(
            page.html.encode(), parser=lxml.html.HTMLParser(encoding="utf-8")
        )
        assert root.xpath("//link") == [] and root.xpath("//script[@src]") == []
        assert root.xpath("//iframe|//object|//embed") == []
        assert [img.get("src") for img in root.xpath("//img")] == list(page.files)
        assert list(page.files) == [f"{job.brand.id}-logo.svg"]
        assert page.files[f"{job.brand.id}-logo.svg"] == job.brand.logo.read_bytes()
        assert "url(" not in page.html and "@import" not in page.html
        assert root.get("lang") == handout.language
        assert 'name="viewport"' in page.html


def test_spanish_web_page_is_in_spanish(repo_jobs) -> None:
    job = next(j for j in repo_jobs if j.brand.id == "harbour" and j.handout.language == "es")
    page = render_web_page(job).html
    for text in ("Ir a las preguntas", "Preguntas de esta página", "Fuentes", "Pida una cita"):
        assert text in page
    assert "Skip to the questions" not in page


def test_content_cannot_break_out_of_the_json_ld(make_project) -> None:
    root = make_project(
        {
            "content/handouts/sample.yaml": textwrap.dedent(
                """\
                title: "</script><script>alert(1)</script>"
                questions:
                  - question: "Is </script> & <b>this</b> safe?"
                    answer: "Yes: <script>alert(2)</script> prints as text."
                """
            )
        }
    )
    page = render_web_page(api.plan(api.open_project(root), formats=["web"]).jobs[0]).html
    html5lib.HTMLParser(strict=True).parse(page)
    assert page.count("<script") == 1 and page.count("</script>") == 1
    data = _json_ld(page)
    assert data["name"] == "</script><script>alert(1)</script>"
    assert data["mainEntity"][0]["name"] == "Is </script> & <b>this</b> safe?"


def test_the_web_page_round_trips_through_import(repo_jobs, tmp_path: Path) -> None:
    project = api.open_project(REPO)
    report = api.build(project, api.BuildRequest(formats=["web"], out=tmp_path, workers=2))
    assert sorted(r.output for r in report.results if r.status == "built") == sorted(
        str(j.output) for j in repo_jobs
    )
    for job in repo_jobs:
        written = [tmp_path / str(job.output)]
        assert (written[0].parent / f"{job.brand.id}-logo.svg").is_file()
        handout = job.handout.handout
        result = import_file(written[0], language=handout.language)
        data = result.data
        assert [q["question"] for q in data["questions"]] == [q.question for q in handout.questions]
        for imported, original in zip(data["questions"], handout.questions, strict=True):
            assert imported["answer"].split() == original.answer.split()
        assert (data["title"], data.get("subtitle")) == (handout.title, handout.subtitle)
        assert [n["text"].split() for n in data["notices"]] == [
            n.text.split() for n in handout.notices
        ]
        cited = {r.title for r in handout.references}
        assert {r["title"] for r in data["references"]} == cited
        dois = {r.title: r.doi for r in handout.references}
        assert all(r.get("doi") == dois[r["title"]] for r in data["references"])
        assert data["closing"]["heading"] == handout.closing.heading
        assert data["closing"]["text"].split() == handout.closing.text.split()
        assert not result.warnings


def test_build_format_web_writes_every_page_and_prunes_them_safely(make_project) -> None:
    other = "title: Other\nquestions:\n  - question: Why?\n    answer: Because.\n"
    root = make_project({"content/handouts/other.yaml": other})
    ran = run_cli("build", "-C", str(root), "--format", "web")
    assert ran.code == 0, ran
    out = root / "output"
    assert sorted(p.name for p in (out / "test").iterdir()) == [
        "other.en.html",
        "sample.en.html",
        "test-logo.svg",
    ]
    again = run_cli("build", "-C", str(root), "--format", "web")
    assert "skipped test/sample.en.html" in again.stdout
    (root / "content/handouts/other.yaml").unlink()
    ran = run_cli("build", "-C", str(root), "--format", "web", "--prune")
    assert ran.code == 0, ran
    assert "removed test/other.en.html" in ran.stdout
    # The brand's logo is shared with the pages that remain: it stays.
    assert sorted(p.name for p in (out / "test").iterdir()) == ["sample.en.html", "test-logo.svg"]
