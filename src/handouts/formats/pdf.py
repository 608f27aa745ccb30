"""PDF for patients and printers, and the print-shop version with bleed and crop marks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import Format, Output, register

if TYPE_CHECKING:
    from ..plan import Job

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
        from ..gallery import thumbnail_png

        rendered = renderer.render(job, page_cap)
        warnings = [
            w for w in dict.fromkeys(rendered.warnings) if not w.startswith(_ENVIRONMENT_NOTES)
        ]
        return Output(
            {str(job.output): rendered.pdf},
            pages=rendered.pages,
            body_pt=rendered.body_pt,
            warnings=warnings,
            thumbnail=thumbnail_png(rendered.pdf) if self.thumbnail else None,
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
