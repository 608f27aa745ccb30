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
    description = "the intermediate HTML and its assets, to debug templates in a browser"
    incremental = False
    recorded = False
    needs_renderer = False

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
        files[str(job.output)] = render_html(job, asset_url, sheets).encode("utf-8")
        files.update(assets)
        return Output(files)
