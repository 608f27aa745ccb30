"""Preflight: each rule made to fail by a deliberately broken stylesheet, layout setting or
content in a tiny project, with a message that names the page and the element; the adapter
over WeasyPrint's boxes; errors that carry pictures of the spot and cross processes."""

from __future__ import annotations

import dataclasses
import io
import pickle
import re
from pathlib import Path

import pdfplumber
import pypdf
import pytest
import zxingcpp

from handouts.errors import HandoutsError
from handouts.models import LayoutSpec, PreflightRules
from handouts.plan import make_plan
from handouts.preflight import PreflightError, PreflightFinding
from handouts.project import load_project
from handouts.render import Rendered, Renderer

from conftest import BRAND, HANDOUT, REPO, page_images, run_cli

MM = 72 / 25.4
LEAFLET_CSS = (REPO / "templates/leaflet/leaflet.css").read_text()
LEAFLET_YAML = (REPO / "templates/leaflet/layout.yaml").read_text()


def _render(root: Path, layout: str = "leaflet", **changes) -> Rendered:
    (job,) = [j for j in make_plan(load_project(root)) if j.layout == layout]
    return Renderer().render(dataclasses.replace(job, **changes) if changes else job)


def _failing(root: Path, layout: str = "leaflet", **changes) -> PreflightError:
    with pytest.raises(PreflightError) as caught:
        _render(root, layout, **changes)
    return caught.value


def _broken_css(make_project, css: str, files: dict | None = None) -> Path:
    """The sample project with the built-in leaflet stylesheet and ``css`` after it."""
    return make_project(
        {"templates/leaflet/leaflet.css": LEAFLET_CSS + "\n" + css, **(files or {})}
    )


def _of(error: PreflightError, rule: str) -> list[PreflightFinding]:
    found = [f for f in error.findings if f.rule == rule and f.severity == "error"]
    assert found, error.findings
    return found


# ---------------------------------------------------------------- the adapter


def test_layout_boxes_adapter_reads_what_preflight_needs() -> None:
    """Fails loudly when WeasyPrint changes the internals layoutboxes.py reads."""
    from weasyprint import HTML

    from handouts.layoutboxes import read_pages

    svg = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/%3E"
    html = f"""<html><head><style>
      @page {{ size: 100mm 100mm; margin: 10mm; @bottom-left {{ content: "foot"; }} }}
      body {{ margin: 0; font-size: 12pt; }}
      .box {{ margin-left: 5mm; width: 40mm; padding: 2mm; border: 1mm solid red;
             background: #eee; break-inside: avoid; }}
      .cols {{ columns: 2; column-gap: 4mm; }}
      .abs {{ position: absolute; top: 0; right: 0; }}
      .split {{ background: #ddd; }}
    </style></head><body>
      <div class="box" data-x="1"><p>Hello world</p><img src="{svg}" style="width: 10mm"></div>
      <div class="cols"><p>one</p><p>two</p></div>
      <div class="abs">corner</div>
      <div class="split">{"<p>tall</p>" * 40}</div>
    </body></html>"""
    pages = read_pages(HTML(string=html).render())
    assert len(pages) >= 2
    first = pages[0]
    assert first.number == 1 and first.bleed == 0
    assert first.width == pytest.approx(100 * MM, abs=0.1)
    assert first.area.x0 == pytest.approx(10 * MM, abs=0.1)
    assert first.area.height == pytest.approx(80 * MM, abs=0.1)
    nodes = [n for root in first.body for n in root.walk()]
    box = next(n for n in nodes if "box" in n.classes)
    assert box.kind == "block" and box.painted and box.avoid_break_inside
    assert box.attrs == {"data-x": "1"}
    assert box.border.x0 == pytest.approx(15 * MM, abs=0.1)
    assert box.border.width == pytest.approx(46 * MM, abs=0.1)  # 40 + 2 * 2 + 2 * 1
    assert box.content.width == pytest.approx(40 * MM, abs=0.1)
    assert box.padding.width == pytest.approx(44 * MM, abs=0.1)
    text = next(n for n in box.walk() if n.kind == "text")
    assert text.text.startswith("Hello") and text.font_pt == pytest.approx(12)
    assert text.parent is not None and text.parent.kind == "line"
    image = next(n for n in box.walk() if n.kind == "image")
    assert image.border.width == pytest.approx(10 * MM, abs=0.1)
    assert [n.kind for n in nodes].count("column") == 2
    corner = next(n for n in nodes if "abs" in n.classes)
    assert corner.position == "absolute"
    assert [m.kind for m in first.margins] == ["page-margin"]
    assert "foot" in first.margins[0].text_content()
    split = [
        n
        for page in pages
        for root in page.body
        for n in root.walk()
        if "split" in n.classes and n.kind == "block"
    ]
    assert len(split) >= 2 and len({n.element for n in split}) == 1  # one element, two pages


# ---------------------------------------------------------------- each rule, made to fail


def test_safe_area_names_the_page_and_the_element(make_project) -> None:
    root = make_project({"templates/leaflet/leaflet.css": "@page { margin: 2mm; }"})
    error = _failing(root)
    finding = _of(error, "safe-area")[0]
    assert finding.page == 1
    assert "the clinic's name" in str(finding) or "the header" in str(finding)
    assert re.search(r"prints \d\.\d mm from the (top|left) edge of the page", finding.message)
    assert "within 5 mm of the edge" in finding.message
    ran = run_cli("build", "-C", str(root), "-j", "1")
    assert ran.code == 1
    assert "test/sample.en.leaflet.pdf: page 1, " in ran.stderr
    assert re.search(r"from the (top|left) edge of the page", ran.stderr)


def test_backgrounds_may_bleed_in_print_ready_files_only(make_project) -> None:
    root = _broken_css(
        make_project, ".title-block { margin-left: -20mm; padding-left: 20mm; background: #FFE; }"
    )
    error = _failing(root)
    assert any("the title" in f.element for f in _of(error, "safe-area"))
    rendered = _render(root, fmt="print")
    assert not [f for f in rendered.preflight if f.rule == "safe-area"]


def test_containment_catches_a_word_too_long_to_wrap(make_project) -> None:
    word = "a" * 3000
    text = HANDOUT.replace("A short answer.", f"A short answer {word} end.")
    # The built-in stylesheets break it, and nothing leaves the page.
    root = make_project({"content/handouts/sample.yaml": text})
    rendered = _render(root)
    assert not [f for f in rendered.preflight if f.severity == "error"]
    with pdfplumber.open(io.BytesIO(rendered.pdf)) as pdf:
        for page in pdf.pages:
            assert all(c["x1"] <= page.width - 5 * MM for c in page.chars)
    # A stylesheet that forbids breaking it fails the document, naming where.
    root = _broken_css(
        make_project,
        "p { overflow-wrap: normal !important; }",
        {"content/handouts/sample.yaml": text},
    )
    error = _failing(root)
    finding = _of(error, "containment")[0]
    assert finding.page == 1
    assert "the question \u201cWhat is this?\u201d" in finding.element
    assert "aaaa" in finding.element
    assert re.search(r"reaches \d+\.\d mm to the right of its column", finding.message)


def test_overlap_of_the_header_phone_and_a_long_clinic_name(make_project) -> None:
    long_name = "The Very Long Named Community Clinic for Regenerative Medicine"
    root = _broken_css(
        make_project,
        ".brand-contact { position: relative; left: -100mm; }",
        {"content/brands/test/brand.yaml": BRAND.replace("Test Clinic", long_name)},
    )
    error = _failing(root)
    finding = _of(error, "overlap")[0]
    assert finding.page == 1
    assert re.search(
        r"the (clinic's name|header's phone number and web address).*overlaps the "
        r"(clinic's name|header's phone number and web address).* by \d+\.\d mm",
        str(finding),
    )


def test_page_fill_is_a_warning_the_fitter_tries_to_avoid(make_project) -> None:
    layout = "max_pages: 2\nbody_pt: 11.5\nmin_body_pt: 11\n"  # no room to grow: it gives up
    root = _broken_css(
        make_project,
        ".closing { break-before: page; }",
        {"templates/leaflet/layout.yaml": layout},
    )
    rendered = _render(root)
    (finding,) = [f for f in rendered.preflight if f.rule == "page-fill"]
    assert finding.severity == "warning" and finding.page == 2
    assert re.search(
        r"page 2, the page: is only \d+% filled \(at least 30% is expected\)", str(finding)
    )
    # Made an error in layout.yaml, it fails the document.
    strict = layout + "preflight:\n  severity:\n    page-fill: error\n"
    root = _broken_css(
        make_project, ".closing { break-before: page; }", {"templates/leaflet/layout.yaml": strict}
    )
    assert _of(_failing(root), "page-fill")[0].page == 2


def test_a_heading_left_at_the_foot_of_a_column(make_project) -> None:
    root = _broken_css(make_project, ".qa h2 { break-after: column !important; }")
    finding = _of(_failing(root), "keep-together")[0]
    assert finding.page == 1
    assert "the question \u201cWhat is this?\u201d" in finding.element
    assert "is a heading left at the foot of its column" in finding.message


def test_a_lead_in_left_at_the_foot_of_a_column(make_project) -> None:
    text = HANDOUT.replace("      - two\n", "      - two\n\n      Read more below:\n")
    root = _broken_css(
        make_project,
        ".qa .answer { break-after: column !important; }",
        {"content/handouts/sample.yaml": text},
    )
    finding = _of(_failing(root), "keep-together")[0]
    assert "Read more below:" in finding.element
    assert "is a lead-in ending in ':' left at the foot of its column" in finding.message


def test_a_short_box_split_across_columns(make_project) -> None:
    text = HANDOUT.replace("sources: [paper]", "sources: [paper, other]").replace(
        "references:\n",
        "references:\n  - id: other\n    title: Another paper\n    doi: 10.1000/abc456\n",
    )
    root = _broken_css(
        make_project,
        ".sources { break-inside: auto !important; } "
        ".sources .ref + .ref { break-before: column !important; }",
        {"content/handouts/sample.yaml": text},
    )
    finding = next(f for f in _of(_failing(root), "keep-together") if "split" in f.message)
    assert finding.page == 1 and "the sources box" in finding.element
    assert re.search(
        r"is split across two columns of page 1, though it is only \d+\.\d mm tall", finding.message
    )


def test_type_below_the_layouts_floor(make_project) -> None:
    root = _broken_css(make_project, ".answer { font-size: 6pt !important; }")
    finding = _of(_failing(root), "type-floor")[0]
    assert finding.page == 1 and "the question \u201cWhat is this?\u201d" in finding.element
    assert finding.message == "is set in 6.0 pt; this layout needs at least 8 pt"


def test_qr_modules_too_small_to_scan(make_project) -> None:
    root = _broken_css(
        make_project, ".ref .qr { width: 10mm !important; height: 10mm !important; }"
    )
    finding = next(f for f in _of(_failing(root), "qr") if "modules" in f.message)
    assert (
        finding.page == 1 and "the reference \u201cA paper: about things\u201d" in finding.element
    )
    assert re.search(r"QR code modules print 0\.\d\d mm wide; at least 0\.5 mm", finding.message)


def test_booking_code_too_small(make_project) -> None:
    layout = LEAFLET_YAML.replace("booking_qr_mm: 30", "booking_qr_mm: 18").replace(
        "qr_max_mm: 38", "qr_max_mm: 20"
    )
    root = make_project({"templates/leaflet/layout.yaml": layout})
    finding = _of(_failing(root), "qr")[0]
    assert finding.page == 1 and "the booking card" in finding.element
    assert re.search(r"the booking code prints \d+\.\d mm wide; at least 25 mm", finding.message)


def test_booking_code_smaller_than_a_source_code_on_its_page(make_project) -> None:
    root = _broken_css(
        make_project, ".ref .qr { width: 45mm !important; height: 45mm !important; }"
    )
    finding = next(f for f in _of(_failing(root), "qr") if "largest" in f.message)
    assert finding.page == 1 and "the booking card" in finding.element
    assert re.search(r"is smaller than another code on this page \(\d+\.\d mm\)", finding.message)


def test_rules_are_set_per_layout(make_project) -> None:
    css = ".answer { font-size: 6pt !important; }"
    warn = LEAFLET_YAML + "  severity:\n    type-floor: warning\n"
    root = _broken_css(make_project, css, {"templates/leaflet/layout.yaml": warn})
    rendered = _render(root)
    assert {f.rule for f in rendered.preflight if f.severity == "warning"} == {"type-floor"}
    off = LEAFLET_YAML.replace('"*": 8 ', '"*": 5 ')
    root = _broken_css(make_project, css, {"templates/leaflet/layout.yaml": off})
    assert not [f for f in _render(root).preflight if f.rule == "type-floor"]
    assert LayoutSpec().preflight == PreflightRules()
    assert PreflightRules().level("page-fill") == "warning"
    assert PreflightRules().level("overlap") == "error"


# ---------------------------------------------------------------- what an error carries


def test_an_error_carries_pictures_of_each_spot_and_crosses_processes(make_project) -> None:
    root = make_project({"templates/leaflet/leaflet.css": "@page { margin: 2mm; }"})
    error = _failing(root)
    assert isinstance(error, HandoutsError)
    errors = [f for f in error.findings if f.severity == "error"]
    assert errors and all(f.crop for f in errors)
    assert set(error.files) == {f.crop for f in errors}
    for name, png in error.files.items():
        assert re.fullmatch(r"test/sample\.en\.leaflet\.preflight-p\d+-\d+\.png", name)
        assert png.startswith(b"\x89PNG")
    assert f"picture: {errors[0].crop}" in str(error)
    again = pickle.loads(pickle.dumps(error))
    assert again.findings == error.findings and again.files == error.files
    assert str(again) == str(error)


def test_a_folded_layout_keeps_its_panels_under_a_one_page_brand(make_project) -> None:
    root = make_project(
        {"content/brands/test/brand.yaml": BRAND + "layouts: [trifold]\nmax_pages: 1\n"}
    )
    assert _render(root, "trifold").pages == 2


def test_short_addresses_for_codes_and_print_full_ones_for_links(make_project) -> None:
    text = HANDOUT.replace(
        "    doi: 10.1000/xyz123\n",
        "    doi: 10.1000/xyz123\n    short_url: https://go.test.example/paper\n"
        "    label: a test paper\n",
    )
    brand = BRAND.replace(
        "  booking_url: https://test.example/book\n",
        "  booking_url: https://test.example/book/new-patient?clinic=main&service=consult\n"
        "  booking_short_url: https://test.example/b\n",
    )
    root = make_project(
        {"content/handouts/sample.yaml": text, "content/brands/test/brand.yaml": brand}
    )
    pdf = _render(root).pdf
    codes = sorted(c.text for c in zxingcpp.read_barcodes(page_images(pdf, 200)[0]))
    assert codes == ["https://go.test.example/paper", "https://test.example/b"]
    words = pdfplumber.open(io.BytesIO(pdf)).pages[0].extract_text()
    assert "go.test.example/paper" in words and "test.example/b" in words
    assert "Scan: a test paper" in words
    links = [
        str(a.get_object()["/A"]["/URI"])
        for page in pypdf.PdfReader(io.BytesIO(pdf)).pages
        for a in page.get("/Annots") or []
        if "/URI" in a.get_object().get("/A", {})
    ]
    assert "https://doi.org/10.1000/xyz123" in links
    assert "https://test.example/book/new-patient?clinic=main&service=consult" in links


def test_the_examples_pass_preflight_and_the_fitter_fills_the_spanish_leaflet() -> None:
    project = load_project(REPO)
    (job,) = [j for j in make_plan(project) if j.label == "harbour/exosome-therapy.es.leaflet"]
    rendered = Renderer().render(job)
    assert rendered.preflight == []
    assert rendered.pages == 3
    assert rendered.body_pt > job.spec.body_pt  # grown to fill the third page


def test_every_new_setting_is_documented() -> None:
    from handouts.models import Contact, Reference

    brand_doc = (REPO / "docs/setting-up-a-brand.md").read_text()
    for name in PreflightRules.model_fields:
        assert f"{name}:" in brand_doc or f"`{name}`" in brand_doc, name
    for name in ("max_body_pt", "spacing", "qr_module_mm"):
        assert f"`{name}`" in brand_doc, name
    for rule in ("safe-area", "containment", "overlap", "page-fill", "keep-together"):
        assert f"`{rule}`" in brand_doc, rule
    assert "booking_short_url" in brand_doc and "booking_short_url" in Contact.model_fields
    handout_doc = (REPO / "docs/writing-a-handout.md").read_text()
    for name in ("short_url", "label", "language"):
        assert name in Reference.model_fields and f"`{name}:`" in handout_doc, name


def test_preflight_warnings_reach_the_manifest_gallery_and_check(make_project) -> None:
    """A warning found on the printed pages is kept with the document: in the manifest, in the
    gallery, and in `handouts check` after the build (the check reads the manifest)."""
    import json

    from conftest import run_cli

    root = make_project()
    assert run_cli("build", "-C", str(root), "-j", "1").code == 0
    out = root / "output"
    manifest = json.loads((out / "manifest.json").read_text())
    record = manifest["documents"]["test/sample.en.leaflet.pdf"]
    assert record["preflight"] == [] and record["fit"].startswith("11.5 pt")
    finding = {
        "rule": "page-fill", "severity": "warning", "page": 1, "element": "the page",
        "message": "is only 20% filled", "hint": "add content", "bbox": [0, 0, 10, 10],
        "crop": "",
    }  # fmt: skip
    record["preflight"] = [finding]
    (out / "manifest.json").write_text(json.dumps(manifest))
    ran = run_cli("check", "-C", str(root), "--format", "json")
    found = [f for f in json.loads(ran.stdout)["findings"] if f["code"] == "preflight.page-fill"]
    assert [(f["path"], f["message"], f["handout"]) for f in found] == [
        ("output/test/sample.en.leaflet.pdf", "page 1, the page: is only 20% filled", "sample")
    ]
    from handouts import api
    from handouts.gallery import write_gallery

    write_gallery(out, manifest["documents"], api.open_project(root).template_dirs)
    gallery = (out / "index.html").read_text()
    assert "1 print warning" in gallery and "Page 1, the page: is only 20% filled" in gallery
    (root / "content/handouts/sample.yaml").write_text(
        (root / "content/handouts/sample.yaml").read_text().replace("Yes.", "Yes, it is.")
    )
    # The next build replaces the record (and its findings) with the new document's.
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert run_cli("build", "-C", str(root), "-j", "1").code == 0
    assert "print warning" not in (out / "index.html").read_text()
