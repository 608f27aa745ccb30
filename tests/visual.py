"""Reference pictures for the visual regression test: page 1 of each layout at 50 dpi.

Regenerate them on purpose, after a deliberate design change, with ``make references``
(which runs ``python tests/visual.py``), look at the new PNGs, and commit them.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pypdfium2
from PIL import Image

HERE = Path(__file__).resolve().parent
REFERENCES = HERE / "reference"
BRAND = "riverside"
DPI = 50


def page_one(pdf_path: Path) -> Image.Image:
    pdf = pypdfium2.PdfDocument(pdf_path)
    try:
        return pdf[0].render(scale=DPI / 72).to_pil().convert("L")
    finally:
        pdf.close()


def reference_path(layout: str) -> Path:
    return REFERENCES / f"{layout}.png"


def main() -> None:
    from handouts import api

    with tempfile.TemporaryDirectory() as out:
        project = api.open_project(HERE.parent).raise_for_problems()
        request = api.BuildRequest(api.Filters(brands=[BRAND], languages=["en"]), out=out)
        report = api.build(project, request)
        for result in report.results:
            if not result.ok:
                sys.exit(f"{result.label}: {result.error}")
            layout = result.label.rsplit(".", 1)[-1]
            page_one(Path(out) / result.output).save(reference_path(layout), optimize=True)
            print(f"wrote {reference_path(layout).relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
