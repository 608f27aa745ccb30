"""The printed pages as a print designer and a low-vision reader see them: each defect once
shipped in the example handouts (issue: print preflight, items 1-10) has a test on the real
PDFs, positions read with pdfplumber, sizes with zxing-cpp and pypdfium2. A stress project
(a very long clinic name and address, a long booking address, a PNG logo, one-page leaflets,
the Spanish handout) must build without a single preflight error."""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pdfplumber
import pypdf
import pytest
import yaml
import zxingcpp
from PIL import Image

from conftest import REPO, normalise, page_images, pdf_text, run_cli

MM = 72 / 25.4
BRANDS = ["riverside", "harbour"]
LANGS = ["en", "es"]
LAYOUTS = ["leaflet", "large-print", "trifold"]
EVERY_DOC = [(b, lang, layout) for b in BRANDS for lang in LANGS for layout in LAYOUTS]
# The bottom page margin of each layout (its running footer lives there).
FOOTER_MM = {"leaflet": 19, "large-print": 32, "trifold": 6.5}
TOP_MM = {"leaflet": 12, "large-print": 25.4, "trifold": 6.5}


def _path(out: Path, brand: str, lang: str, layout: str) -> Path:
    return out / brand / f"exosome-therapy.{lang}.{layout}.pdf"


def _brand(brand: str) -> dict:
    return yaml.safe_load((REPO / "content/brands" / brand / "brand.yaml").read_text())


def _ink(page) -> Iterator[tuple[float, float, float, float]]:
    """Every printed thing on a page: characters, images, lines, rectangles and curves."""
    for char in page.chars:
        if char["text"].strip():
            yield char["x0"], char["top"], char["x1"], char["bottom"]
    for kind in (page.images, page.rects, page.lines, page.curves):
        for obj in kind:
            yield obj["x0"], obj["top"], obj["x1"], obj["bottom"]


def _lines(page, top: float, bottom: float) -> list[str]:
    """The text lines between two heights, top to bottom."""
    rows: dict[int, list[dict]] = {}
    for char in page.chars:
        if top <= char["top"] and char["bottom"] <= bottom:
            rows.setdefault(round(char["top"]), []).append(char)
    return [
        "".join(c["text"] for c in sorted(chars, key=lambda c: c["x0"])).strip()
        for _top, chars in sorted(rows.items())
    ]


def _find(page, phrase: str) -> list[dict]:
    """The words of ``phrase`` where it starts on the page (first match), or []."""
    words = page.extract_words(extra_attrs=["size", "fontname", "non_stroking_color"])
    wanted = phrase.split()
    for i in range(len(words) - len(wanted) + 1):
        if [w["text"] for w in words[i : i + len(wanted)]] == wanted:
            return words[i : i + len(wanted)]
    return []


def _find_in(pdf, phrase: str) -> tuple[int, list[dict]]:
    for number, page in enumerate(pdf.pages, start=1):
        found = _find(page, phrase)
        if found:
            return number, found
    return 0, []


# ---------------------------------------------------------------- 1. the booking card


def _panel_rows(image: Image.Image, colour: str, share: float = 0.4) -> list[int]:
    """Rows of pixels where the brand's colour covers most of the width: the closing panel."""
    target = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    rgb = image.convert("RGB")
    width, height = rgb.size
    data = rgb.load()
    rows = []
    for y in range(height):
        near = sum(
            1
            for x in range(0, width, 2)
            if all(abs(a - b) <= 8 for a, b in zip(data[x, y], target, strict=True))
        )
        if near * 2 >= share * width:
            rows.append(y)
    return rows


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("brand", BRANDS)
def test_booking_card_stays_inside_its_panel(example_build: Path, brand: str, lang: str) -> None:
    path = _path(example_build, brand, lang, "leaflet")
    label = "Scan to book a visit" if lang == "en" else "Escanee para pedir una cita"
    with pdfplumber.open(path) as pdf:
        number, words = _find_in(pdf, label.split()[0] + " " + label.split()[1])
        assert number, label
        page = pdf.pages[number - 1]
        url = _brand(brand)["contact"]["booking_url"].removeprefix("https://")
        tail = url.rsplit("/", 1)[-1]
        card_words = [w for w in page.extract_words() if tail in w["text"]] + words
        card_bottom = max(w["bottom"] for w in card_words)
        card_top = min(w["top"] for w in words)
    dpi = 100
    image = page_images(path.read_bytes(), dpi)[number - 1]
    rows = _panel_rows(image, _brand(brand)["colors"]["primary"])
    scale = 72 / dpi
    # The panel: the run of rows that holds the label.
    label_row = int(card_top / scale)
    run = [y for y in rows if abs(y - label_row) < 400]
    assert run, "no closing panel found around the booking card"
    panel_top, panel_bottom = min(run) * scale, max(run) * scale
    assert panel_top < card_top
    # The card's last line (the booking address) and its padding end inside the panel.
    assert card_bottom + 1.5 * MM <= panel_bottom, (card_bottom / MM, panel_bottom / MM)


# ---------------------------------------------------------------- 2. the printers' dead zone


@pytest.mark.parametrize(("brand", "lang", "layout"), EVERY_DOC)
def test_nothing_prints_within_5_mm_of_the_page_edge(
    example_build: Path, brand: str, lang: str, layout: str
) -> None:
    with pdfplumber.open(_path(example_build, brand, lang, layout)) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            for x0, top, x1, bottom in _ink(page):
                if x1 - x0 >= page.width - 1 and bottom - top >= page.height - 1:
                    continue  # the page's own background
                assert x0 >= 5 * MM - 0.5 and top >= 5 * MM - 0.5, (number, x0 / MM, top / MM)
                assert x1 <= page.width - 5 * MM + 0.5, (number, (page.width - x1) / MM)
                assert bottom <= page.height - 5 * MM + 0.5, (
                    number,
                    (page.height - bottom) / MM,
                )


# ---------------------------------------------------------------- 3. the translation note

NOTE = "Este folleto fue traducido del inglés por el equipo de educación para pacientes"
MARKER = "Traducción aún sin revisar: vea la nota al final."


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("brand", BRANDS)
def test_translation_note_is_printed_once_in_plain_words(
    example_build: Path, brand: str, layout: str
) -> None:
    data = _path(example_build, brand, "es", layout).read_bytes()
    text = normalise(pdf_text(data))
    assert text.count(normalise(NOTE)) == 1
    assert "Un traductor médico calificado todavía no ha revisado esta traducción" in text
    for word in ("handouts", "máquina", "machine", "borrador"):
        assert word not in text.lower()
    if layout == "trifold":
        return  # a brochure has no running footer
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            footer = _lines(page, page.height - FOOTER_MM[layout] * MM, page.height)
            assert len(footer) <= 2, (number, footer)  # the clinic's line and one marker
            assert normalise(MARKER) in [normalise(line) for line in footer], (number, footer)


def test_example_translator_line_names_a_role() -> None:
    content = yaml.safe_load((REPO / "content/handouts/exosome-therapy.es.yaml").read_text())
    who = content["translation"]["translated_by"].lower()
    assert "handouts" not in who and "máquina" not in who and "proyecto" not in who
    assert "equipo" in who


# ---------------------------------------------------------------- 4. no nearly blank page


def _content_bottom(page, layout: str) -> float:
    """How far down the page area the content reaches (0 to 1), the footer aside."""
    top = TOP_MM[layout] * MM
    bottom = page.height - FOOTER_MM[layout] * MM
    lows = [b for _x0, t, _x1, b in _ink(page) if top - 1 <= t and b <= bottom + 1]
    return (max(lows) - top) / (bottom - top) if lows else 0.0


@pytest.mark.parametrize("brand", BRANDS)
def test_spanish_leaflet_has_no_nearly_blank_page(example_build: Path, brand: str) -> None:
    with pdfplumber.open(_path(example_build, brand, "es", "leaflet")) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            assert _content_bottom(page, "leaflet") >= 0.5, number


# ---------------------------------------------------------------- 5. the warning


def _red(colour) -> bool:
    if not colour or len(colour) != 3:
        return False
    r, g, b = colour
    return r > 0.5 and g < 0.35 and b < 0.35


@pytest.mark.parametrize(("brand", "lang", "layout"), EVERY_DOC)
def test_warning_notice_looks_like_a_warning(
    example_build: Path, brand: str, lang: str, layout: str
) -> None:
    path = _path(example_build, brand, lang, layout)
    heading = "Important" if lang == "en" else "Importante"
    claim = "approved by the FDA" if lang == "en" else "producto de exosomas"
    text = normalise(pdf_text(path.read_bytes()))
    assert "Please note" not in text and "Tenga en cuenta" not in text
    with pdfplumber.open(path) as pdf:
        page = pdf.pages[0]
        words = [w for w in _find(page, heading) if w["text"] == heading]
        assert words, "no Important heading on page 1"
        word = words[0]
        assert "Bold" in word["fontname"] and _red(word["non_stroking_color"]), word
        assert word["size"] >= 1.1 * min(c["size"] for c in page.chars if c["text"].strip())
        # The claim is in the notice, on page 1, under the heading; no QR code is inside the
        # notice: its sources are printed outside it.
        claim_words = _find(page, claim)
        assert claim_words and claim_words[0]["top"] > word["top"]
        boxes = [
            r
            for r in (*page.rects, *page.curves)
            if r["x0"] <= word["x0"]
            and r["top"] <= word["top"]
            and r["x1"] >= claim_words[-1]["x1"]
            and r["bottom"] >= claim_words[-1]["bottom"]
            and r["width"] < page.width * 0.9
        ]
        assert boxes, "the notice has no frame"
        frame = min(boxes, key=lambda r: r["width"] * r["height"])
        for image in page.images:
            inside = (
                image["x0"] >= frame["x0"] - 1
                and image["x1"] <= frame["x1"] + 1
                and image["top"] >= frame["top"] - 1
                and image["bottom"] <= frame["bottom"] + 1
            )
            assert not inside, "a QR code inside the notice"
        x0, top = word["x0"], word["top"]
    # A warning sign is drawn just left of the heading, in the warning's red.
    dpi = 150
    image = page_images(path.read_bytes(), dpi)[0].convert("RGB")
    s = dpi / 72
    icon = image.crop((int((x0 - 8 * MM) * s), int(top * s), int(x0 * s), int((top + 12) * s)))
    pixels = icon.load()
    red = sum(
        1
        for x in range(icon.width)
        for y in range(icon.height)
        if pixels[x, y][0] > 150 and pixels[x, y][1] < 90 and pixels[x, y][2] < 90
    )
    assert red > 20, red
    # The sources are labelled with what they are.
    label = (
        "Scan: FDA consumer alert"
        if lang == "en"
        else "Escanee: alerta de la FDA para consumidores (en inglés)"
    )
    assert normalise(label) in text


def test_large_print_warning_is_not_split_and_page_1_reaches_the_first_question(
    example_build: Path,
) -> None:
    for brand in BRANDS:
        with pdfplumber.open(_path(example_build, brand, "en", "large-print")) as pdf:
            page = normalise(pdf.pages[0].extract_text())
            assert "Important" in page
            assert "considered experimental by the FDA." in page
            assert "What are exosomes?" in page
            assert "Exosomes are a subtype of extracellular vesicles" in page


# ---------------------------------------------------------------- 6. large print


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("brand", BRANDS)
def test_large_print_keeps_its_own_rules(example_build: Path, brand: str, lang: str) -> None:
    with pdfplumber.open(_path(example_build, brand, lang, "large-print")) as pdf:
        pages = pdf.pages
        for number, page in enumerate(pages, start=1):
            footer_top = page.height - FOOTER_MM["large-print"] * MM
            for char in page.chars:
                if not char["text"].strip():
                    continue
                floor = 13.95 if char["top"] >= footer_top else 17.95
                assert char["size"] >= floor, (number, char["text"], char["size"])
            if number < len(pages):
                # No page is left more than half empty (a page ends where a block would not
                # fit, never earlier than half way down).
                assert _content_bottom(page, "large-print") >= 0.45, number
        # The article list is never split with one article alone on a page.
        titles = [
            "A comprehensive review",
            "A review on exosomes",
            "Exosomal therapy—a new",
            "Exosomes: Current use",
        ]
        on = [_find_in(pdf, t)[0] for t in titles]
        assert all(on), on
        for number in set(on):
            assert on.count(number) >= 2, on


# ---------------------------------------------------------------- 7. lead-ins


@pytest.mark.parametrize(("brand", "lang", "layout"), EVERY_DOC)
def test_lead_in_is_followed_by_what_it_introduces(
    example_build: Path, brand: str, lang: str, layout: str
) -> None:
    lead = (
        "Explore recent peer reviewed articles below:"
        if lang == "en"
        else "Vea a continuación artículos recientes revisados por pares:"
    )
    with pdfplumber.open(_path(example_build, brand, lang, layout)) as pdf:
        number, words = _find_in(pdf, lead)
        assert number
        first, _ = _find_in(pdf, "A comprehensive review")
        assert first == number  # same page
        page = pdf.pages[number - 1]
        title = _find(page, "A comprehensive review")
        gap = title[0]["top"] - words[-1]["bottom"]
        assert 0 < gap < 25 * MM, gap / MM  # right below, in the same column
        assert abs(title[0]["x0"] - words[0]["x0"]) < 45 * MM


# ---------------------------------------------------------------- 8. tri-fold


def _left_edges(page, parts: int = 3) -> list[float]:
    """The left edge of the ink in each third of the sheet."""
    edges = []
    for k in range(parts):
        xs = [
            x0
            for x0, _t, _x1, _b in _ink(page)
            if k * page.width / parts <= x0 < (k + 1) * page.width / parts
        ]
        edges.append(min(xs))
    return edges


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("brand", BRANDS)
def test_trifold_type_folds_and_full_panels(example_build: Path, brand: str, lang: str) -> None:
    with pdfplumber.open(_path(example_build, brand, lang, "trifold")) as pdf:
        outside, inside = pdf.pages
        # Body at 10 pt: the commonest size inside; nothing under 8.5 pt anywhere.
        sizes = [round(c["size"], 1) for c in inside.chars if c["text"].strip()]
        assert max(set(sizes), key=sizes.count) >= 9.95
        for page in pdf.pages:
            assert min(c["size"] for c in page.chars if c["text"].strip()) >= 8.45
        # The panel that folds in (left outside, right inside) is 2-3 mm narrower.
        margin = 6.5 * MM
        a, b, c = _left_edges(inside)
        full = b - a
        assert abs((c - b) - full) < 0.5
        fold_in = inside.width - (c - margin)
        assert 2 * MM <= full - fold_in <= 3 * MM, (full - fold_in) / MM
        flap_x, back_x, cover_x = _left_edges(outside)
        assert abs((cover_x - back_x) - full) < 1.0
        assert 2 * MM <= full - (back_x - flap_x) <= 3 * MM
        assert abs(fold_in + 2 * full - inside.width) < 0.5
        # No panel ends with a blank strip: at most 25 mm free at the foot of each.
        for page in pdf.pages:
            for k in range(3):
                low = max(
                    b
                    for x0, _t, _x1, b in _ink(page)
                    if k * page.width / 3 <= x0 < (k + 1) * page.width / 3
                )
                assert page.height - low <= 25 * MM, (k, (page.height - low) / MM)


# ---------------------------------------------------------------- 9. QR codes


def _symbols(path: Path, dpi: int = 200) -> list[list[tuple[str, float]]]:
    """Per page: (text, printed symbol width in mm) of every QR code."""
    found = []
    for image in page_images(path.read_bytes(), dpi):
        codes = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        page = []
        for code in codes:
            p = code.position
            side = (
                ((p.top_right.x - p.top_left.x) ** 2 + (p.top_right.y - p.top_left.y) ** 2) ** 0.5
                + ((p.bottom_left.x - p.top_left.x) ** 2 + (p.bottom_left.y - p.top_left.y) ** 2)
                ** 0.5
            ) / 2
            page.append((code.text, side / dpi * 25.4))
        found.append(page)
    return found


@pytest.mark.parametrize(("brand", "lang", "layout"), EVERY_DOC)
def test_booking_code_is_the_largest_and_dense_codes_are_printed_large(
    example_build: Path, brand: str, lang: str, layout: str
) -> None:
    path = _path(example_build, brand, lang, layout)
    booking = _brand(brand)["contact"]["booking_url"]
    pages = _symbols(path)
    fda = []
    for codes in pages:
        sizes = dict(codes)
        if booking in sizes:
            assert sizes[booking] >= 25 * 0.97, sizes[booking]
            assert all(sizes[booking] >= s - 0.4 for s in sizes.values()), codes
        fda += [s for url, s in codes if "fda.gov" in url]
    assert len(fda) == 2
    assert abs(fda[0] - fda[1]) < 0.6, fda  # printed side by side at one size
    assert min(fda) >= 26, fda  # 0.55 mm modules or more for the densest code


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("brand", BRANDS)
def test_spanish_pages_say_when_a_link_is_in_english(
    example_build: Path, brand: str, layout: str
) -> None:
    text = normalise(pdf_text(_path(example_build, brand, "es", layout).read_bytes()))
    # Two FDA pages and three articles, all in English; the article without a link is not.
    assert text.count("(en inglés)") == 5, text.count("(en inglés)")
    english = normalise(pdf_text(_path(example_build, brand, "en", layout).read_bytes()))
    assert "(in English)" not in english


# ---------------------------------------------------------------- 10. small things


@pytest.mark.parametrize("layout", LAYOUTS)
def test_state_and_zip_stay_together(example_build: Path, layout: str) -> None:
    with pdfplumber.open(_path(example_build, "riverside", "en", layout)) as pdf:
        for page in pdf.pages:
            words = page.extract_words()
            for i, word in enumerate(words):
                if word["text"] == "IL" or word["text"].endswith("\u00a0IL"):
                    zip_words = [w for w in words if "62701" in w["text"]]
                    assert zip_words
                    assert any(abs(w["top"] - word["top"]) < 1 for w in zip_words), words[
                        i - 2 : i + 3
                    ]


@pytest.mark.parametrize("brand", BRANDS)
def test_header_phone_number_is_readable(example_build: Path, brand: str) -> None:
    phone = _brand(brand)["contact"]["phone"]
    with pdfplumber.open(_path(example_build, brand, "en", "leaflet")) as pdf:
        page = pdf.pages[0]
        header = [c for c in page.chars if c["top"] < 35 * MM and c["text"] in "0123456789()-"]
        header_text = "".join(c["text"] for c in header)
        assert re.sub(r"\D", "", phone) in re.sub(r"\D", "", header_text)
        for char in header:
            assert char["size"] >= 11, char["size"]
            assert "Bold" in char["fontname"]
            colour = char["non_stroking_color"]
            assert colour and max(colour) < 0.5, colour  # dark, not grey


# ---------------------------------------------------------------- the stress project

LONG_NAME = "St. Bartholomew's Community Clinic for Regenerative Medicine"  # 60 characters
LONG_ADDRESS = (
    "Suite 1200, Professional Arts Building, 4500 North Martin Luther King Jr. Memorial "
    "Boulevard, Springfield Gardens, IL 62701-4455"
)
LONG_BOOKING = (  # 120 characters
    "https://booking.stress.example/new-patient?clinic=downtown-annex"
    "&service=regenerative-consult&language=es&ref=handout-qr"
)


HELP_EN = (
    "ATTENTION: If you speak another language, free language assistance services are "
    "available to you. Call (555) 010-4455."
)
HELP_ES = (
    "ATENCIÓN: Si habla español, tiene a su disposición servicios gratuitos de asistencia "
    "lingüística. Llame al (555) 010-4455."
)


def _png_logo() -> bytes:
    image = Image.new("RGB", (600, 600), "#FFFFFF")
    for y in range(600):
        for x in range(600):
            if (x - 300) ** 2 + (y - 300) ** 2 < 270**2:
                image.putpixel((x, y), (11, 94, 107) if y < 330 else (227, 167, 47))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _short_handout(lang: str) -> str:
    """A one-page handout cut from the example (its own words, fewer of them): the notice,
    one question, the closing; one source with a short address."""
    name = "exosome-therapy.yaml" if lang == "en" else "exosome-therapy.es.yaml"
    data = yaml.safe_load((REPO / "content/handouts" / name).read_text())
    data["questions"] = [data["questions"][5]]
    data["id"] = "exosome-short"
    data.pop("max_pages", None)
    refs = [r for r in data["references"] if r["id"].startswith("fda-")]
    refs[0]["short_url"] = "https://go.stress.example/fda-alert"
    data["references"] = refs
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


FDA_ALERT = (
    "https://www.fda.gov/vaccines-blood-biologics/consumers-biologics/"
    "consumer-alert-regenerative-medicine-products-including-stem-cells-and-exosomes"
)


def _link_targets(data: bytes) -> list[str]:
    """The web addresses of every link annotation in a PDF."""
    targets = []
    for page in pypdf.PdfReader(io.BytesIO(data)).pages:
        for annot in page.get("/Annots") or []:
            action = annot.get_object().get("/A")
            if action and "/URI" in action:
                targets.append(str(action["/URI"]))
    return targets


def write_stress_project(root: Path) -> Path:
    """A project that pushes every limit at once: a 60-character clinic name, a long street
    address, a 120-character booking address with query parameters, a PNG logo, the Spanish
    handout in every layout, a reference without a short address, and one-page leaflets (of
    a short handout: the whole one needs three pages in Spanish)."""
    brand = textwrap.dedent(f"""\
        name: "{LONG_NAME}"
        tagline: "Patient education, reviewed by our clinical team"
        logo: logo.png
        colors:
          primary: "#0B5E6B"
          accent: "#E3A72F"
        paper: letter
        contact:
          phone: "(555) 010-4455"
          email: appointments@stress.example
          website: https://stress.example
          booking_url: "{LONG_BOOKING}"
          address: "{LONG_ADDRESS}"
        languages: [en, es]
        layouts: [leaflet, large-print, trifold]
        language_assistance:
          en: "{HELP_EN}"
          es: "{HELP_ES}"
        """)
    files: dict[str, str | bytes] = {
        "content/handouts/exosome-therapy.yaml": (
            REPO / "content/handouts/exosome-therapy.yaml"
        ).read_text(),
        "content/handouts/exosome-therapy.es.yaml": (
            REPO / "content/handouts/exosome-therapy.es.yaml"
        ).read_text(),
        "content/handouts/exosome-short.yaml": _short_handout("en"),
        "content/handouts/exosome-short.es.yaml": _short_handout("es"),
        "content/brands/stress/brand.yaml": brand.replace("languages: [en, es]", "languages: [es]")
        + "handouts: [exosome-therapy]\n",
        "content/brands/stress/logo.png": _png_logo(),
        "content/brands/one-page/brand.yaml": brand.replace(
            "layouts: [leaflet, large-print, trifold]", "layouts: [leaflet]"
        )
        + "handouts: [exosome-short]\nmax_pages: 1\n",
        "content/brands/one-page/logo.png": _png_logo(),
    }
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def stress_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    root = write_stress_project(tmp_path_factory.mktemp("stress"))
    ran = run_cli("build", "-C", str(root), "--jobs", "2", "--quiet")
    return root, ran


def test_stress_project_builds_without_a_preflight_error(stress_build) -> None:
    root, ran = stress_build
    assert ran.code == 0, ran
    built = sorted(p.relative_to(root / "output").as_posix() for p in root.rglob("*.pdf"))
    assert built == [
        "one-page/exosome-short.en.leaflet.pdf",
        "one-page/exosome-short.es.leaflet.pdf",
        "stress/exosome-therapy.es.large-print.pdf",
        "stress/exosome-therapy.es.leaflet.pdf",
        "stress/exosome-therapy.es.trifold.pdf",
    ]
    assert not list(root.rglob("*.preflight-*.png"))
    for name in ("one-page/exosome-short.en.leaflet.pdf", "one-page/exosome-short.es.leaflet.pdf"):
        with pdfplumber.open(root / "output" / name) as pdf:
            assert len(pdf.pages) == 1
    # The short address is what the code holds and the page prints; the full one stays in
    # the PDF's link.
    data = (root / "output/one-page/exosome-short.en.leaflet.pdf").read_bytes()
    text = normalise(pdf_text(data))
    assert "go.stress.example/fda-alert" in text
    assert FDA_ALERT in _link_targets(data)
    codes = [c.text for c in zxingcpp.read_barcodes(page_images(data, 200)[0])]
    assert "https://go.stress.example/fda-alert" in codes
    assert LONG_BOOKING in codes
