"""The brand's logo as a small PNG for the email's header (an inline ``cid:`` image).

Many mail clients (Gmail, Outlook) do not show SVG images, so an SVG logo is drawn with the
renderer we already have (WeasyPrint, through the confined fetcher) and rasterised with
pypdfium2; PNG and JPEG logos are scaled with Pillow. The PNG is twice the displayed height,
for sharp logos on high-density screens, and is cropped to what is drawn.
"""

from __future__ import annotations

import hashlib
import io
from functools import lru_cache
from pathlib import Path

from ..assets import MAX_IMAGE_BYTES
from ..errors import HandoutsError, Problem

DISPLAY_HEIGHT = 48  # CSS pixels in the email
MAX_DISPLAY_WIDTH = 220
_CANVAS = 800  # SVGs are drawn this large, then cropped and scaled down


def email_logo(path: Path) -> tuple[bytes, int, int]:
    """The logo as PNG bytes, with the width and height to display it at (CSS pixels)."""
    data = path.read_bytes()[: MAX_IMAGE_BYTES + 1]
    return _cached(path, hashlib.sha256(data).hexdigest())


@lru_cache(maxsize=16)
def _cached(path: Path, digest: str) -> tuple[bytes, int, int]:
    from PIL import Image

    try:
        image = _svg_image(path) if path.suffix.lower() == ".svg" else _raster_image(path)
    except HandoutsError:
        raise
    except Exception as exc:  # a logo the brand check accepted but a decoder did not
        raise HandoutsError(
            Problem(
                str(path.name),
                f"the logo cannot be drawn for email ({type(exc).__name__}: {exc})",
                hint="export the logo again as a plain SVG or PNG",
            )
        ) from None
    box = image.getchannel("A").getbbox()
    if box:
        image = image.crop(box)
    scale = min(
        2 * DISPLAY_HEIGHT / image.height, 2 * MAX_DISPLAY_WIDTH / image.width, 1.0
    )  # never enlarge a small raster logo: it would only blur
    if scale < 1:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    # Displayed at half its pixels (a 2x image), but no larger than its slot.
    fit = min(DISPLAY_HEIGHT / image.height, MAX_DISPLAY_WIDTH / image.width, 0.5)
    return buffer.getvalue(), max(1, round(image.width * fit)), max(1, round(image.height * fit))


def _raster_image(path: Path):
    from PIL import Image

    with Image.open(path) as opened:
        opened.load()
        return opened.convert("RGBA")


def _svg_image(path: Path):
    import pypdfium2
    from weasyprint import HTML

    from ..fetcher import ConfinedFetcher

    folder = path.parent.resolve()
    fetcher = ConfinedFetcher([folder])
    page = (
        f"<style>@page {{ size: {_CANVAS}px {_CANVAS}px; margin: 0 }} html, body {{ margin: 0 }}"
        " img { display: block; width: 100%; height: 100%; object-fit: contain }</style>"
        f'<img src="{path.name}" alt="">'
    )
    pdf_bytes = HTML(string=page, base_url=folder.as_uri() + "/", url_fetcher=fetcher).write_pdf()
    if fetcher.blocked:
        raise HandoutsError(Problem(path.name, str(fetcher.blocked[0])))
    pdf = pypdfium2.PdfDocument(pdf_bytes)
    try:
        # WeasyPrint pages are in CSS pixels at 0.75 pt; render at one pixel per CSS pixel.
        bitmap = pdf[0].render(scale=4 / 3, fill_color=(255, 255, 255, 0))
        return bitmap.to_pil().convert("RGBA")
    finally:
        pdf.close()
