"""One job → HTML (Jinja2, sandboxed) → PDF bytes (WeasyPrint, confined fetcher).

The only module, with fetcher.py, that imports WeasyPrint. A ``Renderer`` lives as long as a
worker and keeps what can be shared between documents: the Jinja environment, parsed
stylesheets and the font configuration.
"""

from __future__ import annotations

import io
import logging
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .context import Fit, build_context, source_epoch
from .defaults import DEFAULT_PAGE_CAP as PAGE_CAP
from .errors import Problem, RenderError
from .files import FileRefused, read_file
from .i18n import css_counters, translations
from .plan import Job
from .preflight import PreflightError, PreflightFinding

MAX_TEMPLATE_BYTES = 1024 * 1024  # a template or stylesheet; the built-in ones are ~20 KB
# The most layouts the fitter tries for one document before it settles for the best one.
MAX_ATTEMPTS = 8
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
    fit: Fit | float | None = None,
) -> str:
    env = template_env(job.template_dirs, job.handout.language)
    name = f"{job.layout}/page.html"
    context = build_context(job, asset_url, fit)
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
    # Preflight warnings (errors raise PreflightError instead): plain, picklable data.
    preflight: list[PreflightFinding] = field(default_factory=list)
    fit: str = ""  # what the fitter settled on: size, spacing, QR module
    attempts: int = 1  # layouts the fitter tried
    preflight_seconds: float = 0.0  # time spent in preflight, all attempts together


@dataclass
class _Attempt:
    fit: Fit
    document: Any
    pages: int
    findings: list[PreflightFinding]
    used: float  # pages the content takes: the full ones and the share of the last one

    def score(self) -> tuple[int, int]:
        """Fewer errors first, then fewer warnings."""
        errors = sum(f.severity == "error" for f in self.findings)
        return errors, len(self.findings) - errors


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
        """Lay the document out, fitted to its pages and checked by preflight; write the PDF.
        Preflight errors fail the document with a picture of each spot."""
        from weasyprint.urls import FatalURLFetchingError

        from .fetcher import ConfinedFetcher

        fetcher = ConfinedFetcher([*job.template_dirs, *job.font_dirs, job.brand.folder])
        logger = logging.getLogger("weasyprint")
        capture = _Capture()
        logger.addHandler(capture)
        try:
            fitter = _Fitter(self, job, fetcher, page_cap)
            chosen = fitter.run()
            document = chosen.document
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
        if any(f.severity == "error" for f in chosen.findings):
            from .preflight import with_crops

            bleed = max(document.pages[0].bleed.values()) * 0.75 if document.pages else 0.0
            findings, files = with_crops(pdf, job.label, chosen.findings, bleed=bleed)
            raise PreflightError(job.label, findings, files)
        return Rendered(
            pdf,
            chosen.pages,
            capture.messages,
            chosen.fit.body_pt,
            preflight=chosen.findings,
            fit=chosen.fit.describe(),
            attempts=fitter.attempts,
            preflight_seconds=fitter.preflight_seconds,
        )

    def _layout(self, job: Job, fetcher: Any, fit: Fit | float) -> Any:
        from weasyprint import HTML

        html_text = render_html(job, lambda p: p.resolve().as_uri(), [], fit)
        return HTML(
            string=html_text, base_url=job.brand.folder.as_uri() + "/", url_fetcher=fetcher
        ).render(
            stylesheets=self._stylesheets(job, fetcher),
            font_config=self.font_config,
            # Raster logos are downscaled to 300 dpi at their printed size.
            dpi=300,
            optimize_images=True,
        )


def page_limit(job: Job) -> int | None:
    """How many pages the document may have. A folded layout has exactly its own (a brand's
    lower max_pages cannot unfold it); others take the plan's limit."""
    spec = job.spec
    if spec.panels_per_page and spec.max_pages:
        return spec.max_pages
    return job.max_pages


class _Fitter:
    """Finds the settings a document looks best at: it must fit its pages, and preflight should
    find nothing. It renders at the layout's own settings first. When the document has too many
    pages it steps the type down to the floor, then tightens the spacing, then prints the
    source codes at their smallest module. When preflight finds a nearly empty last page it
    tries to drop that page the same way, else grows the spacing and the type to fill it; for
    anything else (a stranded heading, a split box) it tries the neighbouring settings, which
    move the breaks. Settings that cannot help, judged by how much room the content took, are
    skipped; at most MAX_ATTEMPTS layouts are made."""

    def __init__(self, renderer: Renderer, job: Job, fetcher: Any, page_cap: int) -> None:
        self.renderer, self.job, self.fetcher, self.page_cap = renderer, job, fetcher, page_cap
        self.spec = job.spec
        self.base = Fit.default(job.spec)
        self.limit = page_limit(job)
        self.attempts = 0
        self.preflight_seconds = 0.0
        self.tried: dict[Fit, _Attempt] = {}

    def attempt(self, fit: Fit) -> _Attempt:
        if fit in self.tried:
            return self.tried[fit]
        from .layoutboxes import read_pages
        from .preflight import check, page_reach

        self.attempts += 1
        document = self.renderer._layout(self.job, self.fetcher, fit)
        pages = len(document.pages)
        if pages > self.page_cap:
            raise RenderError(
                self.job.handout.problem(
                    (),
                    f"the document has {pages} pages; the limit is {self.page_cap}",
                    "shorten the handout or check the template",
                )
            )
        start = time.perf_counter()
        laid_out = read_pages(document)
        findings: list[PreflightFinding] = []
        if self.fits(pages):
            findings = check(laid_out, self.spec.preflight, print_ready=self.job.print_ready)
        used = pages - 1 + (page_reach(laid_out[-1]) if laid_out else 0.0)
        self.preflight_seconds += time.perf_counter() - start
        result = _Attempt(fit, document, pages, findings, used)
        self.tried[fit] = result
        return result

    def fits(self, pages: int, limit: int | None = None) -> bool:
        limit = self.limit if limit is None else limit
        return limit is None or pages <= limit

    def volume(self, fit: Fit) -> float:
        """Roughly how much room the content takes at ``fit``, relative to the layout's own
        settings: area grows with the square of the type size, a little with the spacing."""
        return (fit.body_pt / self.base.body_pt) ** 2 * (fit.spacing / self.base.spacing) ** 0.35

    def predicted(self, known: _Attempt, fit: Fit) -> float:
        """Pages (the last one in part) the content would take at ``fit``. A folded layout's
        first page (the outside panels) is fixed: only what follows it grows or shrinks."""
        fixed = 1.0 if self.spec.panels_per_page and known.pages > 1 else 0.0
        return fixed + (known.used - fixed) * self.volume(fit) / self.volume(known.fit)

    def shrinking(self, start: Fit) -> list[Fit]:
        """Smaller type, then tighter spacing, then denser source codes: never below the
        layout's floors."""
        spec = self.spec
        steps = [Fit(size, start.spacing, start.qr_module_mm) for size in spec.sizes()]
        steps = [f for f in steps if f.body_pt < start.body_pt]
        floor = steps[-1].body_pt if steps else start.body_pt
        for spacing in sorted((s for s in spec.spacing if s < start.spacing), reverse=True):
            steps.append(Fit(floor, spacing, start.qr_module_mm))
        tightest = min([*spec.spacing, start.spacing])
        smallest_qr = spec.preflight.qr_min_module_mm
        if smallest_qr < start.qr_module_mm:
            steps.append(Fit(floor, tightest, smallest_qr))
        return steps

    def growing(self, start: Fit) -> list[Fit]:
        """Looser spacing, then larger type, up to the layout's ceilings."""
        spec = self.spec
        steps = [
            Fit(start.body_pt, spacing, start.qr_module_mm)
            for spacing in sorted(s for s in spec.spacing if s > start.spacing)
        ]
        size = start.body_pt + spec.step_pt
        while spec.max_body_pt is not None and size <= spec.max_body_pt + 1e-9:
            steps.append(Fit(round(size, 2), start.spacing, start.qr_module_mm))
            size += spec.step_pt
        return steps

    def shrink_to(self, limit: int, known: _Attempt) -> list[Fit]:
        """The shrinking steps that may bring the content within ``limit`` pages; the smallest
        is always among them, so that an overflow is measured at the floor."""
        steps = self.shrinking(known.fit)
        hopeful = [f for f in steps if self.predicted(known, f) <= limit + 0.15]
        return hopeful or steps[-1:]

    def run(self) -> _Attempt:
        best = self.attempt(self.base)
        if not self.fits(best.pages):
            assert self.limit is not None
            for fit in self.shrink_to(self.limit, best):
                if self.attempts >= MAX_ATTEMPTS:
                    break
                tried = self.attempt(fit)
                best.document = None
                best = tried
                if self.fits(best.pages):
                    break
            if not self.fits(best.pages):
                raise RenderError(_overflow(self.job, best.pages, best.fit.body_pt))
        if best.score() != (0, 0):
            best = self.improve(best)
        if self.spec.panels_per_page and self.limit is not None:
            best = self.fill(best)
        return best

    def improve(self, best: _Attempt) -> _Attempt:
        """Try other settings until preflight finds nothing, keeping the best so far."""
        for fit, limit in self.alternatives(best):
            if self.attempts >= MAX_ATTEMPTS:
                break
            tried = self.attempt(fit)
            if tried is best or tried.document is None:
                continue
            fits = self.fits(tried.pages, limit) and self.fits(tried.pages)
            if fits and tried.score() < best.score():
                best.document = None  # only the chosen layout is kept in memory
                best = tried
                if best.score() == (0, 0):
                    break
            else:
                tried.document = None
        return best

    def fill(self, best: _Attempt) -> _Attempt:
        """A folded layout has a fixed number of panels: space left at the foot of the last
        one is wasted paper, so grow the spacing, then the type, a step at a time while the
        content still fits and preflight finds no more than before."""
        assert self.limit is not None
        while self.attempts < MAX_ATTEMPTS:
            steps = [
                fit
                for fit in self.growing(best.fit)
                if fit not in self.tried and self.predicted(best, fit) <= self.limit + 0.03
            ]
            if not steps:
                break
            tried = self.attempt(min(steps, key=self.volume))
            if not self.fits(tried.pages) or tried.score() > best.score():
                tried.document = None
                break
            best.document = None
            best = tried
        return best

    def alternatives(self, known: _Attempt) -> list[tuple[Fit, int | None]]:
        """Settings worth trying after ``known``, each with the page count it must reach."""
        if not any(f.rule == "page-fill" and f.page == known.pages for f in known.findings):
            # A break in the wrong place: small changes move it.
            nearby = self.growing(known.fit)[:3] + self.shrinking(known.fit)[:2]
            ceiling = self.limit if self.limit is not None else known.pages + 1
            return [(fit, ceiling) for fit in nearby]
        found: list[tuple[Fit, int | None]] = []
        if known.pages > 1 and not self.spec.panels_per_page:  # drop the nearly empty page
            drop = self.shrinking(known.fit)
            found += [
                (fit, known.pages - 1)
                for fit in drop
                if self.predicted(known, fit) <= known.pages - 1 + 0.1
            ]
        # ... or fill it: grow, least first (the estimate is rough: layouts decide). A
        # document that grows as needed may take one page more to do so.
        ceiling = self.limit if self.limit is not None else known.pages + 1
        least = self.spec.preflight.min_page_fill - 0.05
        for fit in sorted(self.growing(known.fit), key=self.volume):
            pages = self.predicted(known, fit)
            last = pages - (known.pages - 1) if pages <= known.pages else pages - known.pages
            if pages <= ceiling + 0.1 and last >= least:
                found.append((fit, ceiling))
        return found


def _overflow(job: Job, pages: int, size: float) -> Problem:
    """Say by how much the content does not fit, at the smallest size the layout allows."""
    spec, limit = job.spec, page_limit(job) or 0
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
