"""PDF for patients and printers, and the print-shop version with bleed and crop marks."""

from __future__ import annotations

import io
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from . import Format, Output, register

if TYPE_CHECKING:
    from ..plan import Job

THUMBNAIL_DPI = 30  # page-1 pictures for the gallery

# Printed by WeasyPrint once per font when the system lacks libharfbuzz-subset; it says
# nothing about the document, so it is not counted as a document warning.
_ENVIRONMENT_NOTES = ("Using fontTools instead of HarfBuzz-Subset",)


@register
class PdfFormat(Format):
    name = "pdf"
    suffix = ".pdf"
    description = "tagged PDF/UA-1 documents (the default)"
    thumbnail = True

    def render(self, job: Job, renderer: Any, page_cap: int) -> Output:
        rendered = renderer.render(job, page_cap)
        warnings = [
            w for w in dict.fromkeys(rendered.warnings) if not w.startswith(_ENVIRONMENT_NOTES)
        ]
        # Preflight warnings are document warnings too (--strict counts them), and the
        # manifest keeps them with their place on the page for the gallery and `check`.
        warnings += [f"preflight: {finding}" for finding in rendered.preflight]
        return Output(
            {str(job.output): rendered.pdf},
            pages=rendered.pages,
            body_pt=rendered.body_pt,
            warnings=warnings,
            thumbnail=thumbnail_png(rendered.pdf) if self.thumbnail else None,
            details={
                "fit": rendered.fit,
                "preflight": [asdict(f) for f in rendered.preflight],
            },
        )


@register
class PrintReadyFormat(PdfFormat):
    name = "print"
    suffix = ".print.pdf"
    label_suffix = ".print"
    description = "print-shop PDFs with 3 mm bleed and crop marks"
    thumbnail = False
    print_ready = True
    selectable = False  # asked for with --print-ready or a brand's print_ready


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
