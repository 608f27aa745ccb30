"""The handout as an accessible web page for the clinic's site (webpage.py renders it)."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from . import Format, Output, register

if TYPE_CHECKING:
    from ..plan import Job


@register
class WebFormat(Format):
    name = "web"
    suffix = ".html"
    description = "an accessible web page per brand and language, for the clinic's site"
    per_layout = False
    needs_renderer = False
    unused_templates = frozenset({"email", "gallery", "scaffold", "serve"})

    def render(self, job: Job, renderer: Any, page_cap: int) -> Output:
        from ..webpage import render_web_page

        page = render_web_page(job)
        folder = PurePosixPath(str(job.output)).parent
        files = {str(job.output): page.html.encode("utf-8")}
        files.update({str(folder / name): data for name, data in page.files.items()})
        return Output(files)
