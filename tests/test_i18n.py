"""Languages: the Spanish handout, localised template text and dates, catalog completeness."""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
import pypdf
import yaml
from babel.messages.pofile import read_po

from handouts.assets import builtin_dir
from handouts.i18n import extract_messages

from conftest import BRAND, REPO, normalise, pdf_text, run_cli

TEMPLATES = builtin_dir("templates")


def _spanish(out: Path, layout: str = "leaflet") -> bytes:
    return (out / "riverside" / f"exosome-therapy.es.{layout}.pdf").read_bytes()


def test_every_template_string_is_in_every_catalog() -> None:
    """A fixed string added to a template without its translation fails here."""
    messages = set(extract_messages(TEMPLATES))
    assert "Scan to book a visit" in messages
    catalogs = sorted((TEMPLATES / "locale").glob("*/LC_MESSAGES/handouts.po"))
    assert [p.parts[-3] for p in catalogs] == ["es"]
    for path in catalogs:
        with path.open("rb") as handle:
            catalog = read_po(handle)
        translated = {m.id: m.string for m in catalog if m.id}
        missing = sorted(messages - set(translated))
        empty = sorted(m for m in messages if not translated.get(m))
        assert not missing, f"{path}: no entry for {missing}"
        assert not empty, f"{path}: no translation for {empty}"
        assert not sorted(set(translated) - messages), f"{path}: entries no template uses"


def test_spanish_pdf_is_localised(example_build: Path) -> None:
    data = _spanish(example_build)
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert str(reader.trailer["/Root"]["/Lang"]) == "es"
    assert reader.metadata.title == "Terapia con exosomas"
    pages = len(reader.pages)
    for number, page in enumerate(reader.pages, start=1):
        text = normalise(page.extract_text())
        assert f"Página {number} de {pages}" in text
        assert "Revisado el 3 de diciembre de 2026 · Versión 2" in text
        assert "Traducción aún sin revisar: vea la nota al final." in text
    text = normalise(pdf_text(data))
    # The translation note itself is printed once, at the end.
    assert text.count("Este folleto fue traducido del inglés por") == 1
    assert "20 de noviembre de 2026" in text
    assert "todavía no ha revisado esta traducción" in text
    content = yaml.safe_load((REPO / "content/handouts/exosome-therapy.es.yaml").read_text())
    for item in content["questions"]:
        assert normalise(item["question"]) in text
    assert normalise(content["closing"]["heading"]) in text
    assert "Escanee para pedir una cita" in text
    assert "Page " not in text and "Reviewed" not in text  # no English fixed text left
    with pikepdf.open(io.BytesIO(data)) as pdf:
        alts = []

        def walk(node) -> None:
            if isinstance(node, pikepdf.Array):
                for child in node:
                    walk(child)
            elif isinstance(node, pikepdf.Dictionary) and "/S" in node:
                if "/Alt" in node:
                    alts.append(str(node.Alt))
                if "/K" in node:
                    walk(node.K)

        walk(pdf.Root.StructTreeRoot.K)
    assert "Logotipo de Riverside Regenerative Medicine" in alts
    assert any(alt.startswith("Código QR que enlaza a ") for alt in alts)


def test_spanish_builds_in_every_layout(example_build: Path) -> None:
    for layout in ("large-print", "trifold"):
        text = normalise(pdf_text(_spanish(example_build, layout)))
        assert "Terapia con exosomas" in text
        assert "Escanee para pedir una cita" in text


def test_language_assistance_taglines_are_printed(example_build: Path) -> None:
    text = normalise(
        pdf_text((example_build / "harbour/exosome-therapy.en.leaflet.pdf").read_bytes())
    )
    assert (
        "ATENCIÓN: Si habla español, tiene a su disposición servicios gratuitos de "
        "asistencia lingüística. Llame al (555) 014-7788."
    ) in text


def test_a_language_without_a_catalog_is_a_clear_error(make_project) -> None:
    root = make_project(
        {
            "content/handouts/sample.fr.yaml": "title: Fiche\nquestions:\n"
            "  - question: Quoi ?\n    answer: Ceci.\n",
            "content/brands/test/brand.yaml": BRAND + "languages: [fr]\n",
        }
    )
    ran = run_cli("build", "-C", str(root), "-j", "1")
    assert ran.code == 1
    # found by the checks before rendering, and pointed at the brand's languages line
    assert (
        "content/brands/test/brand.yaml:12:13 languages[1]: there is no translation of the "
        "template text for 'fr'"
    ) in ran.stderr
