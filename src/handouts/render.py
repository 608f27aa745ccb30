"""One job → HTML (Jinja2, sandboxed) → PDF bytes (WeasyPrint, confined fetcher).

The only module, with fetcher.py, that imports WeasyPrint. A ``Renderer`` lives as long as a
worker and keeps what can be shared between documents: the Jinja environment, parsed
stylesheets and the font configuration.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from . import __version__, markup
from .assets import font_families
from .errors import Problem, RenderError
from .models import Reference
from .plan import Job
from .qr import QRTooDense, make_qr

PAGE_CAP = 24
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
    template folders, so `{% include %}` cannot print a file from elsewhere."""

    def get_source(self, environment: jinja2.Environment, template: str):
        source, filename, uptodate = super().get_source(environment, template)
        real = Path(os.path.realpath(filename))
        roots = [Path(os.path.realpath(p)) for p in self.searchpath]
        if not any(real.is_relative_to(root) for root in roots):
            raise jinja2.TemplateNotFound(
                f"{template} (it links outside the templates folder, which is not allowed)"
            )
        return source, filename, uptodate


@cache
def template_env(template_dirs: tuple[Path, ...]) -> ImmutableSandboxedEnvironment:
    """The one Jinja environment: sandboxed, autoescape always on, StrictUndefined, and a
    loader that looks in the project's templates/ before the built-in ones."""
    loader = _ConfinedLoader([str(d) for d in template_dirs])
    return ImmutableSandboxedEnvironment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
        auto_reload=False,
    )


def find_template_file(template_dirs: tuple[Path, ...], name: str) -> Path | None:
    for folder in template_dirs:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def stylesheet_files(job: Job) -> list[Path]:
    names = ["base/base.css", f"{job.layout}/{job.layout}.css"]
    return [p for n in names if (p := find_template_file(job.template_dirs, n))]


def _label(url: str) -> str:
    return url.removeprefix("https://").removeprefix("http://").removesuffix("/")


def _mix(hex_color: str, other: str, amount: float) -> str:
    a = [int(hex_color[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(other[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * amount):02X}" for x, y in zip(a, b, strict=True))


def source_epoch(job: Job) -> int:
    """The moment a document is dated: its review date, else SOURCE_DATE_EPOCH, else 0."""
    review = job.handout.handout.review
    if review:
        moment = dt.datetime.combine(review.reviewed_on, dt.time(), tzinfo=dt.UTC)
        return int(moment.timestamp())
    try:
        return int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    except ValueError:
        return 0


def _date(value: Any) -> str:
    return f"{value:%B} {value.day}, {value.year}"


def _reference_view(ref: Reference, job: Job, key: tuple) -> dict[str, Any]:
    link = ref.link
    qr = None
    if link:
        try:
            qr = make_qr(link)
        except QRTooDense as exc:
            raise RenderError(job.handout.problem(key, str(exc))) from None
    byline = ", ".join(
        str(x)
        for x in (
            ref.authors,
            ref.journal or ref.publisher,
            ref.year or (_date(ref.date) if ref.date else None),
            ref.volume,
        )
        if x
    )
    return {
        "id": ref.id,
        "title": ref.title,
        "byline": byline,
        "link": link,
        "link_label": _label(link) if link else "",
        "qr": qr,
    }


def build_context(job: Job, asset_url: Callable[[Path], str]) -> dict[str, Any]:
    """Everything a template sees. Content is pre-rendered, escaped HTML (Markup): data."""
    h, b = job.handout.handout, job.brand.brand
    refs = {r.id: (i, r) for i, r in enumerate(h.references)}

    def sources(ids: list[str]) -> list[dict[str, Any]]:
        return [_reference_view(refs[s][1], job, ("references", refs[s][0])) for s in ids]

    contact = b.contact
    booking_qr = None
    if contact.booking_url:
        try:
            booking_qr = make_qr(contact.booking_url, min_mm=24.0)
        except QRTooDense as exc:
            raise RenderError(job.brand.problem(("contact", "booking_url"), str(exc))) from None
    primary = b.colors.primary
    faces = font_families(job.font_dirs)[b.font]
    review = None
    if h.review:
        review = {
            "version": h.review.version,
            "reviewed_on": _date(h.review.reviewed_on),
            "reviewed_by": h.review.reviewed_by,
        }
    epoch = source_epoch(job)
    date = dt.datetime.fromtimestamp(epoch, dt.UTC).date().isoformat() if epoch else None
    return {
        "layout": job.layout,
        "doc": {
            "lang": h.language,
            "title": h.title,
            "subtitle": h.subtitle,
            "subject": h.subtitle or h.title,
            "keywords": [*h.keywords, h.title, "patient education", b.name],
            "tool_version": __version__,
            "date": date,
        },
        "brand": {
            "name": b.name,
            "tagline": b.tagline,
            "logo_url": asset_url(job.brand.logo) if job.brand.logo else None,
            "booking_qr": booking_qr,
            "contact": {
                "any": any((contact.phone, contact.website, contact.email, contact.address)),
                "phone": contact.phone,
                "phone_href": "tel:"
                + "".join(c for c in contact.phone or "" if c in "+0123456789"),
                "email": contact.email,
                "address": contact.address,
                "website": contact.website,
                "website_label": _label(contact.website) if contact.website else None,
                "booking_label": _label(contact.booking_url) if contact.booking_url else None,
            },
        },
        "theme": {
            "paper": "letter" if b.paper == "letter" else "A4",
            "paper_name": b.paper,
            "primary": primary,
            "primary_dark": _mix(primary, "#000000", 0.25),
            "primary_tint": _mix(primary, "#FFFFFF", 0.92),
            "accent": b.colors.accent,
            "accent_tint": _mix(b.colors.accent, "#FFFFFF", 0.85),
            "font": b.font,
        },
        "fonts": [
            {"family": f.family, "url": asset_url(f.path), "weight": f.weight, "style": f.style}
            for f in faces
        ],
        "review": review,
        "notices": [
            {"kind": n.kind, "html": Markup(markup.to_html(n.text)), "sources": sources(n.sources)}
            for n in h.notices
        ],
        "questions": [
            {
                "question": q.question,
                "html": Markup(markup.to_html(q.answer)),
                "sources": sources(q.sources),
            }
            for q in h.questions
        ],
        "closing": {
            "heading": h.closing.heading,
            "html": Markup(markup.to_html(h.closing.text)) if h.closing.text else None,
        }
        if h.closing
        else None,
    }


def render_html(job: Job, asset_url: Callable[[Path], str], stylesheets: list[str]) -> str:
    env = template_env(job.template_dirs)
    name = f"{job.layout}/page.html"
    context = build_context(job, asset_url)
    try:
        return env.get_template(name).render(**context, stylesheets=stylesheets)
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
        # Decoded images (logos, QR codes) by URL; a renderer lives for one build at most.
        self._images: dict[str, Any] = {}

    def _stylesheets(self, job: Job, fetcher: Any) -> list[Any]:
        from weasyprint import CSS

        sheets = []
        for path in stylesheet_files(job):
            key = (path, job.template_dirs)
            if key not in self._css:
                self._css[key] = CSS(
                    filename=str(path), url_fetcher=fetcher, font_config=self.font_config
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
        from weasyprint import HTML
        from weasyprint.urls import FatalURLFetchingError

        from .fetcher import ConfinedFetcher

        roots = [*job.template_dirs, *job.font_dirs, job.brand.folder]
        fetcher = ConfinedFetcher(roots)
        html_text = render_html(job, lambda p: p.resolve().as_uri(), [])
        logger = logging.getLogger("weasyprint")
        capture = _Capture()
        logger.addHandler(capture)
        try:
            document = HTML(
                string=html_text, base_url=job.brand.folder.as_uri() + "/", url_fetcher=fetcher
            ).render(
                stylesheets=self._stylesheets(job, fetcher),
                font_config=self.font_config,
                cache=self._images,
                # Raster logos are downscaled to 300 dpi at their printed size.
                dpi=300,
                optimize_images=True,
            )
            # Handouts never carry attachments: drop any a custom template asked for.
            document.metadata.attachments = []
            for page in document.pages:
                page.links = [link for link in page.links if link[0] != "attachment"]
            if len(document.pages) > page_cap:
                raise RenderError(
                    Problem(
                        job.handout.display,
                        f"the document has {len(document.pages)} pages; the limit is {page_cap}",
                        hint="shorten the handout or check the template",
                    )
                )
            pdf = document.write_pdf()
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
        return Rendered(pdf, len(document.pages), capture.messages)


# ---------------------------------------------------------------- HTML for debugging


def write_html(job: Job, target: Path) -> Path:
    """Write the intermediate HTML and copies of its assets, to open in a browser."""
    assets = target.parent / "assets"
    assets.mkdir(parents=True, exist_ok=True)

    def asset_url(path: Path) -> str:
        shutil.copyfile(path, assets / path.name)
        return f"assets/{path.name}"

    sheets = []
    for path in stylesheet_files(job):
        name = f"{path.parent.name}-{path.name}"
        shutil.copyfile(path, assets / name)
        sheets.append(f"assets/{name}")
    html_text = render_html(job, asset_url, sheets)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(html_text, encoding="utf-8")
    os.replace(tmp, target)
    return target
