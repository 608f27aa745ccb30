"""The intermediate HTML and copies of its assets, to debug templates in a browser."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from . import Format, Output, register

if TYPE_CHECKING:
    from ..plan import Job


MAX_ASSET_BYTES = 32 * 1024 * 1024  # as the fetcher allows


@register
class DebugHtmlFormat(Format):
    name = "html"
    suffix = ".html"
    description = "the intermediate HTML (as fitted) and its assets, to debug templates"
    incremental = False
    recorded = False

    def render(self, job: Job, renderer: Any, page_cap: int) -> Output:
        from ..files import read_file
        from ..render import read_stylesheet, render_html, stylesheet_files

        folder = PurePosixPath(str(job.output)).parent
        files: dict[str, bytes] = {}
        assets: dict[str, bytes] = {}

        roots = [*job.template_dirs, *job.font_dirs, job.brand.folder]

        def asset_url(path: Path) -> str:  # fonts and the logo, read like WeasyPrint reads them
            data = read_file(path, limit=MAX_ASSET_BYTES, roots=roots)
            assets[str(folder / "assets" / path.name)] = data
            return f"assets/{path.name}"

        sheets = []
        for path in stylesheet_files(job):
            name = f"{path.parent.name}-{path.name}"
            assets[str(folder / "assets" / name)] = read_stylesheet(path, job.template_dirs)
            sheets.append(f"assets/{name}")
        # At the size, spacing and QR modules the PDF is fitted with: the document as printed.
        fit = renderer.fitted(job, page_cap)
        files[str(job.output)] = render_html(job, asset_url, sheets, fit).encode("utf-8")
        files.update(assets)
        return Output(files)
