"""Content checks: readability figures, brand contrast, glyph coverage, links and QR codes,
review dates, and the report's text and JSON forms. Real projects, real fonts, no mocks."""

from __future__ import annotations

import datetime as dt
import json
import re
import textwrap
from pathlib import Path

import pytest

from handouts.checks import (
    JSON_VERSION,
    CheckReport,
    format_text,
    readability_summary,
    run_checks,
    to_json,
)
from handouts.checks.syllables import english, spanish
from handouts.plan import make_plan
from handouts.project import load_project

from conftest import BRAND, HANDOUT, REPO

H = "content/handouts/sample.yaml"
B = "content/brands/test/brand.yaml"
TODAY = dt.date(2026, 12, 1)  # the sample's review is due 2027-10-01


def handout(questions: str, extra: str = "", review: bool = True) -> str:
    """A small handout whose questions (YAML, indented by 2) start on line 8 (or 3)."""
    head = "title: Test\n"
    if review:
        head += "review:\n  version: 1\n  reviewed_on: 2026-10-01\n  next_review: 2027-10-01\n"
    head += "questions:\n"
    return head + textwrap.indent(textwrap.dedent(questions), "  ") + textwrap.dedent(extra)


def check(make_project, files: dict, **options) -> CheckReport:
    today = options.pop("today", TODAY)
    return run_checks(load_project(make_project(files)), today=today, **options)


def codes(report: CheckReport) -> list[str]:
    return [f.code for f in report.findings]


def only(report: CheckReport, code: str):
    found = [f for f in report.findings if f.code == code]
    assert len(found) == 1, report.findings
    return found[0]


def wcag(a: str, b: str) -> float:
    """WCAG 2 contrast ratio, written out here independently of the library."""

    def lum(c: str) -> float:
        rgb = [int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4 for x in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.fixture(scope="module")
def repo_report() -> CheckReport:
    return run_checks(load_project(REPO), today=TODAY)


# ---------------------------------------------------------------- readability

PLAIN = "Take one pill each day. Drink a glass of water with it. Call us if you feel sick."


def test_syllable_counts_of_known_words() -> None:
    known = {"site": 1, "create": 2, "area": 3, "table": 2, "exosomes": 3, "vesicles": 3}
    known |= {"communication": 5, "physiological": 6, "cell-to-cell": 3, "derived": 2}
    assert {w: english(w) for w in known} == known
    known_es = {"exosomas": 4, "guía": 2, "agua": 2, "que": 1, "poesía": 4, "ciudad": 2}
    assert {w: spanish(w) for w in known_es} == known_es


def test_plain_text_scores_lower_than_the_seed_answer(make_project, repo_report) -> None:
    report = check(make_project, {H: handout(f"- question: Pills?\n  answer: {PLAIN}\n")})
    plain = report.readability_of("sample", "en")
    assert plain is not None and plain.scale == "grade"
    easy = plain.answers[0]
    assert (easy.words, easy.sentences) == (18, 3)
    # FK goes below 0 for very plain text; SMOG never below its constant 3.13
    assert -5 < easy.flesch_kincaid < 5 and 3 <= easy.smog < 6 and easy.grade < 6
    seed = repo_report.readability_of("exosome-therapy", "en")
    assert seed is not None
    hard = seed.answers[2]  # "Are exosomes the same thing as stem cells?"
    assert 10 < hard.flesch_kincaid < 22 and 10 < hard.smog < 22
    assert hard.grade > easy.grade + 8
    assert "readability.grade" not in codes(report)


def test_repository_handout_is_reported_honestly(repo_report) -> None:
    seed = repo_report.readability_of("exosome-therapy", "en")
    assert seed is not None and seed.whole is not None
    assert seed.whole.smog > 8 and seed.whole.flesch_kincaid > 8
    assert len(seed.answers) == 7 and all(a.grade > 8 for a in seed.answers)
    warning = next(f for f in repo_report.warnings if f.code == "readability.grade")
    assert (warning.handout, warning.language) == ("exosome-therapy", "en")
    assert str(warning.problem.path) == "content/handouts/exosome-therapy.yaml"
    assert "above the target of grade 8" in warning.problem.message
    assert "hardest: questions[" in warning.problem.hint
    assert repo_report.errors == []  # the repository's brands and fonts pass


def test_long_sentences_are_listed_where_they_start(make_project) -> None:
    long = " ".join(["word"] * 30)
    answer = f"|\n    Short one.\n\n    It is {long}.\n"
    report = check(make_project, {H: handout(f"- question: Long?\n  answer: {answer}")})
    finding = only(report, "readability.long-sentence")
    p = finding.problem
    assert (str(p.path), p.line, p.col, p.key) == (H, 11, 7, "questions[1].answer")
    assert "a sentence of 32 words" in p.message


def test_jargon_is_flagged_with_a_plainer_word(make_project) -> None:
    files = {
        H: handout(
            """\
            - question: How is it given?
              answer: We administered approximately two doses of the medication.
            """
        ),
        "handouts.yaml": "plain_language:\n  medication: medicine\n",
    }
    report = check(make_project, files)
    found = {
        f.problem.message.split("'")[1]: (f.problem.hint, f.problem.line, f.problem.col)
        for f in report.findings
        if f.code == "readability.jargon"
    }
    assert found == {
        "administered": ("a plainer word: 'give'", 8, 16),
        "approximately": ("a plainer word: 'about'", 8, 29),
        "medication": ("a plainer word: 'medicine'", 8, 60),
    }


def test_spanish_is_scored_as_ease_not_grade(make_project) -> None:
    technical = (
        "La administración intravenosa de vesículas extracelulares derivadas de células "
        "mesenquimales se encuentra actualmente en investigación preclínica."
    )
    easy = "Tome una pastilla al día. Beba agua. Llame si se siente mal."
    text = handout(
        f"- question: ¿Qué es?\n  answer: {technical}\n- question: ¿Cómo?\n  answer: {easy}\n"
    )
    report = check(make_project, {"content/handouts/sample.es.yaml": text})
    r = report.readability_of("sample", "es")
    assert r is not None and r.scale == "ease"
    hard, simple = r.answers
    assert hard.grade is None and hard.smog is None
    # a dense technical sentence can score below 0: the scale is open at the bottom
    assert hard.fernandez_huerta < 40 and 80 < simple.fernandez_huerta <= 120
    assert hard.szigriszt_pazos < simple.szigriszt_pazos
    assert hard.inflesz_band == "very difficult" and simple.fernandez_huerta_band == "very easy"
    summary = readability_summary(report, "sample", "es")
    assert summary["scale"] == "ease" and summary["fernandez_huerta"] == r.whole.fernandez_huerta


# ---------------------------------------------------------------- contrast and size


def test_low_contrast_brand_fails_and_the_proposed_colour_passes(make_project) -> None:
    report = check(make_project, {B: BRAND.replace("#0B5E6B", "#7FB3D5")})
    finding = only(report, "contrast.text")
    p = finding.problem
    assert finding.severity == "error" and finding.brands == ("test",)
    assert (str(p.path), p.line, p.key) == (B, 4, "colors.primary")
    assert "question headings on white 2.3:1 (needs 4.5:1)" in p.message
    proposed = re.search(r'"(#[0-9A-F]{6})"', p.hint).group(1)
    assert wcag(proposed, "#FFFFFF") >= 4.5
    assert wcag("#7FB3D5", "#FFFFFF") < 4.5
    # the same hue, only darker
    assert int(proposed[1:3], 16) < 0x7F and int(proposed[5:7], 16) < 0xD5
    jobs = make_plan(load_project(make_project({B: BRAND.replace("#0B5E6B", "#7FB3D5")})))
    assert jobs and all(report.blocked(job) == [finding] for job in jobs)


def test_body_size_below_the_layout_floor_is_an_error(make_project) -> None:
    files = {
        B: BRAND + "layouts: [leaflet, large-print]\n",
        "templates/leaflet/layout.yaml": "max_pages: 2\nbody_pt: 11.5\nmin_body_pt: 10\n",
    }
    report = check(make_project, files)
    finding = only(report, "layout.body-size")
    assert finding.layouts == ("leaflet",)
    p = finding.problem
    assert (str(p.path), p.line, p.key) == ("templates/leaflet/layout.yaml", 3, "min_body_pt")
    jobs = make_plan(load_project(make_project(files)))
    assert {j.layout for j in jobs if report.blocked(j)} == {"leaflet"}


# ---------------------------------------------------------------- glyphs


def test_missing_glyphs_are_listed_with_file_and_line(make_project) -> None:
    text = HANDOUT.replace("A short answer.", "Turn left → then go to 漢方 clinic.")
    report = check(make_project, {H: text})
    finding = only(report, "glyphs.missing")
    p = finding.problem
    assert finding.severity == "error" and finding.brands == ("test",)
    assert (str(p.path), p.line, p.col, p.key) == (H, 16, 17, "questions[1].answer")
    assert "'→' (U+2192)" in p.message and "'漢' (U+6F22)" in p.message
    assert "'方' (U+65B9)" in p.message
    other = HANDOUT.replace("id: sample", "id: other")
    jobs = make_plan(load_project(make_project({H: text, "content/handouts/other.yaml": other})))
    blocked = {j.handout.id for j in jobs if report.blocked(j)}
    assert blocked == {"sample"}


def test_brand_text_is_checked_against_its_font(make_project) -> None:
    report = check(make_project, {B: BRAND.replace("Test Clinic", "Test Clinic ★")})
    finding = only(report, "glyphs.missing")
    assert finding.handout is None and finding.brands == ("test",)
    assert (finding.problem.key, finding.problem.line) == ("name", 1)


# ---------------------------------------------------------------- links and duplicates


def test_reference_without_a_link_warns(make_project) -> None:
    report = check(make_project, {H: HANDOUT.replace("    doi: 10.1000/xyz123\n", "")})
    finding = only(report, "links.no-link")
    assert finding.severity == "warning"
    assert "printed without a QR code" in finding.problem.message
    assert (finding.problem.line, finding.problem.key) == (24, "references[1].id")


def test_too_long_url_is_an_error_for_the_layouts_it_does_not_fit(make_project) -> None:
    # 450 characters: too many for 0.4 mm modules in 34 mm (leaflet) or 30 mm (tri-fold),
    # not in the 40 mm that large print allows.
    url = "https://example.org/" + "a" * 430
    text = HANDOUT.replace("    doi: 10.1000/xyz123\n", f"    url: {url}\n")
    files = {H: text, B: BRAND + "layouts: [leaflet, large-print, trifold]\n"}
    report = check(make_project, files)
    finding = only(report, "links.qr-too-dense")
    assert finding.severity == "error" and finding.layouts == ("leaflet", "trifold")
    assert (finding.problem.line, finding.problem.key) == (29, "references[1].url")
    assert "too long for a QR code" in finding.problem.message
    jobs = make_plan(load_project(make_project(files)))
    assert {j.layout for j in jobs if report.blocked(j)} == {"leaflet", "trifold"}


def test_http_links_warn(make_project) -> None:
    text = HANDOUT.replace("Yes.", "Yes, see [this page](http://example.org/page).")
    report = check(make_project, {H: text})
    finding = only(report, "links.http")
    assert (finding.problem.line, finding.problem.col) == (22, 34)


def test_duplicate_question_and_duplicate_and_unused_references_warn(make_project) -> None:
    text = HANDOUT.replace("Is it safe?", "What is   this?").replace(
        "closing:",
        "  - id: again\n    title: A paper - about things\n    doi: 10.1000/other\n"
        "  - id: same-link\n    title: Another\n    doi: 10.1000/xyz123\nclosing:",
    )
    report = check(make_project, {H: text})
    dup = only(report, "links.duplicate-question")
    assert (dup.problem.line, dup.problem.key) == (21, "questions[2].question")
    assert "questions[1] (line 14)" in dup.problem.message
    assert [f.problem.key for f in report.findings if f.code == "links.unused-reference"] == [
        "references[2].id",
        "references[3].id",
    ]
    # the same DOI is a duplicate; the same title alone is not (tests/test_governance.py)
    dups = [f.problem.message for f in report.findings if f.code == "links.duplicate-reference"]
    assert dups == ["reference 'same-link' has the same DOI as 'paper' (references[1])"]


# ---------------------------------------------------------------- governance


def test_overdue_review_warns_and_errs_under_strict(make_project) -> None:
    late = dt.date(2027, 10, 2)
    report = check(make_project, {}, today=late)
    finding = only(report, "governance.overdue")
    assert finding.severity == "warning"
    assert (finding.problem.line, finding.problem.key) == (9, "review.next_review")
    assert "due on 2027-10-01, 1 day ago" in finding.problem.message
    assert report.exit_code(strict=False) == 0 and report.exit_code(strict=True) == 1
    strict = check(make_project, {}, today=late, strict=True)
    assert only(strict, "governance.overdue").severity == "error"
    assert strict.exit_code() == 1 and strict.strict
    assert "governance.overdue" not in codes(check(make_project, {}, today=dt.date(2027, 10, 1)))


def test_missing_review_warns(make_project) -> None:
    text = handout("- question: Q?\n  answer: Yes.\n", review=False)
    finding = only(check(make_project, {H: text}), "governance.no-review")
    assert finding.severity == "warning" and finding.problem.key == "review"


# ---------------------------------------------------------------- the report


def test_clean_sample_project(make_project) -> None:
    report = check(make_project, {})
    assert report.findings == () and report.exit_code(strict=True) == 0
    assert "0 errors, 0 warnings" in format_text(report)


def test_text_report_is_plain_and_grouped(make_project) -> None:
    files = {
        H: HANDOUT.replace("A short answer.", "Turn left →."),
        B: BRAND.replace("#0B5E6B", "#7FB3D5"),
    }
    text = format_text(check(make_project, files))
    assert "\x1b" not in text
    lines = text.splitlines()
    assert lines[0] == f"sample (en)  {H}"
    assert lines[1].startswith("  reading grade ")
    assert any(line.startswith("  error   glyphs.missing") and f"{H}:16:" in line for line in lines)
    assert "brand test" in lines
    assert lines[-1] == "2 errors, 0 warnings"


def _shape(value):
    """Keys and types of a JSON value, with lists reduced to their first item."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def test_json_matches_its_documented_shape(make_project) -> None:
    files = {B: BRAND.replace("#0B5E6B", "#7FB3D5")}
    data = to_json(check(make_project, files))
    json.dumps(data)  # plain JSON types only
    doc = (REPO / "docs" / "checks.md").read_text(encoding="utf-8")
    example = json.loads(re.search(r"```json\n(.*?)```", doc, re.S).group(1))
    assert data["version"] == example["version"] == JSON_VERSION
    assert set(data) == set(example)
    assert set(data["summary"]) == set(example["summary"])
    finding, documented = data["findings"][0], example["findings"][0]
    assert set(finding) == set(documented)
    assert _shape(finding) == _shape(documented)  # contrast errors have no handout: null
    readability, documented = data["readability"][0], example["readability"][0]
    assert set(readability) == set(documented)
    assert set(readability["whole"]) == set(documented["whole"])
    assert set(readability["answers"][0]) == set(documented["answers"][0])
    for key, value in readability["whole"].items():
        kind = type(documented["whole"][key])
        assert value is None or documented["whole"][key] is None or isinstance(value, kind), key


def test_readability_summary_for_the_manifest(repo_report) -> None:
    summary = readability_summary(repo_report, "exosome-therapy", "en")
    assert set(summary) == {"scale", "target_grade", "grade", "smog", "flesch_kincaid", "answers"}
    assert summary["grade"] == max(summary["smog"], summary["flesch_kincaid"])
    assert list(summary["answers"]) == [f"questions[{i}].answer" for i in range(1, 8)]
    assert readability_summary(repo_report, "nothing", "en") == {}


def test_checks_do_not_import_weasyprint() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from handouts.project import load_project; from handouts.checks import "
        f"run_checks; run_checks(load_project({str(REPO)!r})); "
        "assert 'weasyprint' not in sys.modules; assert 'nltk' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent)


def test_a_projects_own_layout_is_held_to_the_colours_it_lists(make_project) -> None:
    page = '{% extends "base/page.html" %}'
    pale = BRAND.replace("#0B5E6B", "#5C8A94")  # 3.9:1 on white: a title passes, body not
    files = {
        "templates/poster/page.html": page,
        "templates/poster/layout.yaml": "body_pt: 14\ncolour_pairs: [title]\n",
        B: pale + "layouts: [poster]\n",
    }
    assert [f.code for f in check(make_project, files).errors] == []
    files["templates/poster/layout.yaml"] = "body_pt: 14\ncolour_pairs: [title, headings]\n"
    assert [f.code for f in check(make_project, files).errors] == ["contrast.text"]
    files["templates/poster/layout.yaml"] = "body_pt: 14\n"  # lists none: every pair
    assert [f.code for f in check(make_project, files).errors] == ["contrast.text"]


def test_an_overridden_layout_cannot_lower_the_built_in_floor(make_project) -> None:
    files = {
        "templates/leaflet/layout.yaml": "max_pages: 2\nbody_pt: 10\nbody_floor_pt: 9\n",
    }
    finding = only(check(make_project, files), "layout.body-size")
    assert "below this layout's floor of 11 pt" in finding.problem.message


def test_a_new_check_registers_without_editing_run_checks(make_project) -> None:
    from handouts.checks import CheckContext, Finding
    from handouts.checks import check as register
    from handouts.checks.registry import _REGISTRY
    from handouts.errors import Problem

    @register("brand")
    def no_tagline(ctx: CheckContext) -> list[Finding]:
        if ctx.b.brand.tagline:
            return []
        problem = Problem(ctx.b.display, "the brand has no tagline", 1, 1, "tagline")
        return [Finding("warning", "example.no-tagline", problem, brands=(ctx.b.id,))]

    try:
        report = check(make_project, {})
        assert [f.code for f in report.warnings if f.code.startswith("example.")] == [
            "example.no-tagline"
        ]
    finally:
        _REGISTRY["brand"].remove(no_tagline)
