"""One job → HTML (Jinja2, sandboxed) → PDF bytes (WeasyPrint, confined fetcher).

The only module, with fetcher.py, that imports WeasyPrint. A ``Renderer`` lives as long as a
worker and keeps what can be shared between documents: the Jinja environment, parsed
stylesheets and the font configuration.
"""

from __future__ import annotations

import io
import logging
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .context import build_context, source_epoch
from .defaults import DEFAULT_PAGE_CAP as PAGE_CAP
from .errors import Problem, RenderError
from .files import FileRefused, read_file
from .i18n import css_counters, translations
from .plan import Job

MAX_TEMPLATE_BYTES = 1024 * 1024  # a template or stylesheet; the built-in ones are ~20 KB
# WeasyPrint logs these and carries on; for a handout each means something is missing.
_MISSING_RESOURCE = (
    "Failed to load",
    "Error fetching",
    "Missing href",
    "Failed to render SVG image",
    "Unsupported stylesheet type",
    "cannot be loaded",
)


_BLOCKED_HINT = "templates and logos may only use files in the brand, template and font folders"

# ---------------------------------------------------------------- templates


class _ConfinedLoader(jinja2.FileSystemLoader):
    """A file loader that refuses templates whose real path (symlinks followed) leaves the
    template folders, so `{% include %}` cannot print a file from elsewhere; templates are
    read as project files are (regular files only, at most 1 MB: files.read_file)."""

    def get_source(self, environment: jinja2.Environment, template: str):
        pieces = jinja2.loaders.split_template_path(template)
        for folder in self.searchpath:
            filename = os.path.normpath(os.path.join(folder, *pieces))
            if os.path.lexists(filename):
                break
        else:
            raise jinja2.TemplateNotFound(template)
        try:
            data = read_file(filename, limit=MAX_TEMPLATE_BYTES, roots=self.searchpath)
            source = data.decode(self.encoding)
        except FileRefused as exc:
            why = (
                "it links outside the templates folder, which is not allowed"
                if exc.outside
                else f"the file {exc.reason}"
            )
            raise jinja2.TemplateNotFound(f"{template} ({why})") from None
        except UnicodeDecodeError:
            raise jinja2.TemplateNotFound(f"{template} (the file is not UTF-8 text)") from None
        mtime = os.path.getmtime(filename)

        def uptodate() -> bool:
            try:
                return os.path.getmtime(filename) == mtime
            except OSError:
                return False

        return source, filename, uptodate


# Far more than any handout needs (a large-print handout is about 100 KB of HTML), far less
# than what would stall the layout: a template that makes more is an error.
MAX_HTML_BYTES = 5 * 1024 * 1024


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's sandbox, also refusing to build a huge string or list in one step
    (``'a' * 100000000`` would otherwise run for minutes inside the layout)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                sized = isinstance(seq, str | list | tuple) and isinstance(times, int)
                if sized and len(seq) * times > MAX_HTML_BYTES:
                    raise jinja2.sandbox.SecurityError(
                        "this multiplication would make a value too large to print"
                    )
        if operator == "**" and isinstance(right, int) and right > 64:
            raise jinja2.sandbox.SecurityError("this power is too large")
        return super().call_binop(context, operator, left, right)


@cache
def template_env(
    template_dirs: tuple[Path, ...], lang: str = "en"
) -> ImmutableSandboxedEnvironment:
    """The Jinja environment (one per language): sandboxed, autoescape always on,
    StrictUndefined, gettext from the language's catalog, and a loader that looks in the
    project's templates/ before the built-in ones."""
    env = _Sandbox(
        loader=_ConfinedLoader([str(d) for d in template_dirs]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,
    )
    env.install_gettext_translations(translations(template_dirs, lang), newstyle=True)
    env.filters["css_counters"] = css_counters
    return env


def find_template_file(template_dirs: tuple[Path, ...], name: str) -> Path | None:
    for folder in template_dirs:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def stylesheet_files(job: Job) -> list[Path]:
    names = ["base/base.css", f"{job.layout}/{job.layout}.css"]
    return [p for n in names if (p := find_template_file(job.template_dirs, n))]


def read_stylesheet(path: Path, template_dirs: tuple[Path, ...]) -> bytes:
    """A stylesheet's bytes, if it is a regular file inside the template folders."""
    try:
        return read_file(path, limit=MAX_TEMPLATE_BYTES, roots=template_dirs)
    except FileRefused as exc:
        where = _template_display(str(path), template_dirs)
        if exc.outside:
            message = "the stylesheet links outside the templates folder, which is not allowed"
        else:
            message = f"the stylesheet {exc.reason}"
        raise RenderError(
            Problem(where, message, hint="fix the file, or delete it to use the built-in one")
        ) from None


def render_html(
    job: Job,
    asset_url: Callable[[Path], str],
    stylesheets: list[str],
    body_pt: float | None = None,
) -> str:
    env = template_env(job.template_dirs, job.handout.language)
    name = f"{job.layout}/page.html"
    context = build_context(job, asset_url, body_pt)
    try:
        html = env.get_template(name).render(**context, stylesheets=stylesheets)
    except jinja2.TemplateSyntaxError as exc:
        path = _template_display(exc.filename, job.template_dirs) if exc.filename else name
        raise RenderError(Problem(path, f"template error: {exc.message}", exc.lineno)) from None
    except Exception as exc:  # anything a template does wrong at run time: its author's to fix
        path, line = _template_frame(exc, job.template_dirs)
        message = (
            str(exc) if isinstance(exc, jinja2.TemplateError) else (f"{type(exc).__name__}: {exc}")
        )
        raise RenderError(
            Problem(
                path or name,
                f"template error: {message}",
                line,
                hint="fix the template, or delete it to use the built-in one",
            )
        ) from None
    if len(html) > MAX_HTML_BYTES:
        raise RenderError(
            Problem(
                name,
                f"the template made {len(html) / 1e6:.0f} MB of HTML; the limit is "
                f"{MAX_HTML_BYTES / 1e6:.0f} MB",
                hint="check the template for a loop or repeated text",
            )
        )
    return html


def _template_display(filename: str, dirs: tuple[Path, ...]) -> str:
    """``templates/leaflet/page.html`` for a project's own template, ``built-in ...`` else."""
    path = Path(filename)
    for folder in dirs:
        if path.is_relative_to(folder):
            rel = path.relative_to(folder).as_posix()
            own = folder == dirs[0] and len(dirs) > 1
            return f"templates/{rel}" if own else f"built-in {rel}"
    return filename


def _template_frame(exc: BaseException, dirs: tuple[Path, ...]) -> tuple[str | None, int | None]:
    roots = tuple(str(d) for d in dirs)
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith(roots):
            return _template_display(frame.filename, dirs), frame.lineno
    return None, None


# ---------------------------------------------------------------- PDF


@dataclass
class Rendered:
    pdf: bytes
    pages: int
    warnings: list[str] = field(default_factory=list)
    body_pt: float = 0.0  # the body size the document was fitted at


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class Renderer:
    """Renders jobs to PDF bytes; reuse one per process."""

    def __init__(self) -> None:
        from weasyprint.text.fonts import FontConfiguration

        self.font_config = FontConfiguration()
        self._css: dict[tuple[Path, tuple[Path, ...]], Any] = {}

    def _stylesheets(self, job: Job, fetcher: Any) -> list[Any]:
        from weasyprint import CSS

        sheets = []
        for path in stylesheet_files(job):
            key = (path, job.template_dirs)
            if key not in self._css:
                # Read like every project file (CSS(filename=) would bypass the fetcher).
                data = read_stylesheet(path, job.template_dirs)
                self._css[key] = CSS(
                    file_obj=io.BytesIO(data),
                    base_url=path.as_uri(),
                    url_fetcher=fetcher,
                    font_config=self.font_config,
                )
            sheets.append(self._css[key])
        return sheets

    def render(self, job: Job, page_cap: int = PAGE_CAP) -> Rendered:
        # Font subsetting (fontTools) stamps the current time into each embedded font unless
        # SOURCE_DATE_EPOCH is set: pin it to the content's date so builds are reproducible.
        saved = os.environ.get("SOURCE_DATE_EPOCH")
        os.environ["SOURCE_DATE_EPOCH"] = str(source_epoch(job))
        try:
            return self._render(job, page_cap)
        finally:
            if saved is None:
                os.environ.pop("SOURCE_DATE_EPOCH", None)
            else:
                os.environ["SOURCE_DATE_EPOCH"] = saved

    def _render(self, job: Job, page_cap: int) -> Rendered:
        """Render at the layout's body size; when the document must fit a number of pages and
        does not, step the size down to the layout's floor, then fail with the shortfall."""
        from weasyprint.urls import FatalURLFetchingError

        from .fetcher import ConfinedFetcher

        fetcher = ConfinedFetcher([*job.template_dirs, *job.font_dirs, job.brand.folder])
        logger = logging.getLogger("weasyprint")
        capture = _Capture()
        logger.addHandler(capture)
        try:
            for size in job.spec.sizes():
                document = self._layout(job, fetcher, size)
                pages = len(document.pages)
                if job.max_pages is None or pages <= job.max_pages or pages > page_cap:
                    break
            if pages > page_cap:
                raise RenderError(
                    job.handout.problem(
                        (),
                        f"the document has {pages} pages; the limit is {page_cap}",
                        "shorten the handout or check the template",
                    )
                )
            if job.max_pages is not None and pages > job.max_pages:
                raise RenderError(_overflow(job, pages, size))
            # Handouts never carry attachments: drop any a custom template asked for.
            document.metadata.attachments = []
            for page in document.pages:
                page.links = [link for link in page.links if link[0] != "attachment"]
            # Tagged PDF/UA-1: headings, lists, figures with alt text, /Lang, document title.
            pdf = document.write_pdf(pdf_variant="pdf/ua-1")
        except FatalURLFetchingError as exc:  # BlockedResource, or WeasyPrint's own
            raise RenderError(Problem(job.label, str(exc), hint=_BLOCKED_HINT)) from None
        finally:
            logger.removeHandler(capture)
        if fetcher.blocked:  # refused inside an SVG, where WeasyPrint swallows the error
            raise RenderError(Problem(job.label, str(fetcher.blocked[0]), hint=_BLOCKED_HINT))
        missing = [m for m in capture.messages if any(p in m for p in _MISSING_RESOURCE)]
        if missing:
            raise RenderError(
                Problem(
                    job.label,
                    f"a resource could not be loaded: {missing[0]}",
                    hint="check the logo and template file names",
                )
            )
        if b"/EmbeddedFile" in pdf:
            raise RenderError(
                Problem(
                    job.label,
                    "the PDF would contain an attached file",
                    hint="remove rel=attachment links from the template",
                )
            )
        return Rendered(pdf, pages, capture.messages, size)

    def _layout(self, job: Job, fetcher: Any, body_pt: float) -> Any:
        from weasyprint import HTML

        html_text = render_html(job, lambda p: p.resolve().as_uri(), [], body_pt)
        return HTML(
            string=html_text, base_url=job.brand.folder.as_uri() + "/", url_fetcher=fetcher
        ).render(
            stylesheets=self._stylesheets(job, fetcher),
            font_config=self.font_config,
            # Raster logos are downscaled to 300 dpi at their printed size.
            dpi=300,
            optimize_images=True,
        )


def _overflow(job: Job, pages: int, size: float) -> Problem:
    """Say by how much the content does not fit, at the smallest size the layout allows."""
    spec, limit = job.spec, job.max_pages or 0
    at = f"at the smallest size this layout allows ({size:g} pt)"
    if spec.panels_per_page:
        more = (pages - limit) * spec.panels_per_page
        message = (
            f"the content does not fit the {limit * spec.panels_per_page} panels of the "
            f"{job.layout} {at}: it needs about {more} more panel(s)"
        )
    else:
        message = f"needs {pages} pages {at}; the {job.layout} allows {limit}"
    return job.handout.problem((), message, spec.overflow_hint)
