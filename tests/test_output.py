"""Output layer: the real example leaflets, inspected as a reader and a PDF checker would."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pypdf
import pytest
import yaml

from conftest import REPO, decode_qr_codes, normalise, page_images, pdf_text, run_cli

BRANDS = ["riverside", "harbour"]
SEED = REPO.parent / "shared" / "seed" / "exosome-therapy-faq.txt"


def _leaflet(out: Path, brand: str) -> bytes:
    return (out / brand / "exosome-therapy.en.leaflet.pdf").read_bytes()


def _content() -> dict:
    return yaml.safe_load((REPO / "content/handouts/exosome-therapy.yaml").read_text())


def _brand(brand: str) -> dict:
    return yaml.safe_load((REPO / "content/brands" / brand / "brand.yaml").read_text())


def _seed_questions() -> list[str]:
    """Question lines of the seed FAQ (the last is the closing call to action), when the
    seed is at hand; else those of the content and its closing heading."""
    if SEED.is_file():
        lines = [line.strip() for line in SEED.read_text().splitlines()]
        return [line for line in lines if line.endswith("?") and len(line) < 80]
    content = _content()
    return [q["question"] for q in content["questions"]] + [content["closing"]["heading"]]


@pytest.mark.skipif(not SEED.is_file(), reason="the seed FAQ is not beside this checkout")
def test_content_has_every_seed_question() -> None:
    questions = [q["question"] for q in _content()["questions"]]
    seed = _seed_questions()
    # The seed's last line ("Want to learn more ...?") is the closing call to action.
    assert seed[-1] == _content()["closing"]["heading"]
    assert questions == seed[:-1]


@pytest.mark.parametrize("brand", BRANDS)
def test_every_question_and_the_notice_are_printed(example_build: Path, brand: str) -> None:
    text = normalise(pdf_text(_leaflet(example_build, brand)))
    for question in _seed_questions():
        assert normalise(question) in text
    assert "No exosome products have been approved by the FDA" in text
    assert _brand(brand)["name"] in text
    assert _brand(brand)["contact"]["phone"] in text


@pytest.mark.parametrize("brand", BRANDS)
def test_every_qr_code_scans_to_its_source(example_build: Path, brand: str) -> None:
    content = _content()
    expected = []
    cited = [s for n in content["notices"] for s in n.get("sources", [])]
    cited += [s for q in content["questions"] for s in q.get("sources", [])]
    refs = {r["id"]: r for r in content["references"]}
    for ref_id in cited:
        ref = refs[ref_id]
        if ref.get("url"):
            expected.append(ref["url"])
        elif ref.get("doi"):
            expected.append(f"https://doi.org/{ref['doi']}")
    expected.append(_brand(brand)["contact"]["booking_url"])
    decoded = decode_qr_codes(_leaflet(example_build, brand), dpi=150)
    assert sorted(decoded) == sorted(expected)
    # The article without a confirmed link is printed, honestly, without a QR code.
    text = normalise(pdf_text(_leaflet(example_build, brand)))
    assert "Exosomes: Current use and future applications" in text
    assert "No confirmed online link" in text


@pytest.mark.parametrize("brand", BRANDS)
def test_metadata_fonts_and_no_attachments(example_build: Path, brand: str) -> None:
    data = _leaflet(example_build, brand)
    reader = pypdf.PdfReader(io.BytesIO(data))
    info = reader.metadata
    assert info.title == "Exosome Therapy"
    assert info.author == _brand(brand)["name"]
    assert info.subject == "Frequently Asked Questions"
    assert "Exosome Therapy" in info.get("/Keywords", "")
    assert info.get("/CreationDate", "").startswith("D:20261203")  # the review date
    assert str(reader.trailer["/Root"]["/Lang"]) == "en"
    assert "/EmbeddedFiles" not in reader.trailer["/Root"].get("/Names", {})
    assert b"/EmbeddedFile" not in data
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = (
                font.get("/FontDescriptor")
                or font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            )
            descriptor = descriptor.get_object()
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            fonts.add(str(font["/BaseFont"]))
    assert any("Atkinson-Hyperlegible" in f for f in fonts), fonts
    assert any("Bold" in f for f in fonts)


def test_paper_sizes_follow_the_brand(example_build: Path) -> None:
    sizes = {}
    for brand in BRANDS:
        reader = pypdf.PdfReader(io.BytesIO(_leaflet(example_build, brand)))
        box = reader.pages[0].mediabox
        sizes[_brand(brand)["paper"]] = (round(float(box.width)), round(float(box.height)))
    assert sizes == {"letter": (612, 792), "a4": (595, 842)}


@pytest.mark.parametrize("brand", BRANDS)
def test_footer_and_page_count(example_build: Path, brand: str) -> None:
    data = _leaflet(example_build, brand)
    reader = pypdf.PdfReader(io.BytesIO(data))
    pages = len(reader.pages)
    assert 1 <= pages <= 2
    for number, page in enumerate(reader.pages, start=1):
        text = normalise(page.extract_text())
        assert f"Page {number} of {pages}" in text
        assert "Reviewed December 3, 2026 · Version 2" in text


@pytest.mark.parametrize("brand", BRANDS)
def test_brand_colour_is_on_the_page(example_build: Path, brand: str) -> None:
    """The brand's primary colour really reaches the page (closing block background)."""
    primary = _brand(brand)["colors"]["primary"].lstrip("#")
    target = tuple(int(primary[i : i + 2], 16) for i in (0, 2, 4))
    last = page_images(_leaflet(example_build, brand), dpi=40)[-1].convert("RGB")
    colours = last.getcolors(maxcolors=1_000_000)
    near = sum(
        n for n, c in colours if all(abs(a - b) <= 6 for a, b in zip(c, target, strict=True))
    )
    assert near > 0.01 * last.width * last.height


def test_determinism_two_builds_are_byte_identical(tmp_path: Path, example_build: Path) -> None:
    ran = run_cli("build", "-C", str(REPO), "--out", str(tmp_path), "--jobs", "1", "--quiet")
    assert ran.code == 0, ran
    for brand in BRANDS:
        assert _leaflet(tmp_path, brand) == _leaflet(example_build, brand)


def test_html_format_writes_html_and_its_assets(tmp_path: Path) -> None:
    ran = run_cli(
        "build",
        "-C",
        str(REPO),
        "--out",
        str(tmp_path),
        "--format",
        "html",
        "--brand",
        "riverside",
        "--quiet",
    )
    assert ran.code == 0, ran
    html = (tmp_path / "riverside" / "exosome-therapy.en.leaflet.html").read_text()
    assert '<html lang="en">' in html
    linked = re.findall(r'(?:href|src)="(assets/[^"]+)"', html)
    linked += re.findall(r"url\((assets/[^)]+)\)", html)
    assert any(name.endswith(".css") for name in linked)
    assert any(name.endswith(".ttf") for name in linked)
    assert any(name.endswith("logo.svg") for name in linked)
    for name in linked:
        assert (tmp_path / "riverside" / name).is_file(), name
    assert not list(tmp_path.rglob("*.pdf"))


def test_qr_svg_merges_modules_into_rectangles_that_cover_exactly_the_dark_ones() -> None:
    import re

    import qrcode

    from handouts.qr import to_svg

    code = qrcode.QRCode(border=4)
    code.add_data("https://doi.org/10.1186/s12964-022-00959-4")
    code.make(fit=True)
    matrix = code.get_matrix()
    svg = to_svg(matrix)
    painted = [[False] * len(matrix) for _ in matrix]
    rects = re.findall(r"M(\d+) (\d+)h(\d+)v(\d+)h-\d+z", svg)
    for x, y, w, h in ((int(v) for v in r) for r in rects):
        for row in range(y, y + h):
            for col in range(x, x + w):
                assert not painted[row][col], "rectangles overlap"
                painted[row][col] = True
    assert painted == matrix
    dark = sum(map(sum, matrix))
    assert len(rects) < dark / 2  # far fewer drawing commands than one square per module
    assert '<rect width="' in svg and 'fill="#FFFFFF"' in svg  # a white quiet zone
