"""Regenerate the pictures in the README from a fresh build of the example content.

Run with ``make readme-images``. Builds into a temporary folder, renders page 1 of each
example leaflet to PNG with pypdfium2, and writes them to docs/images/.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pypdfium2

from handouts import build_project

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
DPI = 72


def main() -> None:
    with tempfile.TemporaryDirectory() as out:
        report = build_project(ROOT, out, workers=1)
        for result in report.results:
            if not result.ok:
                raise SystemExit(f"{result.label}: {result.error}")
            pdf = pypdfium2.PdfDocument(Path(out) / result.output)
            for number in range(len(pdf)):
                image = pdf[number].render(scale=DPI / 72).to_pil()
                name = result.label.replace("/", "-") + f"-p{number + 1}.png"
                image.save(IMAGES / name, optimize=True)
                print(f"wrote docs/images/{name}")


if __name__ == "__main__":
    main()
