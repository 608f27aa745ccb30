"""Shared test helpers: tiny projects made from a dict of files, the CLI, and PDF inspection
(text via pypdf, pages via pypdfium2, QR codes via zxing-cpp)."""

from __future__ import annotations

import io
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pypdf
import pypdfium2
import pytest
import zxingcpp
from click.testing import CliRunner

from handouts import api
from handouts.cli import cli

REPO = Path(__file__).resolve().parents[1]

LOGO_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" width="10" height="10">'
    '<circle cx="5" cy="5" r="4" fill="#0B5E6B"/></svg>'
)

HANDOUT = textwrap.dedent("""\
    id: sample
    language: en
    title: Sample Handout
    subtitle: Questions and answers
    review:
      version: 2
      reviewed_on: 2026-10-01
      reviewed_by: Test team
      next_review: 2027-10-01
    notices:
      - kind: warning
        text: This is a **test** notice.
    questions:
      - question: What is this?
        answer: |
          A short answer.

          - one
          - two
        sources: [paper]
      - question: Is it safe?
        answer: Yes.
    references:
      - id: paper
        title: "A paper: about things"
        authors: Doe J
        journal: Journal of Tests
        year: 2024
        doi: 10.1000/xyz123
    closing:
      heading: Want to learn more?
      text: Call us.
    """)

BRAND = textwrap.dedent("""\
    name: Test Clinic
    logo: logo.svg
    colors:
      primary: "#0B5E6B"
      accent: "#E3A72F"
    paper: letter
    contact:
      phone: "(555) 010-0000"
      website: https://test.example
      booking_url: https://test.example/book
      address: 1 Test Street
    """)


def default_files() -> dict[str, str | bytes | None]:
    return {
        "content/handouts/sample.yaml": HANDOUT,
        "content/brands/test/brand.yaml": BRAND,
        "content/brands/test/logo.svg": LOGO_SVG,
        # The sample's contact details are made up on purpose ((555) numbers, .example
        # addresses): say so, as the placeholder check asks of sample projects.
        "handouts.yaml": "example: true\n",
    }


STALLED = (
    '{% extends "base/page.html" %}{% block header %}{{ super() }}'
    '{% if brand.name == "Stalled Clinic" %}'
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    "{% endif %}{% endblock %}"
)


def stalled_brand() -> dict[str, str]:
    """A brand ('stalled', planned after b00 ... b99) whose leaflet's template loops until the
    build's time limit: a build that includes it is still running when a test signals it,
    however quickly the other documents were made and however busy the machine is."""
    return {
        "templates/leaflet/page.html": STALLED,
        "content/brands/stalled/brand.yaml": BRAND.replace("Test Clinic", "Stalled Clinic"),
        "content/brands/stalled/logo.svg": LOGO_SVG,
    }


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Path]:
    """``make_project({path: text})`` → a project folder; a None value removes a default file."""

    def make(files: dict[str, str | bytes | None] | None = None, *, defaults: bool = True) -> Path:
        root = tmp_path / "project"
        merged = default_files() if defaults else {}
        merged.update(files or {})
        for name, content in merged.items():
            if content is None:
                continue
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        (root / "content" / "handouts").mkdir(parents=True, exist_ok=True)
        return root

    return make


class Ran:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.code, self.stdout, self.stderr = code, stdout, stderr

    def __repr__(self) -> str:
        return f"Ran(code={self.code}, stdout={self.stdout!r}, stderr={self.stderr!r})"


def build_project(root: Path, out: Path | None = None, **request: object) -> api.Report:
    """Build a project through the library API (in-process unless ``workers`` says)."""
    project = api.open_project(root).raise_for_problems()
    request.setdefault("workers", 1)
    return api.build(project, api.BuildRequest(out=out, **request))  # type: ignore[arg-type]


def run_cli(*args: str) -> Ran:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return Ran(result.exit_code, result.stdout, result.stderr)


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def normalise(text: str) -> str:
    return " ".join(text.replace("\u00ad", "").split())


def page_images(data: bytes, dpi: int = 150):
    pdf = pypdfium2.PdfDocument(data)
    try:
        return [pdf[i].render(scale=dpi / 72).to_pil() for i in range(len(pdf))]
    finally:
        pdf.close()


def decode_qr_codes(data: bytes, dpi: int = 150) -> list[str]:
    """Every QR code found on every page, rendered at ``dpi``."""
    found: list[str] = []
    for image in page_images(data, dpi):
        for barcode in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):
            found.append(barcode.text)
    return found


@pytest.fixture(scope="session")
def example_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's own content, built once into a temporary output folder."""
    out = tmp_path_factory.mktemp("example-output")
    ran = run_cli("build", "-C", str(REPO), "--out", str(out), "--jobs", "1", "--quiet")
    assert ran.code == 0, ran
    return out


def copy_repo_project(dest: Path) -> Path:
    for name in ("content", "templates", "fonts"):
        shutil.copytree(REPO / name, dest / name)
    return dest


@pytest.fixture(scope="session")
def browser(request: pytest.FixtureRequest) -> object:
    """Debian's chromium through Playwright, one per test process (tests/browser.py): the
    test is skipped, saying why, when there is none; failed under
    HANDOUTS_BROWSER_TESTS=required."""
    import browser as harness

    opened = harness.launched()
    launched = opened.__enter__()
    request.addfinalizer(lambda: opened.__exit__(None, None, None))
    return launched
