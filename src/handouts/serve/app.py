"""The web app: Starlette routes over the backend, pages from Jinja templates, live updates
by server-sent events, and the guard (security.py) in front of everything.

Pages work without JavaScript (plain links and forms); with it, htmx swaps parts of pages and
app.js listens to the event stream. Nothing here touches the library: backend.py does.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import HandoutsError, Problem
from . import forms, storage
from .backend import Backend, NotFound, Refused
from .events import Broker
from .pages import DPI
from .security import Guard, Settings, new_token
from .views import HEX, LANG, SLUG, DocKey, field_id, key_label, layout_label

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
FONT_FILES = {  # the app's own type: Atkinson Hyperlegible, from the built-in fonts
    "AtkinsonHyperlegible-Regular.ttf",
    "AtkinsonHyperlegible-Bold.ttf",
}
MARKDOWN_HELP = (
    "Write plain sentences. **bold**, *italic*; a line starting with “- ” is a list item; "
    "[words](https://…) makes a link. Leave an empty line between paragraphs."
)
NOT_YET = {
    "approve": (
        "Approving a handout from the web app is not available yet. For now, the reviewer "
        'runs `handouts review approve HANDOUT --by "Name, role"` (see docs/reviewing.md).'
    ),
    "send": (
        "Sending a handout to a patient from the web app is not available yet. For now, use "
        "`handouts send` in a terminal (see docs/sending-to-patients.md)."
    ),
}


class App:
    """Everything one running web app holds: settings, backend, templates."""

    def __init__(self, backend: Backend, settings: Settings, *, watch: bool = True) -> None:
        self.backend = backend
        self.settings = settings
        self.watch = watch
        self.env = backend.template_env(TEMPLATES)
        self.asset_version = str(int(time.time()))
        self.starlette = Starlette(
            routes=self.routes(),
            lifespan=self.lifespan,
            exception_handlers={HandoutsError: self.user_error, Exception: self.our_error},
        )
        self.asgi = Guard(self.starlette, settings, self.error_page)

    # ------------------------------------------------------------ plumbing

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.backend.events.bind(asyncio.get_running_loop())
        await run_in_threadpool(self.backend.start)
        stop = asyncio.Event()
        task = asyncio.create_task(self._watch(stop)) if self.watch else None
        try:
            yield
        finally:
            self.backend.events.close()
            stop.set()
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, 5)
            await run_in_threadpool(self.backend.close)

    async def _watch(self, stop: asyncio.Event) -> None:
        """Notice edits made outside the app (a text editor, `git pull`, a CLI build)."""
        from watchfiles import awatch

        root = self.backend.root
        paths = [p for p in (root / "content", root / "templates", root / "fonts") if p.is_dir()]
        if (root / "handouts.yaml").is_file():
            paths.append(root / "handouts.yaml")

        def wanted(change: Any, path: str) -> bool:
            name = Path(path).name
            return not (
                name.startswith(".")
                or name.endswith((storage.BACKUP_SUFFIX, ".tmp", ".swp", "~"))
                or "__pycache__" in path
            )

        async for changes in awatch(
            *paths, stop_event=stop, debounce=300, step=50, watch_filter=wanted
        ):
            names = sorted({p for _, p in changes})
            others = await run_in_threadpool(self.backend.changed_elsewhere, names)
            if not others:
                continue  # only the app's own saves
            self.backend.invalidate()
            changed = [_relative(Path(p), root) for p in others]
            self.backend.events.publish("files", {"changed": changed})
            await run_in_threadpool(self.backend.preview_watched, "changed on disk")

    def render(self, name: str, **context: Any) -> str:
        return self.env.get_template(name).render(**context)

    def page(self, request: Request, name: str, code: int = 200, **context: Any) -> Response:
        watch = context.pop("watch", [])
        events = "/events" + ("?" + "&".join(f"doc={d}" for d in watch) if watch else "")
        base = {
            "csrf": self.settings.csrf_token(),
            "project_name": self.backend.project_name(),
            "asset_version": self.asset_version,
            "events_url": events,
            "section": "",
            "bare": False,
            "load_problems": len(self.backend.problems()),
            "field_id": field_id,
            "key_label": key_label,
            "now": dt.datetime.now().strftime("%H:%M"),
        }
        html = self.render(name, **{**base, **context})
        return HTMLResponse(html, code, headers={"cache-control": "no-store"})

    def fragment(self, name: str, code: int = 200, **context: Any) -> Response:
        context.setdefault("csrf", self.settings.csrf_token())
        context.setdefault("field_id", field_id)
        context.setdefault("key_label", key_label)
        context.setdefault("now", dt.datetime.now().strftime("%H:%M"))
        html = self.render(name, **context)
        return HTMLResponse(html, code, headers={"cache-control": "no-store"})

    def error_page(self, status: int, title: str, message: str) -> bytes:
        html = self.render(
            "error.html",
            title=title,
            message=message,
            status=status,
            asset_version=self.asset_version,
            bare=True,
        )
        return html.encode("utf-8")

    async def user_error(self, request: Request, exc: Exception) -> Response:
        """A problem with the project itself (its folder gone, a file unreadable)."""
        body = self.error_page(500, "The project cannot be read", str(exc))
        return HTMLResponse(body, 500, headers={"cache-control": "no-store"})

    async def our_error(self, request: Request, exc: Exception) -> Response:
        """A bug of ours: a plain page for staff; the details go to the server's window."""
        logging.getLogger("handouts.serve").error(
            "internal error on %s %s", request.method, request.url.path, exc_info=exc
        )
        body = self.error_page(
            500,
            "Something went wrong",
            "This is a bug in handouts, not something you did. Nothing was changed. The "
            "details are in the window where `handouts serve` runs; please report them.",
        )
        return HTMLResponse(body, 500, headers={"cache-control": "no-store"})

    def not_found(self, request: Request, what: str = "This page") -> Response:
        return self.page(
            request,
            "error.html",
            404,
            title="Not found",
            message=f"{what} is not in this project. It may have been renamed or removed.",
            status=404,
            bare=False,
        )

    # ------------------------------------------------------------ routes

    def routes(self) -> list[Any]:
        doc = "/doc/{brand}/{handout}/{lang}/{layout}"
        edit = "/edit/{handout}/{lang}"
        return [
            Route("/", self.library),
            Route(doc, self.document),
            Route(doc + "/pages", self.pages),
            Route(doc + "/page-{number:int}.png", self.page_image),
            Route(doc + "/pdf", self.pdf),
            Route(doc + "/thumb.png", self.thumbnail),
            Route(doc + "/build", self.build_document, methods=["POST"]),
            Route(doc + "/send", self.not_yet("send"), methods=["POST"]),
            Route(edit, self.edit, methods=["GET", "POST"]),
            Route(edit + "/yaml", self.edit_yaml, methods=["GET", "POST"]),
            Route(edit + "/approve", self.not_yet("approve"), methods=["POST"]),
            Route("/brands", self.brands),
            Route("/brand/{brand}", self.brand, methods=["GET", "POST"]),
            Route("/brand/{brand}/contrast", self.contrast, methods=["POST"]),
            Route("/brand/{brand}/logo", self.logo, methods=["GET", "POST"]),
            Route("/brand/{brand}/yaml", self.brand_yaml, methods=["GET", "POST"]),
            Route("/swatch/{fg}/{bg}.svg", self.swatch),
            Route("/build", self.build_page, methods=["GET", "POST"]),
            Route("/build/panel", self.build_panel),
            Route("/build/cancel", self.build_cancel, methods=["POST"]),
            Route("/check", self.check_page),
            Route("/events", self.events),
            Route("/static/fonts/{name}", self.font),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]

    # ------------------------------------------------------------ library

    async def library(self, request: Request) -> Response:
        q = request.query_params
        chosen = {
            "brand": _slug(q.get("brand", "")),
            "language": _lang(q.get("language", "")),
            "layout": _slug(q.get("layout", "")),
            "status": q.get("status", "") if q.get("status") in _STATUSES else "",
            "query": q.get("q", "")[:200],
        }
        rows = await run_in_threadpool(lambda: self.backend.rows(**chosen))
        context = {"rows": rows, "chosen": chosen, "blocked": self.backend.blocked()}
        if request.headers.get("hx-request") and request.headers.get("hx-target") == "results":
            return self.fragment("_results.html", **context)
        total = len(self.backend.state().jobs)
        return self.page(
            request,
            "library.html",
            section="library",
            title="Library",
            facets=self.backend.facets(),
            total=total,
            statuses=_STATUSES,
            problems=self.backend.problems(),
            **context,
        )

    # ------------------------------------------------------------ documents

    def _key(self, request: Request) -> DocKey | None:
        p = request.path_params
        return DocKey.parse(p["brand"], p["handout"], p["lang"], p["layout"])

    async def document(self, request: Request) -> Response:
        key = self._key(request)
        if key is None:
            return self.not_found(request, "This document")
        try:
            row = await run_in_threadpool(self.backend.document, key)
            pages = await run_in_threadpool(self._pages_of, key, row)
        except NotFound:
            return self.not_found(request, "This document")
        return self.page(
            request,
            "document.html",
            section="library",
            title=row.title,
            row=row,
            pages=pages,
            not_yet=NOT_YET,
            watch=[row.output],
        )

    def _pages_of(self, key: DocKey, row: Any) -> list[dict[str, Any]]:
        sizes, sha = self.backend.page_sizes(key)
        pages = []
        for n, (width, height) in enumerate(sizes, start=1):
            marks = [
                {
                    "x": f.bbox[0],
                    "y": f.bbox[1],
                    "w": f.bbox[2] - f.bbox[0],
                    "h": f.bbox[3] - f.bbox[1],
                    "severity": f.severity,
                    "label": f.message,
                }
                for f in row.findings
                if f.page == n and f.bbox
            ]
            pages.append(
                {
                    "number": n,
                    "width": round(width, 2),
                    "height": round(height, 2),
                    "px_width": round(width * DPI / 72),
                    "px_height": round(height * DPI / 72),
                    "src": f"{key.url}/page-{n}.png?v={sha[:16]}",
                    "marks": marks,
                }
            )
        return pages

    async def pages(self, request: Request) -> Response:
        key = self._key(request)
        if key is None:
            return self.not_found(request, "This document")
        try:
            row = await run_in_threadpool(self.backend.document, key)
            pages = await run_in_threadpool(self._pages_of, key, row)
        except NotFound:
            return self.not_found(request, "This document")
        return self.fragment("_pages.html", row=row, pages=pages)

    async def page_image(self, request: Request) -> Response:
        key = self._key(request)
        number = request.path_params["number"]
        if key is None or not 1 <= number <= 1000:
            return Response(status_code=404)
        try:
            png, sha = await run_in_threadpool(self.backend.page_png, key, number)
        except (NotFound, Refused):
            return Response(status_code=404)
        fresh = request.query_params.get("v") == sha[:16]
        cache = "private, max-age=86400, immutable" if fresh else "no-store"
        return Response(png, media_type="image/png", headers={"cache-control": cache})

    async def pdf(self, request: Request) -> Response:
        key = self._key(request)
        if key is None:
            return Response(status_code=404)
        try:
            data, name = await run_in_threadpool(self.backend.pdf, key)
        except (NotFound, Refused):
            return self.not_found(request, "The PDF of this document")
        how = "attachment" if request.query_params.get("download") else "inline"
        return Response(
            data,
            media_type="application/pdf",
            headers={
                "content-disposition": f'{how}; filename="{name}"',
                "cache-control": "no-store",
            },
        )

    async def thumbnail(self, request: Request) -> Response:
        key = self._key(request)
        if key is None:
            return Response(status_code=404)
        try:
            data = await run_in_threadpool(self.backend.thumbnail, key)
        except NotFound:
            return Response(_PLACEHOLDER, media_type="image/svg+xml")
        return Response(data, media_type="image/png", headers={"cache-control": "no-cache"})

    async def build_document(self, request: Request) -> Response:
        key = self._key(request)
        if key is None:
            return self.not_found(request, "This document")
        try:
            await run_in_threadpool(self.backend.document, key)
        except NotFound:
            return self.not_found(request, "This document")
        self.backend.preview([key], "asked for")
        if request.headers.get("hx-request"):
            return HTMLResponse(
                '<p class="note" role="status">Building… the pages update by themselves.</p>'
            )
        return RedirectResponse(key.url, 303)

    def not_yet(self, what: str) -> Callable[[Request], Any]:
        """Places the lead wires to sign-off (approve) and sending (send): 501 for now."""

        async def endpoint(request: Request) -> Response:
            return self.page(
                request,
                "error.html",
                501,
                title="Not available yet",
                message=NOT_YET[what],
                status=501,
                bare=False,
            )

        return endpoint

    # ------------------------------------------------------------ editing a handout

    def _editor_keys(
        self, handout: str, lang: str, preview: str
    ) -> tuple[list[DocKey], DocKey | None]:
        keys = self.backend.documents_of(handout, lang)
        keys.sort(key=lambda k: (k.brand, k.layout != "leaflet", k.layout))
        chosen = None
        if preview:
            brand, _, layout = preview.partition("/")
            chosen = next((k for k in keys if (k.brand, k.layout) == (brand, layout)), None)
        return keys, chosen or (keys[0] if keys else None)

    async def edit(self, request: Request) -> Response:
        handout, lang = request.path_params["handout"], request.path_params["lang"]
        if not (SLUG.fullmatch(handout) and _lang(lang)):
            return self.not_found(request, "This handout")
        try:
            _, display = await run_in_threadpool(self.backend.handout_file, handout, lang)
        except NotFound:
            return self.not_found(request, "This handout")
        except Refused as exc:
            return self._refused(request, str(exc))
        if request.method == "GET":
            try:
                model, snap = await run_in_threadpool(self.backend.current_handout, handout, lang)
            except HandoutsError:  # the file does not load: the YAML view shows why
                return RedirectResponse(f"/edit/{handout}/{lang}/yaml", 303)
            form = forms.handout_form(model, snap.sha256)
            message = (
                "Saved. The preview is being updated." if request.query_params.get("saved") else ""
            )
            return await self._editor(request, handout, lang, display, form, message)
        data = await request.form(max_part_size=2 * 1024 * 1024)
        action = str(data.get("action", "save"))
        try:
            references = self.backend.references(handout, lang)
        except NotFound:
            references = []
        form = forms.posted_handout(data, references)
        preview = str(data.get("preview", ""))
        if action != "save":
            if not forms.apply_action(form, action):
                form.general.append(Problem(display, "that button did nothing; please try again"))
            return await self._editor(
                request, handout, lang, display, form, "Not saved yet.", preview=preview
            )
        outcome = await run_in_threadpool(
            self.backend.save_handout, handout, lang, form.edit(), form.sha
        )
        if not outcome.saved:
            form.errors, form.general = forms.assign(outcome.problems, form.field_ids())
            form.focus = "error-summary"
            status = 200 if request.headers.get("hx-request") else 422
            return await self._editor(
                request,
                handout,
                lang,
                display,
                form,
                "Not saved: please fix the problems marked below.",
                preview=preview,
                status=status,
            )
        _, chosen = await run_in_threadpool(self._editor_keys, handout, lang, preview)
        if chosen is not None:
            self.backend.preview([chosen], "saved")
        await run_in_threadpool(self.backend.preview_watched, "saved")
        if not request.headers.get("hx-request"):
            suffix = f"&preview={chosen.brand}/{chosen.layout}" if chosen else ""
            return RedirectResponse(f"/edit/{handout}/{lang}?saved=1{suffix}", 303)
        model, snap = await run_in_threadpool(self.backend.current_handout, handout, lang)
        fresh = forms.handout_form(model, snap.sha256)
        return await self._editor(
            request,
            handout,
            lang,
            display,
            fresh,
            f"Saved at {dt.datetime.now():%H:%M}. The preview is being updated.",
            preview=preview,
        )

    async def _editor(
        self,
        request: Request,
        handout: str,
        lang: str,
        display: str,
        form: forms.HandoutForm,
        message: str,
        *,
        preview: str = "",
        status: int = 200,
    ) -> Response:
        preview = preview or request.query_params.get("preview", "")
        keys, chosen = await run_in_threadpool(self._editor_keys, handout, lang, preview)
        context = {
            "form": form,
            "handout": handout,
            "lang": lang,
            "display": display,
            "message": message,
            "markdown_help": MARKDOWN_HELP,
            "chosen": chosen,
            "labels": self._preview_labels(keys),
        }
        if request.headers.get("hx-request") and request.headers.get("hx-target") == "handout-form":
            return self.fragment("_form.html", status, **context)
        row, pages = None, []
        if chosen is not None:
            row = await run_in_threadpool(self.backend.document, chosen)
            pages = await run_in_threadpool(self._pages_of, chosen, row)
        return self.page(
            request,
            "edit.html",
            status,
            section="library",
            title=f"Edit {form.title or handout}",
            keys=keys,
            row=row,
            pages=pages,
            language_name=self.backend.language_name(lang),
            watch=[chosen.output] if chosen else [],
            **context,
        )

    def _preview_labels(self, keys: list[DocKey]) -> dict[DocKey, str]:
        names = {b.id: b.brand.name for b in self.backend.state().project.brands}
        return {k: f"{names.get(k.brand, k.brand)} · {layout_label(k.layout)}" for k in keys}

    async def edit_yaml(self, request: Request) -> Response:
        handout, lang = request.path_params["handout"], request.path_params["lang"]
        if not (SLUG.fullmatch(handout) and _lang(lang)):
            return self.not_found(request, "This handout")
        try:
            path, display = await run_in_threadpool(self.backend.handout_file, handout, lang)
        except NotFound:
            return self.not_found(request, "This handout")
        except Refused as exc:
            return self._refused(request, str(exc))
        back = f"/edit/{handout}/{lang}"

        def save(text: str, sha: str) -> Any:
            return self.backend.save_handout_text(handout, lang, text, sha)

        def problems() -> list[Problem]:
            return self.backend.handout_problems(handout, lang)

        return await self._yaml_page(request, path, display, back, save, problems)

    async def _yaml_page(
        self,
        request: Request,
        path: Path,
        display: str,
        back: str,
        save: Callable[[str, str], Any],
        problems: Callable[[], list[Problem]],
    ) -> Response:
        message = ""
        status = 200
        found: list[Problem] = []
        if request.method == "POST":
            data = await request.form(max_part_size=2 * 1024 * 1024)
            text = str(data.get("text", "")).replace("\r\n", "\n")
            sha = str(data.get("sha", ""))
            outcome = await run_in_threadpool(save, text, sha)
            if outcome.saved:
                return RedirectResponse(f"{request.url.path}?saved=1", 303)
            found, message, status = outcome.problems, "Not saved: the file would not load.", 422
            snapshot_sha = sha
        else:
            try:
                snap = await run_in_threadpool(storage.read, path)
            except OSError as exc:
                return self._refused(request, f"{display} cannot be read ({exc.strerror})")
            text, snapshot_sha = snap.text, snap.sha256
            found = await run_in_threadpool(problems)
            if request.query_params.get("saved"):
                message = "Saved."
        return self.page(
            request,
            "yaml.html",
            status,
            section="library",
            title=f"Edit {display}",
            display=display,
            text=text,
            sha=snapshot_sha,
            problems=found,
            message=message,
            back=back,
            action=request.url.path,
        )

    def _refused(self, request: Request, message: str) -> Response:
        return self.page(
            request, "error.html", 403, title="Not allowed", message=message, status=403, bare=False
        )

    # ------------------------------------------------------------ brands

    async def brands(self, request: Request) -> Response:
        s = await run_in_threadpool(self.backend.state)
        items = [
            {
                "id": b.id,
                "name": b.brand.name,
                "primary": b.brand.colors.primary,
                "accent": b.brand.colors.accent,
                "problems": len(self.backend.brand_findings(b.id)),
            }
            for b in s.project.brands
        ]
        broken = [b for b in s.project.broken if b.kind == "brand"]
        return self.page(
            request, "brands.html", section="brands", title="Brands", brands=items, broken=broken
        )

    async def brand(self, request: Request) -> Response:
        brand_id = request.path_params["brand"]
        if not SLUG.fullmatch(brand_id):
            return self.not_found(request, "This brand")
        try:
            path, display = await run_in_threadpool(self.backend.brand_file, brand_id)
            loaded = await run_in_threadpool(self.backend.brand, brand_id)
        except NotFound:
            if SLUG.fullmatch(brand_id) and any(
                b.kind == "brand" and b.name == brand_id
                for b in self.backend.state().project.broken
            ):
                return RedirectResponse(f"/brand/{brand_id}/yaml", 303)
            return self.not_found(request, "This brand")
        except Refused as exc:
            return self._refused(request, str(exc))
        message, status = "", 200
        if request.method == "POST":
            data = await request.form()
            form = forms.posted_brand(data)
            outcome = await run_in_threadpool(
                self.backend.save_brand, brand_id, form.edit(), form.sha
            )
            if outcome.saved:
                await run_in_threadpool(self.backend.preview_watched, "brand saved")
                return RedirectResponse(f"/brand/{brand_id}?saved=1", 303)
            form.errors, form.general = forms.assign(outcome.problems, form.field_ids())
            form.logo = loaded.brand.logo or ""
            message, status = "Not saved: please fix the problems marked below.", 422
        else:
            snap = await run_in_threadpool(storage.read, path)
            form = forms.brand_form(loaded.brand, snap.sha256)
            if request.query_params.get("saved"):
                message = "Saved."
            if request.query_params.get("logo"):
                message = "The new logo is saved."
        view = await run_in_threadpool(self.backend.contrast, brand_id, form.primary, form.accent)
        findings = await run_in_threadpool(self.backend.brand_findings, brand_id)
        return self.page(
            request,
            "brand.html",
            status,
            section="brands",
            title=loaded.brand.name,
            brand_id=brand_id,
            display=display,
            form=form,
            view=view,
            findings=[f for f in findings if f.code != "contrast.text"],
            message=message,
            logo_errors=[],
        )

    async def contrast(self, request: Request) -> Response:
        brand_id = request.path_params["brand"]
        if not SLUG.fullmatch(brand_id):
            return Response(status_code=404)
        data = await request.form()
        primary, accent = str(data.get("primary", "")), str(data.get("accent", ""))
        try:
            view = await run_in_threadpool(self.backend.contrast, brand_id, primary, accent)
        except NotFound:
            return Response(status_code=404)
        return self.fragment("_contrast.html", view=view)

    async def logo(self, request: Request) -> Response:
        brand_id = request.path_params["brand"]
        if not SLUG.fullmatch(brand_id):
            return self.not_found(request, "This brand")
        if request.method == "GET":
            try:
                loaded = await run_in_threadpool(self.backend.brand, brand_id)
            except NotFound:
                return Response(status_code=404)
            if loaded.logo is None:
                return Response(_PLACEHOLDER, media_type="image/svg+xml")
            data, kind = await run_in_threadpool(self.backend.logo, brand_id)
            return Response(data, media_type=kind, headers={"cache-control": "no-cache"})
        data = await request.form(max_files=1, max_fields=5)
        upload = data.get("logo")
        content = await upload.read() if hasattr(upload, "read") else b""
        if not content:
            outcome_problems = [
                Problem(
                    "logo",
                    "no file was chosen",
                    key="logo",
                    hint="choose an SVG, PNG or JPEG file, then Upload",
                )
            ]
        else:
            try:
                outcome = await run_in_threadpool(self.backend.upload_logo, brand_id, content)
            except NotFound:
                return self.not_found(request, "This brand")
            except Refused as exc:
                return self._refused(request, str(exc))
            if outcome.saved:
                await run_in_threadpool(self.backend.preview_watched, "logo changed")
                return RedirectResponse(f"/brand/{brand_id}?logo=1", 303)
            outcome_problems = outcome.problems
        loaded = await run_in_threadpool(self.backend.brand, brand_id)
        path, display = await run_in_threadpool(self.backend.brand_file, brand_id)
        snap = await run_in_threadpool(storage.read, path)
        form = forms.brand_form(loaded.brand, snap.sha256)
        view = await run_in_threadpool(self.backend.contrast, brand_id, form.primary, form.accent)
        findings = await run_in_threadpool(self.backend.brand_findings, brand_id)
        return self.page(
            request,
            "brand.html",
            422,
            section="brands",
            title=loaded.brand.name,
            brand_id=brand_id,
            display=display,
            form=form,
            view=view,
            findings=[f for f in findings if f.code != "contrast.text"],
            message="The logo was not saved.",
            logo_errors=outcome_problems,
        )

    async def brand_yaml(self, request: Request) -> Response:
        brand_id = request.path_params["brand"]
        if not SLUG.fullmatch(brand_id):
            return self.not_found(request, "This brand")
        try:
            path, display = await run_in_threadpool(self.backend.brand_file, brand_id)
        except NotFound:
            return self.not_found(request, "This brand")
        except Refused as exc:
            return self._refused(request, str(exc))

        def save(text: str, sha: str) -> Any:
            return self.backend.save_brand_text(brand_id, text, sha)

        def problems() -> list[Problem]:
            return self.backend.brand_problems(brand_id)

        return await self._yaml_page(request, path, display, f"/brand/{brand_id}", save, problems)

    async def swatch(self, request: Request) -> Response:
        fg, bg = f"#{request.path_params['fg']}", f"#{request.path_params['bg']}"
        if not (HEX.fullmatch(fg) and HEX.fullmatch(bg)):
            return Response(status_code=404)
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" width="72" height="32" viewBox="0 0 72 32">'
            f'<rect width="72" height="32" rx="4" fill="{bg}"/>'
            f'<text x="10" y="22" font-family="sans-serif" font-size="16" font-weight="bold" '
            f'fill="{fg}">Aa 12</text></svg>'
        )
        return Response(svg, media_type="image/svg+xml", headers={"cache-control": "max-age=3600"})

    # ------------------------------------------------------------ build all, check

    async def build_page(self, request: Request) -> Response:
        if request.method == "POST":
            started = self.backend.build_all()
            if request.headers.get("hx-request"):
                return self.fragment(
                    "_build.html", build=self.backend.build_status, already=not started
                )
            return RedirectResponse("/build", 303)
        return self.page(
            request,
            "build.html",
            section="build",
            title="Build all",
            build=self.backend.build_status,
            already=False,
        )

    async def build_panel(self, request: Request) -> Response:
        return self.fragment("_build.html", build=self.backend.build_status, already=False)

    async def build_cancel(self, request: Request) -> Response:
        self.backend.cancel_build()
        if request.headers.get("hx-request"):
            return self.fragment("_build.html", build=self.backend.build_status, already=False)
        return RedirectResponse("/build", 303)

    async def check_page(self, request: Request) -> Response:
        findings, report = await run_in_threadpool(self.backend.check_findings)
        groups: dict[str, list[Any]] = {}
        for f, raw in zip(findings, report.findings, strict=True):
            groups.setdefault(raw.subject, []).append(f)
        return self.page(
            request,
            "check.html",
            section="check",
            title="Check",
            groups=groups,
            errors=len(report.errors),
            warnings=len(report.warnings),
            problems=self.backend.problems(),
            readability=report.readability,
        )

    # ------------------------------------------------------------ events, fonts

    async def events(self, request: Request) -> Response:
        known = {k.output for k in (await run_in_threadpool(self.backend.state)).jobs}
        watch = [d for d in request.query_params.getlist("doc")[:20] if d in known]
        return StreamingResponse(
            self.backend.events.stream(watch),
            media_type="text/event-stream",
            headers={"cache-control": "no-store", "x-accel-buffering": "no"},
        )

    async def font(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in FONT_FILES:
            return Response(status_code=404)
        data = await run_in_threadpool(self.backend.font, name)
        return Response(data, media_type="font/ttf", headers={"cache-control": "max-age=86400"})


_STATUSES = {"current": "Up to date", "changed": "Changed", "failed": "Failed", "draft": "Draft"}
_PLACEHOLDER = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="170" height="220" viewBox="0 0 170 220">'
    '<rect width="170" height="220" fill="#F3F4F6"/><text x="85" y="112" text-anchor="middle" '
    'font-family="sans-serif" font-size="13" fill="#4B5563">Not built yet</text></svg>'
)


def _slug(value: str) -> str:
    return value if SLUG.fullmatch(value) else ""


def _lang(value: str) -> str:
    return value if LANG.fullmatch(value) else ""


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def create_app(
    root: Path | str,
    *,
    token: str | None = None,
    port: int = 8000,
    bind: str = "127.0.0.1",
    extra_hosts: tuple[str, ...] = (),
    warm: bool = True,
    watch: bool = True,
    today: dt.date | None = None,
) -> App:
    """The web app for the project at ``root`` (raises HandoutsError when there is none)."""
    settings = Settings(token or new_token(), port, bind, extra_hosts, upload_paths=("/logo",))
    backend = Backend(root, warm=warm, broker=Broker(), today=today)
    return App(backend, settings, watch=watch)
