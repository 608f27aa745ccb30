"""plan.py: which documents the brands ask for, their keys, and what a broken file blocks."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from handouts import api, formats
from handouts.errors import HandoutsError
from handouts.plan import Filters, make_plan

from conftest import BRAND, HANDOUT, LOGO_SVG

H = "content/handouts/sample.yaml"
B = "content/brands/test/brand.yaml"


def _project(make_project, files: dict | None = None) -> api.Project:
    return api.open_project(make_project(files or {}))


def _outputs(plan) -> list[str]:
    return sorted(str(j.output) for j in plan.jobs)


def test_one_job_per_brand_handout_language_and_layout(make_project) -> None:
    spanish = HANDOUT.replace("language: en", "language: es")
    project = _project(
        make_project,
        {
            "content/handouts/sample.es.yaml": spanish,
            B: BRAND + "languages: [en, es]\nlayouts: [leaflet, trifold]\n",
        },
    )
    assert _outputs(make_plan(project)) == [
        "test/sample.en.leaflet.pdf",
        "test/sample.en.trifold.pdf",
        "test/sample.es.leaflet.pdf",
        "test/sample.es.trifold.pdf",
    ]
    narrowed = make_plan(project, Filters(languages=["es"], layouts=["trifold"]))
    assert _outputs(narrowed) == ["test/sample.es.trifold.pdf"]
    labels = [j.label for j in narrowed]
    assert labels == ["test/sample.es.trifold"]


def test_a_filter_that_names_nothing_is_an_error_with_a_suggestion(make_project) -> None:
    with pytest.raises(HandoutsError) as caught:
        make_plan(_project(make_project), Filters(layouts=["leaflett"]))
    assert str(caught.value) == "--layout: nothing is called 'leaflett' (did you mean 'leaflet'?)"


def test_print_ready_adds_a_print_job_beside_the_pdf(make_project) -> None:
    plan = make_plan(_project(make_project), Filters(print_ready=True))
    assert _outputs(plan) == ["test/sample.en.leaflet.pdf", "test/sample.en.leaflet.print.pdf"]
    assert [j.print_ready for j in plan] == [False, True]
    assert plan.jobs[1].label == "test/sample.en.leaflet.print"


@pytest.mark.parametrize(
    ("handout_max", "brand_max", "layout", "expected"),
    [
        (None, None, "leaflet", 2),
        (3, None, "leaflet", 3),  # a longer translation may ask for more
        (3, 1, "leaflet", 1),  # the brand lowers it
        (5, None, "trifold", 2),  # a fold keeps its own page count
        (None, None, "large-print", None),  # grows as needed
    ],
)
def test_page_limits(make_project, handout_max, brand_max, layout, expected) -> None:
    handout = HANDOUT + (f"max_pages: {handout_max}\n" if handout_max else "")
    brand = BRAND + f"layouts: [{layout}]\n" + (f"max_pages: {brand_max}\n" if brand_max else "")
    (job,) = make_plan(_project(make_project, {H: handout, B: brand}))
    assert job.max_pages == expected


def test_keys_follow_content_not_file_times(make_project) -> None:
    root = make_project()
    (before,) = make_plan(api.open_project(root))
    for path in (root / "content").rglob("*"):
        os.utime(path, (time.time() + 99, time.time() + 99))
    (touched,) = make_plan(api.open_project(root))
    assert touched.key == before.key
    (root / "content/brands/test/logo.svg").write_text(LOGO_SVG.replace('r="4"', 'r="3"'))
    (logo_changed,) = make_plan(api.open_project(root))
    assert logo_changed.key != before.key
    changed = {k for k in before.inputs if before.inputs[k] != logo_changed.inputs[k]}
    assert changed == {"brand"}
    (root / "handouts.yaml").write_text("target_grade: 7\n")
    (settings_changed,) = make_plan(api.open_project(root))
    assert settings_changed.inputs["settings"] != logo_changed.inputs["settings"]


def test_broken_files_block_what_depends_on_them(make_project) -> None:
    files = {
        "content/handouts/other.yaml": HANDOUT.replace("id: sample", "id: other").replace(
            "title:", "titel:"
        ),
        "content/brands/second/brand.yaml": BRAND.replace("#0B5E6B", "teal"),
        "content/brands/second/logo.svg": LOGO_SVG,
    }
    plan = make_plan(_project(make_project, files))
    assert _outputs(plan) == ["test/sample.en.leaflet.pdf"]
    blocked = {b.output: b.error for b in plan.blocked}
    assert set(blocked) == {"test/other.en.leaflet.pdf", "second/"}
    assert "handout 'other' has errors (see above)" in blocked["test/other.en.leaflet.pdf"]
    assert blocked["second/"].startswith("content/brands/second/brand.yaml: brand 'second'")
    # Filters know the broken names too: asking for them reports, rather than "unknown".
    only = make_plan(_project(make_project, files), Filters(handouts=["other"]))
    assert only.jobs == ()
    # What a broken brand would print is unknown, so it is reported whatever the filter.
    assert [b.output for b in only.blocked] == ["test/other.en.leaflet.pdf", "second/"]


def test_broken_settings_block_everything(make_project) -> None:
    plan = make_plan(_project(make_project, {"handouts.yaml": "target_grade: eight\n"}))
    assert plan.jobs == ()
    assert [b.error for b in plan.blocked] == [
        "handouts.yaml: the project settings have errors (see above) (fix them, then build again)"
    ]


def test_a_new_format_plugs_in_without_touching_the_build(make_project, tmp_path: Path) -> None:
    @formats.register
    class Summary(formats.Format):
        name = "summary-test"
        suffix = ".txt"
        per_layout = False
        needs_renderer = False

        def render(self, job, renderer, page_cap):
            text = f"{job.handout.handout.title} for {job.brand.brand.name}\n".encode()
            return formats.Output({str(job.output): text})

    try:
        project = _project(make_project, {B: BRAND + "layouts: [leaflet, trifold]\n"})
        plan = api.plan(project, formats=["summary-test"])
        assert _outputs(plan) == ["test/sample.en.txt"]  # once, not per layout
        request = api.BuildRequest(formats=["summary-test"], out=tmp_path / "out", workers=2)
        report = api.build(project, request)
        assert [r.status for r in report.results] == ["built"]
        written = (tmp_path / "out/test/sample.en.txt").read_text()
        assert written == "Sample Handout for Test Clinic\n"
        again = api.build(project, request)
        assert [r.status for r in again.results] == ["skipped"]
    finally:
        formats._REGISTRY.pop("summary-test")


def test_templates_a_format_never_reads_do_not_change_its_key(make_project) -> None:
    root = make_project({"templates/README.txt": "the project's own templates"})
    (before,) = make_plan(api.open_project(root))
    email = root / "templates/email/subject.html"
    email.parent.mkdir(parents=True)
    email.write_text("{{ clinic }}")
    (after,) = make_plan(api.open_project(root))
    assert after.key == before.key
    base = root / "templates/base/extra.css"
    base.parent.mkdir(parents=True)
    base.write_text("p {}")
    (changed,) = make_plan(api.open_project(root))
    assert changed.key != before.key
