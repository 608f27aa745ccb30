"""context.py: the view of one document that templates see. Content arrives as escaped HTML
(data, never template code), colours are derived from the brand's two, dates are the
content's own."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from markupsafe import Markup

from handouts import api
from handouts.context import build_context, source_epoch, theme_colors

from conftest import BRAND, HANDOUT

H = "content/handouts/sample.yaml"
B = "content/brands/test/brand.yaml"


def _context(make_project, files: dict | None = None) -> dict:
    (job,) = api.plan(api.open_project(make_project(files or {})))
    return build_context(job, lambda p: f"asset:{p.name}")


def test_content_is_escaped_html_never_template_code(make_project) -> None:
    text = HANDOUT.replace("Yes.", "Yes <script>alert(1)</script> {{ 7*7 }} **bold**.")
    context = _context(make_project, {H: text})
    html = context["questions"][1]["html"]
    assert isinstance(html, Markup)
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "{{ 7*7 }}" in html and "<strong>bold</strong>" in html


def test_theme_colours_are_derived_from_the_brand(make_project) -> None:
    theme = _context(make_project)["theme"]
    assert theme["primary"] == "#0B5E6B"
    assert theme == {**theme, **theme_colors("#0B5E6B", "#E3A72F")}
    assert theme["primary_dark"] < theme["primary"]  # darker: smaller hex in each channel
    assert (theme["paper"], theme["orientation"], theme["print_ready"]) == (
        "letter",
        "portrait",
        False,
    )


def test_references_carry_qr_codes_only_when_they_have_a_link(make_project) -> None:
    context = _context(make_project)
    (ref,) = context["questions"][0]["sources"]
    assert ref["link"] == "https://doi.org/10.1000/xyz123"
    assert ref["qr"] is not None and ref["link_label"] == "doi.org/10.1000/xyz123"
    unlinked = _context(make_project, {H: HANDOUT.replace("    doi: 10.1000/xyz123\n", "")})
    (ref,) = unlinked["questions"][0]["sources"]
    assert ref["link"] is None and ref["qr"] is None
    assert context["brand"]["booking_qr"] is not None
    assert context["brand"]["contact"]["phone_href"] == "tel:5550100000"


def test_dates_come_from_the_review_in_the_handouts_language(make_project) -> None:
    spanish = HANDOUT.replace("language: en", "language: es")
    files = {"content/handouts/sample.es.yaml": spanish, H: None, B: BRAND + "languages: [es]\n"}
    root: Path = make_project(files)
    (root / H).unlink(missing_ok=True)
    (job,) = api.plan(api.open_project(root))
    context = build_context(job, lambda p: p.name)
    assert context["review"]["reviewed_on"] == "1 de octubre de 2026"
    assert context["doc"]["date"] == "2026-10-01"
    assert dt.datetime.fromtimestamp(source_epoch(job), dt.UTC).date() == dt.date(2026, 10, 1)
