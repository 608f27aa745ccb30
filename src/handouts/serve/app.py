"""The web app: Starlette routes over the backend, pages from Jinja templates, live updates
by server-sent events, and the guard (security.py) in front of everything.

Pages work without JavaScript (plain links and forms); with it, htmx swaps parts of pages and
app.js listens to the event stream. Nothing here touches the library: backend.py does.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import io
import logging
import re
import time
import traceback
import zipfile
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
from .backend import MAX_ADDRESSES, Backend, NotFound, Refused
from .events import Broker
from .pages import DPI
from .security import Guard, Settings, new_token
from .views import (
    HEX,
    LANG,
    SLUG,
    ApproveForm,
    DocKey,
    SendForm,
    SendLine,
    field_id,
    key_label,
    layout_label,
    send_overview,
    send_result,
)

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
WEB_PAGE_CSP = (  # a built web page: its own inline styles, its logo, nothing else
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
CONSENT = (
    "I read the address back to the patient, and they asked for this leaflet by email after "
    "being told that ordinary email is not private."
)


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
            Route(doc + "/send", self.send, methods=["GET", "POST"]),
            Route(edit, self.edit, methods=["GET", "POST"]),
            Route(edit + "/yaml", self.edit_yaml, methods=["GET", "POST"]),
            Route(edit + "/approve", self.approve, methods=["POST"]),
            Route("/brands", self.brands),
            Route("/brand/{brand}", self.brand, methods=["GET", "POST"]),
            Route("/brand/{brand}/contrast", self.contrast, methods=["POST"]),
            Route("/brand/{brand}/logo", self.logo, methods=["GET", "POST"]),
            Route("/brand/{brand}/yaml", self.brand_yaml, methods=["GET", "POST"]),
            Route("/swatch/{fg}/{bg}.svg", self.swatch),
            Route("/web/{brand}/{name}", self.web_page),
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
        message = ""
        if request.query_params.get("approved"):
            message = (
                "Approved. The sign-off is recorded in the handout's file. This leaflet is "
                "being made again and the pages below update by themselves; the other clinics' "
                "copies are made by the next build (Build all)."
            )
        return await self._document(request, key, message=message)

    async def _document(
        self,
        request: Request,
        key: DocKey,
        *,
        approve: ApproveForm | None = None,
        message: str = "",
        status: int = 200,
    ) -> Response:
        try:
            row = await run_in_threadpool(self.backend.document, key)
            pages = await run_in_threadpool(self._pages_of, key, row)
        except NotFound:
            return self.not_found(request, "This document")
        form = approve or ApproveForm()
        return self.page(
            request,
            "document.html",
            status,
            section="library",
            title=row.title,
            row=row,
            pages=pages,
            approve=form,
            message=message,
            web_url=f"/web/{key.brand}/{key.handout}.{key.language}.html",
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

    # ------------------------------------------------------------ sign-off

    async def approve(self, request: Request) -> Response:
        """Record a clinician's sign-off of a handout's text (`handouts review approve`)."""
        handout, lang = request.path_params["handout"], request.path_params["lang"]
        if not (SLUG.fullmatch(handout) and _lang(lang)):
            return self.not_found(request, "This handout")
        data = await request.form()
        form = ApproveForm(
            " ".join(str(data.get("by", "")).split()),
            " ".join(str(data.get("note", "")).split()),
            str(data.get("fingerprint", ""))[:100],
        )
        brand, _, layout = str(data.get("back", "")).partition("/")
        key = DocKey.parse(brand, handout, lang, layout)
        if not form.by:
            form.errors["f-approve-by"] = [
                Problem(
                    "by",
                    "say who approved the text",
                    key="by",
                    hint="your name and role, for example: Dr A. Rivera, medical director",
                )
            ]
        elif len(form.by) > 200:
            form.errors["f-approve-by"] = [
                Problem("by", "this is too long for a name and role", key="by", hint="shorten it")
            ]
        elif len(form.note) > 2000:
            form.errors["f-approve-note"] = [
                Problem("note", "the note is too long", key="note", hint="keep it to a few lines")
            ]
        else:
            try:
                await run_in_threadpool(
                    self.backend.approve, handout, lang, form.by, form.note, form.fingerprint
                )
            except NotFound:
                return self.not_found(request, "This handout")
            except Refused as exc:
                return self._refused(request, str(exc))
            except HandoutsError as exc:
                for p in exc.problems:
                    fid = _approve_field(p)
                    if not fid:
                        form.general.append(p)
                    elif p.message not in [q.message for q in form.errors.get(fid, [])]:
                        form.errors.setdefault(fid, []).append(p)
            else:
                # This document first, then the others of this text that a page is showing:
                # the rest of the library (every clinic's copies) is made by the next build,
                # not queued ahead of everyone's previews.
                keys = await run_in_threadpool(self.backend.documents_of, handout, lang)
                watched = self.backend.events.watched()
                shown = [k for k in keys if k == key or k.output in watched]
                shown.sort(key=lambda k: k != key)
                self.backend.preview(shown, "approved")
                target = key.url if key is not None and key in keys else f"/edit/{handout}/{lang}"
                return RedirectResponse(f"{target}?approved=1#approve", 303)
        form.focus = "f-approve-by" if form.errors.get("f-approve-by") else "approve-errors"
        if key is None or key not in await run_in_threadpool(
            self.backend.documents_of, handout, lang
        ):
            found = [p for ps in form.errors.values() for p in ps] + form.general
            message = "; ".join(str(p) for p in found)
            return self.page(
                request,
                "error.html",
                422,
                title="Not approved",
                message=message,
                status=422,
                bare=False,
            )
        return await self._document(
            request, key, approve=form, message="Not approved: see below.", status=422
        )

    # ------------------------------------------------------------ sending to a patient

    async def send(self, request: Request) -> Response:
        """Email the document to a patient, as `handouts send` does: addresses checked (and
        likely typos asked about), the CLI's confirmation read back in full, then sent, or
        downloaded as a .eml file. The addresses travel in the page's own form from step to
        step; the app keeps none of them."""
        key = self._key(request)
        if key is None:
            return self.not_found(request, "This document")
        try:
            row = await run_in_threadpool(self.backend.document, key)
        except NotFound:
            return self.not_found(request, "This document")
        try:
            return await self._send_steps(request, row)
        except Exception as exc:  # never a traceback, and never an address in the log
            _log_send_error(request, exc)
            form = SendForm()
            form.general = [
                Problem(
                    "sending",
                    "something went wrong (a bug in handouts, not something you did); the "
                    "details are in the window where `handouts serve` runs",
                    hint="what was sent is recorded: sending again skips it",
                )
            ]
            return self._send_page(request, row, form, "write", 500)

    async def _send_steps(self, request: Request, row: Any) -> Response:
        """The send page's steps: write the addresses, answer about likely typos, confirm,
        then send or download."""
        key = row.key
        form = SendForm()
        if request.method == "GET":
            return self._send_page(request, row, form, "write")
        data = await request.form(max_fields=200)
        action = str(data.get("action", "check"))
        form.to = str(data.get("to", ""))[:20_000]
        form.consent = data.get("consent") == "yes"
        form.again = data.get("again") == "yes"
        for name, value in data.multi_items():
            number = name.removeprefix("typo-")
            if number != name and number.isdigit() and value in ("fix", "keep", "skip"):
                form.choices[int(number)] = str(value)
        if action == "edit":
            return self._send_page(request, row, form, "write")
        recipients, problems, notes = await run_in_threadpool(self.backend.check_addresses, form.to)
        form.notes = notes
        if problems:
            form.errors["f-send-to"] = problems
            form.focus = "f-send-to"
            return self._send_page(request, row, form, "write", 422)
        form.lines = [_send_line(r, form.choices) for r in recipients]
        asked = [line for line in form.lines if line.suggestion and not line.choice]
        if asked:
            if action in ("send", "eml"):
                for line in asked:
                    form.errors[f"f-typo-{line.line}"] = [
                        Problem(f"line {line.line}", "choose what to do with this address")
                    ]
            form.focus = f"f-typo-{asked[0].line}"
            return self._send_page(request, row, form, "typos", 422 if form.errors else 200)
        chosen = _chosen(recipients, form.choices)
        if not chosen:
            form.general.append(
                Problem("addresses", "every address was left out, so there is nothing to send")
            )
            return self._send_page(request, row, form, "write", 422)
        if action in ("send", "eml") and not form.consent:
            form.errors["f-send-consent"] = [
                Problem(
                    "consent",
                    "confirm that you read the address back and that the patient asked for "
                    "email, then send",
                )
            ]
            form.focus = "f-send-consent"
        elif action == "eml":
            try:
                blob, name, media, _ = await run_in_threadpool(self.backend.send_eml, key, chosen)
            except HandoutsError as exc:
                form.general = _problems(exc)
                return self._send_page(request, row, form, "write", 422)
            return Response(
                blob,
                media_type=media,
                headers={
                    "content-disposition": f'attachment; filename="{name}"',
                    "cache-control": "no-store",
                },
            )
        elif action == "send":
            try:
                plan = await run_in_threadpool(
                    self.backend.send_plan, key, chosen, again=form.again
                )
                summary = await run_in_threadpool(self.backend.send, plan)
            except HandoutsError as exc:
                form.general = _problems(exc)
                return self._send_page(request, row, form, "write", 422)
            return self._send_page(
                request, row, form, "done", 200 if summary.ok else 502, result=send_result(summary)
            )
        try:
            plan, why = await run_in_threadpool(self.backend.send_preview, key, chosen, form.again)
        except HandoutsError as exc:
            form.general = _problems(exc)
            return self._send_page(request, row, form, "write", 422)
        overview = send_overview(plan, why, self.backend.smtp_configured())
        return self._send_page(
            request, row, form, "confirm", 422 if form.errors else 200, overview=overview
        )

    def _send_page(
        self,
        request: Request,
        row: Any,
        form: SendForm,
        step: str,
        status: int = 200,
        **context: Any,
    ) -> Response:
        return self.page(
            request,
            "send.html",
            status,
            section="library",
            title=f"Send {row.title}",
            row=row,
            form=form,
            step=step,
            consent=CONSENT,
            max_addresses=MAX_ADDRESSES,
            draft_refused=any("is a DRAFT" in p.message for p in form.general),
            **context,
        )

    # ------------------------------------------------------------ the web page

    async def web_page(self, request: Request) -> Response:
        """The handout's web page for a brand and language (built when not up to date), and
        the logo it shows; ``?download=1`` gives both in a .zip for the clinic's web site."""
        brand, name = request.path_params["brand"], request.path_params["name"]
        if not SLUG.fullmatch(brand):
            return self.not_found(request, "This web page")
        page = re.fullmatch(r"([a-z0-9-]+)\.([a-zA-Z0-9-]+)\.html", name)
        if page is None or not (SLUG.fullmatch(page[1]) and LANG.fullmatch(page[2])):
            try:
                data, media = await run_in_threadpool(self.backend.web_file, brand, name)
            except (NotFound, Refused):
                return Response(status_code=404)
            return Response(data, media_type=media, headers={"cache-control": "no-cache"})
        try:
            data, filename, extra = await run_in_threadpool(
                self.backend.web_page, brand, page[1], page[2]
            )
        except (NotFound, Refused):
            return self.not_found(request, "This web page")
        except HandoutsError as exc:
            return self.page(
                request,
                "error.html",
                422,
                title="The web page could not be made",
                message=str(exc),
                status=422,
                bare=False,
            )
        if request.query_params.get("download"):
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(filename, data)
                for other, blob in extra.items():
                    archive.writestr(other, blob)
            return Response(
                buffer.getvalue(),
                media_type="application/zip",
                headers={
                    "content-disposition": f'attachment; filename="{filename[:-5]}.web.zip"',
                    "cache-control": "no-store",
                },
            )
        return Response(
            data,
            media_type="text/html; charset=utf-8",
            headers={"cache-control": "no-store", "content-security-policy": WEB_PAGE_CSP},
        )

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
            message = ""
            if request.query_params.get("saved"):
                message = "Saved. The preview is being updated."
            elif request.query_params.get("approved"):
                message = "Approved. The sign-off is recorded in the handout's file."
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
        row, pages = None, []
        if chosen is not None:
            row = await run_in_threadpool(self.backend.document, chosen)
        if request.headers.get("hx-request") and request.headers.get("hx-target") == "handout-form":
            form_html = self.fragment("_form.html", status, **context)
            # the review line above the form follows the saved text (an out-of-band swap)
            review = self.render("_review_line.html", row=row, oob=True)
            return HTMLResponse(
                bytes(form_html.body).decode("utf-8") + review,
                status,
                headers={"cache-control": "no-store"},
            )
        if row is not None and chosen is not None:
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


def _approve_field(problem: Problem) -> str:
    """The approve form's field a problem from the sign-off is about ("" for none): the name
    (``--by``, or what was written as ``reviewed_by``), or the note."""
    if str(problem.path) == "--by" or problem.key.endswith("reviewed_by"):
        return "f-approve-by"
    if problem.key.endswith(".note"):
        return "f-approve-note"
    return ""


def _send_line(recipient: Any, choices: dict[int, str]) -> SendLine:
    number = int(recipient.where.removeprefix("line "))
    line = SendLine(number, recipient.address, recipient.masked)
    if recipient.suggestion:
        line.suggestion = recipient.suggestion
        line.typed_domain = recipient.domain
        line.meant_domain = recipient.suggestion.rpartition("@")[2]
        line.choice = choices.get(number, "")
    return line


def _problems(exc: HandoutsError) -> list[Problem]:
    """An error's problems, to show in a form: never none, whatever raised it."""
    return list(exc.problems) or [Problem("sending", str(exc))]


def _chosen(recipients: list[Any], choices: dict[int, str]) -> list[Any]:
    """The recipients after staff answered about each likely typo, as the CLI asks: fix (the
    suggested address), keep (as typed) or skip (left out)."""
    kept = []
    for r in recipients:
        if not r.suggestion:
            kept.append(r)
            continue
        choice = choices.get(int(r.where.removeprefix("line ")))
        if choice == "fix":
            kept.append(r.corrected())
        elif choice == "keep":
            kept.append(dataclasses.replace(r, suggestion=None))
    return kept


def _log_send_error(request: Request, exc: BaseException) -> None:
    """A bug while sending, for the server's window: where it happened, never the message
    (an exception's text may quote an address)."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    logging.getLogger("handouts.serve").error(
        "internal error on %s %s: %s\n%s",
        request.method,
        request.url.path,
        type(exc).__name__,
        frames,
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
