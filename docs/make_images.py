"""Regenerate the pictures in the README from a fresh build of the example content.

Run with ``make readme-images``: builds into a temporary folder and renders the pages the
README shows to PNG with pypdfium2, into docs/images/.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pypdfium2

from handouts import api

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
DPI = 72
# (output without .pdf, page numbers) shown in the README
SHOWN = {
    "riverside/exosome-therapy.en.leaflet": (1,),
    "harbour/exosome-therapy.en.leaflet": (2,),
    "riverside/exosome-therapy.en.large-print": (1,),
    "harbour/exosome-therapy.en.trifold": (1, 2),
}


def main() -> None:
    with tempfile.TemporaryDirectory() as out:
        project = api.open_project(ROOT).raise_for_problems()
        report = api.build(project, api.BuildRequest(out=out, workers=1))
        for result in report.results:
            if not result.ok:
                raise SystemExit(f"{result.label}: {result.error}")
            pdf = pypdfium2.PdfDocument(Path(out) / result.output)
            for number in SHOWN.get(result.label, ()):
                image = pdf[number - 1].render(scale=DPI / 72).to_pil()
                name = result.label.replace("/", "-") + f"-p{number}.png"
                image.save(IMAGES / name, optimize=True)
                print(f"wrote docs/images/{name}")


if __name__ == "__main__":
    main()
