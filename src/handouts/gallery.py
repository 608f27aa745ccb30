"""``output/index.html``: every built document at a glance, with a page-1 thumbnail.

Plain HTML and CSS with relative links, so it works opened straight from disk. Built from the
manifest, so documents skipped as up to date are shown too.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

INDEX = "index.html"
THUMBNAILS = "gallery"  # output/gallery/<brand>/<document>.png
THUMBNAIL_DPI = 30


def thumbnail_name(output: str) -> str:
    """``riverside/x.en.leaflet.pdf`` → ``gallery/riverside/x.en.leaflet.png``."""
    return f"{THUMBNAILS}/{output.removesuffix('.pdf')}.png"


def thumbnail_png(pdf: bytes) -> bytes:
    """Page 1 of a PDF as a small PNG (pypdfium2)."""
    import pypdfium2

    # Close every native object explicitly: left to the garbage collector, pdfium's page and
    # bitmap memory outlived the document and a worker grew by megabytes per thumbnail.
    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        try:
            bitmap = page.render(scale=THUMBNAIL_DPI / 72)
            try:
                image = bitmap.to_pil().copy()
            finally:
                bitmap.close()
        finally:
            page.close()
    finally:
        document.close()
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def write_gallery(
    out_dir: Path, records: dict[str, dict[str, Any]], template_dirs: tuple[Path, ...]
) -> Path:
    """Write output/index.html from the manifest records."""
    from .render import template_env

    brands: dict[str, dict[str, Any]] = {}
    for output, record in sorted(records.items()):
        brand = brands.setdefault(
            record.get("brand", output.split("/")[0]),
            {"name": record.get("brand_name", ""), "documents": []},
        )
        brand["documents"].append(
            {**record, "output": output, "kb": round(record.get("bytes", 0) / 1024)}
        )
    html = (
        template_env(template_dirs)
        .get_template("gallery/index.html")
        .render(brands=brands, total=len(records))
    )
    target = out_dir / INDEX
    tmp = target.with_name(f".{INDEX}.{os.getpid()}.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, target)
    return target
