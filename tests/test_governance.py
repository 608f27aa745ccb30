"""Content governance: fingerprints, sign-off in place, changes since approval, DRAFT documents,
out-of-date translations, placeholders, the duplicate-reference rule and the print history.
Real files, real PDFs (pypdf), the real CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import textwrap
import threading
from pathlib import Path

import pypdf
import pytest
import yaml

from handouts import api, fingerprint, history, review
from handouts.assets import builtin_dir
from handouts.checks import run_checks
from handouts.errors import HandoutsError, Problem
from handouts.project import load_project
from handouts.yamledit import EditError, Flow, YamlEditor, edit_file, save
from handouts.yamlio import load_yaml

from conftest import BRAND, HANDOUT, REPO, copy_repo_project, normalise, pdf_text, run_cli

H = "content/handouts/sample.yaml"
B = "content/brands/test/brand.yaml"
TODAY = dt.date(2026, 12, 1)
SIGNED = dt.date(2026, 11, 1)

# The sample handout as someone might really write it: comments, odd quoting and spacing.
COMMENTED = (
    HANDOUT.replace("title: Sample Handout", "title:   'Sample Handout'   # shown large")
    .replace("review:\n", "# who checked it\nreview:            # keep this up to date\n")
    .replace("  next_review: 2027-10-01\n", "  next_review: 2027-10-01  # yearly\n")
    .replace("questions:\n", "\n# ---- the questions\nquestions:\n")
)


def _handout(root: Path, name: str = "sample.yaml"):
    return next(h for h in load_project(root).handouts if h.path.name == name)


def _approve(root: Path, handout_id: str = "sample", language: str | None = None, **kw):
    kw.setdefault("by", "Dr A. Rivera, GP")
    kw.setdefault("on", SIGNED)
    kw.setdefault("today", TODAY)
    return review.approve(load_project(root), handout_id, language, **kw)


def _codes(report) -> list[str]:
    return [f.code for f in report.findings]


def _only(report, code: str):
    found = [f for f in report.findings if f.code == code]
    assert len(found) == 1, report.findings
    return found[0]


def _review_lines(text: str) -> tuple[int, int]:
    """First and one-past-last line of the top-level `review:` block (0-based)."""
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("review:"))
    end = start + 1
    while end < len(lines) and (lines[end].startswith((" ", "\n")) or not lines[end].strip()):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return start, end


# ---------------------------------------------------------------- fingerprints

REFORMATTED = """\
# the same handout, written differently
closing: {text: "Call us.", heading: 'Want to learn more?'}
references:
- {id: paper, title: 'A paper: about things', authors: Doe J, journal: "Journal of Tests",
   year: 2024, doi: "10.1000/xyz123"}
questions:
    -   answer: >
            A short
            answer.


            - one

            - two
        sources:
        - paper
        question: "What is    this?"
    -   question: Is it safe?
        answer: "Yes."
notices: [{text: "This is a **test**\\n notice.", kind: warning}]
subtitle: "Questions and answers"
title: Sample Handout
review: {version: 2, reviewed_on: 2026-10-01, next_review: 2027-10-01}
"""


def test_fingerprint_ignores_how_the_yaml_is_written_but_not_a_changed_word(
    make_project,
) -> None:
    first = fingerprint.of(_handout(make_project()).handout)
    again = fingerprint.of(_handout(make_project({H: REFORMATTED})).handout)
    assert again == first
    assert re.fullmatch(r"[0-9a-f]{64}", first.digest)
    assert all(re.fullmatch(r"[0-9a-f]{12}", q) for q in first.questions)
    # the review block is not part of the printed text
    unreviewed = HANDOUT.replace("reviewed_by: Test team", "reviewed_by: Someone else")
    assert fingerprint.of(_handout(make_project({H: unreviewed})).handout) == first

    changed = fingerprint.of(_handout(make_project({H: HANDOUT.replace("Yes.", "No.")})).handout)
    assert changed.digest != first.digest
    assert changed.questions[0] == first.questions[0] and changed.questions[1] != first.questions[1]
    assert (changed.title, changed.notices, changed.closing) == (
        first.title,
        first.notices,
        first.closing,
    )
    found = fingerprint.changes(first.parts(), changed)
    assert found.describe() == "question 2"
    # emphasis, a cited reference's link and the notice count as printed text too
    for old, new in (
        ("**test**", "test"),
        ("10.1000/xyz123", "10.1000/xyz124"),
        ("kind: warning", "kind: info"),
    ):
        other = fingerprint.of(_handout(make_project({H: HANDOUT.replace(old, new)})).handout)
        assert other.digest != first.digest, old


def test_changes_name_questions_removed_and_moved() -> None:
    a, b, c, d, e, f = ("aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc", "dddddddddddd",
                        "eeeeeeeeeeee", "ffffffffffff")  # fmt: skip
    title = "0" * 12
    approved = fingerprint.Fingerprint("0" * 64, title, (), (a, b, c, d), None).parts()
    now = fingerprint.Fingerprint("1" * 64, title, (), (a, e, c, f), None)
    assert fingerprint.changes(approved, now).describe() == "questions 2 and 4"
    now = fingerprint.Fingerprint("1" * 64, title, (), (a, c, d), None)
    assert fingerprint.changes(approved, now).describe() == "1 question removed"
    now = fingerprint.Fingerprint("1" * 64, "1" * 12, (), (b, a, c, d), "2" * 12)
    assert fingerprint.changes(approved, now).describe() == (
        "the title, the order of the questions and the closing"
    )


# ---------------------------------------------------------------- approve


def test_approve_changes_only_the_review_block(make_project) -> None:
    root = make_project({H: COMMENTED})
    path = root / H
    before = path.read_bytes()
    ran = run_cli(
        "review", "approve", "sample", "--by", "Dr A. Rivera, GP", "--note", "checked",
        "-C", str(root),
    )  # fmt: skip
    assert ran.code == 0, ran
    today = dt.date.today()
    assert f"version 3, reviewed {today} by Dr A. Rivera, GP" in ran.stdout
    after = path.read_bytes()
    old, new = before.decode(), after.decode()
    o1, o2 = _review_lines(old)
    n1, n2 = _review_lines(new)
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    assert new_lines[:n1] == old_lines[:o1]  # every byte before the block
    assert new_lines[n2:] == old_lines[o2:]  # and after it
    assert new_lines[n1] == old_lines[o1]  # `review:            # keep this up to date`
    assert "  next_review: " in new and "  # yearly" in new  # a comment after a value stays
    assert (root / (H + ".bak")).read_bytes() == before

    data = load_yaml(path).data["review"]  # the strict loader accepts the result
    current = fingerprint.of(_handout(root).handout)
    assert data["version"] == 3 and data["reviewed_on"] == today
    assert data["reviewed_by"] == "Dr A. Rivera, GP"
    assert data["next_review"] == today.replace(year=today.year + 1)
    assert data["fingerprint"] == current.digest
    assert data["parts"]["questions"] == list(current.questions)
    assert data["history"] == [
        {
            "version": 3,
            "reviewed_on": today,
            "reviewed_by": "Dr A. Rivera, GP",
            "fingerprint": current.digest,
            "note": "checked",
        }
    ]
    status = review.status(load_project(root), _handout(root))
    assert status.state == "approved" and not status.draft

    # approving the same text again is a re-review: same version, one more history entry
    done = _approve(root, by="Dr B. Chen, GP", on=today, today=today)
    assert done.version == 3
    assert [r["reviewed_by"] for r in load_yaml(path).data["review"]["history"]] == [
        "Dr A. Rivera, GP",
        "Dr B. Chen, GP",
    ]
    # a changed text gets the next version
    path.write_text(path.read_text().replace("Yes.", "Yes, it is."))
    assert _approve(root, on=today, today=today).version == 4


def test_approve_adds_a_review_block_where_there_was_none(make_project) -> None:
    text = HANDOUT.replace(
        "review:\n  version: 2\n  reviewed_on: 2026-10-01\n  reviewed_by: Test team\n"
        "  next_review: 2027-10-01\n",
        "",
    ).replace("\n", "\r\n")
    root = make_project({H: text})
    done = _approve(root, note=None)
    assert done.version == 1
    new = (root / H).read_bytes().decode()
    assert "\n" not in new.replace("\r\n", "")  # the file keeps its CRLF line endings
    lines = new.split("\r\n")
    at = lines.index("review:")
    assert lines[at - 2 : at] == ["subtitle: Questions and answers", ""]
    assert lines[at + 1 : at + 5] == [
        "  version: 1",
        "  reviewed_on: 2026-11-01",
        "  reviewed_by: Dr A. Rivera, GP",
        "  next_review: 2027-11-01",
    ]
    kept = lines[: at - 1] + lines[lines.index("notices:") :]
    assert "\r\n".join(kept) == text  # nothing else changed
    assert review.status(load_project(root), _handout(root)).state == "approved"


def test_approve_writes_out_a_one_line_review_block(make_project) -> None:
    root = make_project({H: REFORMATTED})
    done = _approve(root)
    text = (root / H).read_text()
    assert done.version == 3
    assert "review:\n  version: 3\n  reviewed_on: 2026-11-01\n" in text
    assert text.split("review:")[0] == REFORMATTED.split("review:")[0]
    assert review.status(load_project(root), _handout(root)).state == "approved"


def test_approve_refuses_clearly(make_project) -> None:
    root = make_project()
    ran = run_cli("review", "approve", "sampel", "--by", "X", "-C", str(root))
    assert ran.code == 1
    assert "no handout has the id 'sampel' (did you mean 'sample'?)" in ran.stderr
    ran = run_cli("review", "approve", "sample", "--by", "X", "--on", "2999-01-01", "-C", str(root))
    assert ran.code == 1 and "2999-01-01 is in the future" in ran.stderr
    ran = run_cli("review", "approve", "sample", "--by", "  ", "-C", str(root))
    assert ran.code == 1 and "say who approved the text" in ran.stderr
    assert not (root / (H + ".bak")).exists()


# ---------------------------------------------------------------- the text editor


def test_editor_keeps_every_other_byte_and_reads_back() -> None:
    text = textwrap.dedent("""\
        title: "Old"   # a comment
        list:
        - one
        - two
        nested:
            a: 1   # keep me
            b: [x, y]
        last: end
        """)
    e = YamlEditor(text)
    assert e.set(("title",), "Old") is False  # equal: not even the quotes change
    e.set(("title",), "New: with a colon")
    e.set(("nested", "a"), "no")  # would be false if written plainly
    e.set(("nested", "c"), "0123")
    e.set(("nested", "d"), "line one\nline two")
    e.append(("list",), {"k": "v", "n": 1})
    e.set(("fresh",), {"f": Flow(["a1", "123456789012"])}, separate=True)
    assert e.text == textwrap.dedent("""\
        title: 'New: with a colon'   # a comment
        list:
        - one
        - two
        - k: v
          n: 1
        nested:
            a: 'no'   # keep me
            b: [x, y]
            c: '0123'
            d: |-
                line one
                line two
        last: end

        fresh:
            f: [a1, '123456789012']
        """)
    assert yaml.safe_load(e.text)["nested"] == {
        "a": "no",
        "b": ["x", "y"],
        "c": "0123",
        "d": "line one\nline two",
    }
    e.delete(("nested", "b"))
    assert "b: [x, y]" not in e.text and "a: 'no'   # keep me" in e.text
    with pytest.raises(EditError, match="not a block"):
        e.set(("fresh", "f", "x"), 1)


def test_saving_refuses_a_file_changed_since_it_was_read(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("a: 1\n")
    editor = YamlEditor.read(path)
    editor.set(("a",), 2)
    path.write_text("a: 5\n")  # someone else saved in between
    with pytest.raises(EditError, match="changed on disk since it was read"):
        save(path, editor.dumps(), original=editor.original)
    assert path.read_text() == "a: 5\n"
    saved = edit_file(path, lambda e: e.set(("b",), "x"))
    assert path.read_text() == "a: 5\nb: x\n" and saved.backup.read_text() == "a: 5\n"
    link = tmp_path / "link.yaml"
    link.symlink_to(path)
    with pytest.raises(EditError, match="symbolic link"):
        edit_file(link, lambda e: e.set(("a",), 1))
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with pytest.raises(EditError, match="not a regular file"):  # and no waiting for a writer
        edit_file(fifo, lambda e: e.set(("a",), 1))
    fifo.unlink()

    def refuse(doc) -> None:
        assert doc.data == {"a": 5, "b": "x", "c": "&anchor"}  # loaded by the strict loader
        raise HandoutsError(Problem(doc.display, "c is not wanted"))

    with pytest.raises(HandoutsError, match="would not load") as caught:
        edit_file(path, lambda e: e.set(("c",), "&anchor"), validate=refuse)
    assert "c is not wanted" in str(caught.value)
    assert path.read_text() == "a: 5\nb: x\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.yaml", "x.yaml", "x.yaml.bak"]


# ---------------------------------------------------------------- changes since approval


def test_changes_since_approval_are_named_at_the_review_line(make_project) -> None:
    root = make_project({H: COMMENTED})
    _approve(root)
    path = root / H
    # reformatting is not a change ...
    text = path.read_text()
    path.write_text(text.replace("title:   'Sample Handout'", 'title: "Sample Handout"'))
    report = run_checks(load_project(root), today=TODAY)
    assert not [c for c in _codes(report) if c.startswith("governance.")]
    # ... a changed word is
    path.write_text(
        path.read_text().replace("A short answer.", "A shorter answer.").replace("Yes.", "Yes!")
    )
    report = run_checks(load_project(root), today=TODAY)
    finding = _only(report, "governance.changed")
    line = path.read_text().splitlines().index("review:            # keep this up to date") + 1
    p = finding.problem
    assert (p.line, p.col, p.key, finding.severity) == (line, 1, "review", "warning")
    assert p.message == "changed since it was approved on 2026-11-01 (version 3): questions 1 and 2"
    assert 'run `handouts review approve sample --by "Name, role"`' in p.hint
    strict = run_checks(load_project(root), today=TODAY, strict=True)
    assert _only(strict, "governance.changed").severity == "error"
    # the status says the same
    ran = run_cli("review", "status", "-C", str(root), "--format", "json")
    item = json.loads(ran.stdout)["handouts"][0]
    assert item["state"] == "changed" and item["changes"]["questions"] == [1, 2]
    assert item["summary"].startswith("changed since it was approved on 2026-11-01 (version 3)")


def _pdf(root: Path, out: Path) -> bytes:
    ran = run_cli("build", "-C", str(root), "--out", str(out), "-j", "1", "--layout", "leaflet")
    assert ran.code == 0, ran
    return (out / "test/sample.en.leaflet.pdf").read_bytes()


def test_a_changed_text_is_built_as_a_draft_when_approval_is_required(
    make_project, tmp_path: Path
) -> None:
    settings = "example: true\nrequire_approval: true\n"
    root = make_project({"handouts.yaml": settings})
    out = tmp_path / "out"
    _approve(root)
    data = _pdf(root, out)
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert reader.metadata.title == "Sample Handout"
    assert "DRAFT" not in pdf_text(data)
    assert "Reviewed November 1, 2026 · Version 3" in normalise(pdf_text(data))

    (root / H).write_text((root / H).read_text().replace("Yes.", "Yes, mostly."))
    ran = run_cli("build", "-C", str(root), "--out", str(out), "-j", "1", "--layout", "leaflet")
    assert ran.code == 0, ran
    assert (
        "review: changed since it was approved on 2026-11-01 (version 3): question 2; "
        "it is printed as a DRAFT" in ran.stderr
    )
    data = (out / "test/sample.en.leaflet.pdf").read_bytes()
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert reader.metadata.title == "DRAFT — not approved for patients: Sample Handout"
    assert "DRAFT — not approved for patients" in reader.metadata["/Keywords"]
    assert len(reader.pages) >= 1
    for page in reader.pages:
        assert "DRAFT — not approved for patients" in normalise(page.extract_text())
    assert "Version 3" not in pdf_text(data)  # the review line no longer holds
    records = json.loads((out / "manifest.json").read_text())["documents"]
    record = records["test/sample.en.leaflet.pdf"]
    assert record["draft"] is True and record["approved"] is False
    assert record["fingerprint"] == fingerprint.of(_handout(root).handout).digest
    gallery = (out / "index.html").read_text()
    assert "card card-draft" in gallery and "DRAFT — not approved for patients" in gallery

    ran = run_cli("build", "-C", str(root), "--out", str(out), "-j", "1", "--strict")
    assert ran.code == 1
    assert "changed since it was approved" in ran.stderr and "FAILED" in ran.stderr

    _approve(root, on=TODAY)
    data = _pdf(root, out)
    assert pypdf.PdfReader(io.BytesIO(data)).metadata.title == "Sample Handout"
    assert "DRAFT" not in pdf_text(data)
    record = json.loads((out / "manifest.json").read_text())["documents"][
        "test/sample.en.leaflet.pdf"
    ]
    assert record["draft"] is False and record["approved"] is True


def test_never_approved_text_is_a_draft_in_spanish_too(make_project, tmp_path: Path) -> None:
    brand = BRAND + "languages: [es]\nlayouts: [leaflet]\n"
    spanish = HANDOUT.replace("language: en", "language: es").replace(
        "review:\n",
        "translation:\n  source_language: en\n  translated_by: T\n"
        "  translated_on: 2026-10-02\nreview:\n",
    )
    root = make_project(
        {
            "handouts.yaml": "example: true\nrequire_approval: true\n",
            B: brand,
            "content/handouts/sample.es.yaml": spanish,
        }
    )
    out = tmp_path / "out"
    ran = run_cli("build", "-C", str(root), "--out", str(out), "-j", "1")
    assert ran.code == 0, ran
    data = (out / "test/sample.es.leaflet.pdf").read_bytes()
    banner = "BORRADOR — no aprobado para pacientes · DRAFT — not approved for patients"
    assert pypdf.PdfReader(io.BytesIO(data)).metadata.title == f"{banner}: Sample Handout"
    assert banner in normalise(pdf_text(data))
    report = run_checks(load_project(root), today=TODAY)
    assert {"governance.unsigned", "governance.translation-untracked"} <= set(_codes(report))


# ---------------------------------------------------------------- translations


def _spanish_review_input(root: Path) -> str:
    """What the plan hashes of the Spanish leaflet's sign-off (an out-of-date translation
    must rebuild it)."""
    jobs = api.plan(api.open_project(root), api.Filters(languages=["es"], layouts=["leaflet"]))
    return jobs.jobs[0].inputs["review"]


def test_an_english_edit_makes_the_spanish_translation_out_of_date(tmp_path: Path) -> None:
    root = copy_repo_project(tmp_path / "project")
    shutil.copy(REPO / "handouts.yaml", root / "handouts.yaml")
    assert not [
        f
        for f in run_checks(load_project(root), today=TODAY).findings
        if f.code.startswith("governance.")
    ]
    spanish_before = _spanish_review_input(root)
    english = root / "content/handouts/exosome-therapy.yaml"
    text = english.read_text()
    text = text.replace("are not the same as stem cells.", "are not the same thing as stem cells.")
    text = text.replace("currently in the pre-clinical", "still in the pre-clinical")
    english.write_text(text)
    # the Spanish documents' input key changes with the English text, so they are rebuilt
    spanish_after = _spanish_review_input(root)
    assert spanish_after != spanish_before and "English questions 3 and 5" in spanish_after
    report = run_checks(load_project(root), today=TODAY)
    stale = _only(report, "governance.translation-out-of-date")
    spanish_lines = (root / "content/handouts/exosome-therapy.es.yaml").read_text().splitlines()
    assert stale.problem.line == spanish_lines.index("translation:") + 1
    assert stale.problem.message == (
        "the English text changed since this translation was made from it (version 2): "
        "English questions 3 and 5"
    )
    assert (stale.handout, stale.language) == ("exosome-therapy", "es")
    assert _only(report, "governance.changed").language == "en"

    ran = run_cli("review", "status", "-C", str(root), "--format", "json")
    es = next(h for h in json.loads(ran.stdout)["handouts"] if h["language"] == "es")
    assert es["state"] == "approved"  # the Spanish text itself is as approved
    assert es["translation"]["state"] == "out-of-date"
    assert es["translation"]["changes"]["questions"] == [3, 5]
    ran = run_cli("review", "status", "-C", str(root))
    assert (
        "translation out of date: English questions 3 and 5 changed since it was translated"
        in ran.stdout
    )

    out = tmp_path / "out"
    ran = run_cli(
        "build", "-C", str(root), "--out", str(out), "-j", "1", "--brand", "riverside",
        "--lang", "es", "--layout", "leaflet",
    )  # fmt: skip
    assert ran.code == 0, ran
    data = (out / "riverside/exosome-therapy.es.leaflet.pdf").read_bytes()
    keywords = pypdf.PdfReader(io.BytesIO(data)).metadata["/Keywords"]
    assert "translation out of date: English questions 3 and 5 changed" in keywords
    assert "out of date" not in pdf_text(data)  # not in the patient's text
    record = json.loads((out / "manifest.json").read_text())["documents"][
        "riverside/exosome-therapy.es.leaflet.pdf"
    ]
    assert record["translation_out_of_date"].startswith("out of date: English questions 3 and 5")
    assert record["draft"] is False
    assert "Translation out of date" in (out / "index.html").read_text()

    # approving the English, then the updated Spanish, brings both back in line
    review.approve(load_project(root), "exosome-therapy", by="Dr A", today=TODAY)
    done = review.approve(load_project(root), "exosome-therapy", "es", by="Dr B", today=TODAY)
    assert done.source == ("en", 3)
    report = run_checks(load_project(root), today=TODAY)
    assert not [f for f in report.findings if f.code.startswith("governance.")]


# ---------------------------------------------------------------- placeholders

PLACEHOLDERS = """\
title: Test
questions:
  - question: Replace this with the first question patients ask
    answer: |
      TODO: write this. Call (212) 555-0142 or see
      [our site](https://www.example.com/help).

      Lorem ipsum dolor sit amet. Todo el cuerpo.
  - question: When? TBD
    answer: Write to hello@clinic.test today.
    sources: [x]
references:
  - id: x
    title: A title
    doi: 10.1000/replace-me
"""


def test_each_placeholder_is_reported_at_its_place(make_project) -> None:
    brand = BRAND.replace("1 Test Street", "1 Main Street, Springfield")
    root = make_project(
        {"handouts.yaml": None, H: PLACEHOLDERS, B: brand, "content/brands/test/logo.svg": None}
    )
    shutil.copy(builtin_dir("templates") / "scaffold/logo.svg", root / B.replace("brand.yaml", ""))
    report = run_checks(load_project(root), today=TODAY)
    found = sorted(
        (f.code, f.problem.line, f.problem.col)
        for f in report.findings
        if f.code.startswith("placeholders.") and f.handout == "sample"
    )
    assert found == [
        ("placeholders.domain", 6, 26),  # www.example.com in a link
        ("placeholders.domain", 10, 28),  # clinic.test in an email address
        ("placeholders.example-doi", 15, 10),
        ("placeholders.phone", 5, 30),  # (212) 555-0142
        ("placeholders.starter-text", 3, 15),
        ("placeholders.todo", 5, 7),  # TODO
        ("placeholders.todo", 8, 7),  # Lorem ipsum ("Todo el cuerpo" is Spanish, not a marker)
        ("placeholders.todo", 9, 21),  # TBD
    ]
    brand_found = sorted(
        (f.code, f.problem.key)
        for f in report.findings
        if f.code.startswith("placeholders.") and f.brands == ("test",)
    )
    assert brand_found == [
        ("placeholders.domain", "contact.booking_url"),
        ("placeholders.domain", "contact.website"),
        ("placeholders.logo", "logo"),
        ("placeholders.phone", "contact.phone"),  # (555) 010-0000
        ("placeholders.starter-text", "contact.address"),
    ]
    phone = next(f for f in report.findings if f.problem.key == "contact.phone")
    assert "has the area code 555" in phone.problem.message
    assert "`example: true` in handouts.yaml" in phone.problem.hint  # the way out is named
    assert all(f.severity == "warning" for f in report.findings if f.code.startswith("place"))

    strict = run_checks(load_project(root), today=TODAY, strict=True)
    assert all(f.severity == "error" for f in strict.findings if f.code.startswith("place"))
    plan = api.plan(load_project(root))
    assert plan.jobs and all(strict.blocked(job) for job in plan.jobs)

    root = make_project({"handouts.yaml": "example: true\n", H: PLACEHOLDERS})
    report = run_checks(load_project(root), today=TODAY)
    assert not [f for f in report.findings if f.code.startswith("placeholders.")]


def test_the_init_sample_is_flagged_and_strict_builds_skip_it(tmp_path: Path) -> None:
    target = tmp_path / "clinic"
    assert run_cli("init", str(target)).code == 0
    ran = run_cli("check", "-C", str(target))
    sample = "content/handouts/preparing-for-your-visit.yaml"
    assert ran.code == 0
    assert f"placeholders.starter-text    {sample}:" in ran.stdout
    assert "placeholders.example-doi" in ran.stdout
    assert "content/brands/my-clinic/brand.yaml:5:7 name: 'My Clinic' is text from the starter" in (
        ran.stdout
    )
    assert "governance.no-review" in ran.stdout
    ran = run_cli("build", "-C", str(target), "-j", "1", "--layout", "leaflet", "--strict")
    assert ran.code == 1
    assert f"error: {sample}:" in ran.stderr and "0 built" in ran.stderr


# ---------------------------------------------------------------- duplicates


def test_duplicates_are_the_same_doi_or_address_never_just_the_title(make_project) -> None:
    refs = """\
references:
  - id: medlineplus
    title: Osteoarthritis
    publisher: MedlinePlus
    url: https://medlineplus.gov/osteoarthritis.html
  - id: nhs
    title: Osteoarthritis
    publisher: NHS
    url: https://www.nhs.uk/conditions/osteoarthritis/
  - id: nhs-again
    title: Osteoarthritis (NHS)
    url: http://nhs.uk/conditions/osteoarthritis
  - id: paper
    title: A paper
    doi: 10.1000/ABC
  - id: paper-again
    title: Another title
    url: https://dx.doi.org/10.1000/abc
"""
    text = HANDOUT.split("references:")[0].replace(
        "sources: [paper]", "sources: [medlineplus, nhs, nhs-again, paper, paper-again]"
    )
    text += refs + "closing:\n  heading: Want to learn more?\n"
    report = run_checks(load_project(make_project({H: text})), today=TODAY)
    dups = [
        (f.problem.key, f.problem.message)
        for f in report.findings
        if f.code == "links.duplicate-reference"
    ]
    assert dups == [
        (
            "references[3].id",
            "reference 'nhs-again' links to the same place as 'nhs' (references[2])",
        ),
        (
            "references[5].id",
            "reference 'paper-again' links to the same place as 'paper' (references[4])",
        ),
    ]


# ---------------------------------------------------------------- print history


def _build_and_record(root: Path, out: Path) -> list[history.Entry]:
    """A build, and the history lines it appended."""
    before = len(history.read(out).entries)
    project = api.open_project(root)
    request = api.BuildRequest(api.Filters(layouts=["leaflet"]), out=out, workers=1)
    api.build(project, request)
    return list(history.read(out).entries[before:])


def test_print_history_after_two_builds(make_project, tmp_path: Path) -> None:
    root = make_project()
    out = tmp_path / "out"
    first = _build_and_record(root, out)
    _approve(root)
    second = _build_and_record(root, out)
    lines = (out / history.NAME).read_text().splitlines()
    assert (
        len(lines) == 2
        and [json.loads(line)["output"] for line in lines] == ["test/sample.en.leaflet.pdf"] * 2
    )
    one, two = (json.loads(line) for line in lines)
    pdf = (out / "test/sample.en.leaflet.pdf").read_bytes()
    assert two["sha256"] == hashlib.sha256(pdf).hexdigest() != one["sha256"]
    assert (one["version"], one["approved"], two["version"], two["approved"]) == (2, False, 3, True)
    assert one["fingerprint"] == two["fingerprint"]  # the same text, now approved
    assert set(one) == {
        "time", "output", "sha256", "brand", "handout", "language", "layout", "version",
        "fingerprint", "approved", "draft",
    }  # fmt: skip
    assert history.read(out).entries == (*first, *second)

    # "which version was printed for this clinic on that date?"
    day = second[0].when.date()
    ran = run_cli("review", "history", "--out", str(out), "--brand", "test", "--on", str(day))
    assert ran.code == 0, ran
    assert ran.stdout.count("test/sample.en.leaflet.pdf") == 1
    assert "version 3, approved" in ran.stdout
    ran = run_cli("review", "history", "--out", str(out), "--on", "2000-01-01")
    assert "no documents in the print history on 2000-01-01" in ran.stdout
    ran = run_cli("review", "history", "--out", str(out), "--format", "json")
    assert [json.loads(line)["version"] for line in ran.stdout.splitlines()] == [2, 3]


def test_history_is_only_appended_and_survives_a_torn_line(tmp_path: Path) -> None:
    entry = history.Entry(
        "2026-11-02T10:00:00+00:00", "b/x.en.leaflet.pdf", "a" * 64, "b", "x", "en", "leaflet",
        1, "f" * 64, True, False,
    )  # fmt: skip
    history.append(tmp_path, [entry])
    path = tmp_path / history.NAME
    with path.open("ab") as handle:
        handle.write(b'{"time": "2026-11-03T')  # a crash in the middle of a line
    inode = path.stat().st_ino
    later = history.Entry(**{**entry.__dict__, "time": "2026-11-04T09:00:00+00:00", "version": 2})
    history.append(tmp_path, [later])
    assert path.stat().st_ino == inode  # appended, never rewritten
    reading = history.read(tmp_path)
    assert reading.entries == (entry, later) and reading.damaged == 1
    assert [e.version for e in history.in_effect(reading.entries, dt.date(2026, 11, 3))] == [1]
    assert [e.version for e in history.in_effect(reading.entries, dt.date(2026, 11, 4))] == [2]
    # a FIFO or a symlink in its place is refused, never followed or waited on
    path.unlink()
    os.mkfifo(path)
    outcome: list[object] = []

    def read_it() -> None:
        try:
            outcome.append(history.read(tmp_path))
        except HandoutsError as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read_it, daemon=True)
    reader.start()
    reader.join(30)
    assert len(outcome) == 1 and isinstance(outcome[0], HandoutsError)
    with pytest.raises(HandoutsError, match="is not a regular file"):
        history.append(tmp_path, [entry])
    path.unlink()
    os.symlink(tmp_path / "elsewhere", path)
    with pytest.raises(HandoutsError, match="cannot add to the print history"):
        history.append(tmp_path, [entry])
    assert not (tmp_path / "elsewhere").exists()
