"""The web app's one door into the library: everything it shows or does goes through here, and
through handouts.api wherever the API has it.

The files are the truth: what the app shows is computed from the project on disk and the
output folder's manifest, cached until a file changes (a save here, an editor, `git pull`, a
CLI build). Builds run one at a time in a builder thread, under the output folder's lock that
CLI builds share; previews render in a warm worker process that keeps WeasyPrint, the fonts
and the parsed style sheets loaded between documents.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import io
import os
import re
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import api, manifest
from ..assets import MAX_IMAGE_BYTES, image_problem
from ..checks import CheckReport, Finding, readability_summary
from ..checks import contrast as contrast_check
from ..checks.registry import CheckContext
from ..context import theme_colors
from ..errors import HandoutsError, Problem
from ..files import output_path, read_limited
from ..i18n import language_name
from ..project import LoadedBrand, LoadedHandout, Project
from . import storage
from .events import Broker
from .pages import PageImages
from .views import (
    HEX,
    BlockedRow,
    BuildStatus,
    ContrastView,
    DocKey,
    DocRow,
    Facets,
    FindingView,
    PairView,
    SaveOutcome,
    conflict,
    day,
    field_id,
    image_kind,
    key_label,
    plain_pair,
    plain_wait,
    preflight_views,
    reading_text,
    when,
)

MAX_PDF_BYTES = 64 * 1024 * 1024
MAX_ADDRESSES = 50  # at a time from the app; a longer list goes through the CLI's CSV
SETTLE_S = 600  # how long sending waits for the previews queued before it
RECYCLE_AFTER = 200  # renders before the warm worker is replaced (it grows slowly)


@dataclass
class State:
    """The project as loaded, checked and planned: recomputed after any change."""

    generation: int
    project: Project
    checks: CheckReport
    out: Path
    jobs: dict[DocKey, api.Job]
    blocked: list[api.Blocked]
    decided: dict[str, api.Result]
    records: dict[str, dict[str, Any]]
    notes: list[str]
    manifest_stamp: tuple[int, int] | None = None  # a CLI build changes it: load again
    reviews: dict[tuple[str, str], Any] = field(default_factory=dict)  # sign-off per handout
    loaded_at: float = field(default_factory=time.monotonic)


# ---------------------------------------------------------------- the warm worker


class WarmRenderer:
    """The warm worker (api.warm_executor) as an executor for api.build: recycled after
    RECYCLE_AFTER renders."""

    def __init__(self) -> None:
        self._pool: Any = None
        self._renders = 0
        self._lock = threading.Lock()

    def executor(self) -> Executor:
        with self._lock:
            if self._pool is not None and self._renders >= RECYCLE_AFTER:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
            if self._pool is None:
                self._pool = api.warm_executor(1)
                self._renders = 0
            self._renders += 1
            return self._pool

    def warm_up(self, project: Project, job: api.Job, checks: CheckReport) -> None:
        """Render ``job`` once into a scratch folder and drop it: WeasyPrint, the fonts and
        the style sheets are then loaded in the worker before the first preview is asked
        for. A failed warm-up only slows the first preview down."""
        filters = api.Filters(
            [job.brand.id], [job.handout.id], [job.layout], [job.handout.language]
        )
        with contextlib.suppress(Exception), tempfile.TemporaryDirectory() as scratch:
            request = api.BuildRequest(
                filters, ("pdf",), out=scratch, workers=1, executor=self.executor(), wait=False
            )
            api.build(project, request, checks=checks)

    def reset(self) -> None:
        """Forget a broken worker; the next preview starts a new one."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None


# ---------------------------------------------------------------- the backend


class NotFound(Exception):
    """A document, handout or brand that the project does not have."""


class Refused(Exception):
    """A request the app will not carry out (a file outside the project, a link)."""


class Backend:
    def __init__(
        self,
        root: Path | str,
        *,
        warm: bool = True,
        broker: Broker | None = None,
        today: dt.date | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.events = broker or Broker()
        self.today = today
        self._state: State | None = None
        self._generation = 0
        self._state_lock = threading.Lock()
        self._builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="handouts-build")
        self._pending: set[DocKey] = set()
        self._rendering: set[DocKey] = set()
        self._pending_lock = threading.Lock()
        self._cancel = threading.Event()
        self.build_status = BuildStatus()
        self._failures: dict[str, tuple[str, str]] = {}  # output → (job key, error)
        self._written: dict[str, str] = {}  # file → SHA-256 of what the app last wrote
        self._renderer = WarmRenderer() if warm else None
        self._pages = PageImages()
        api.open_project(self.root)  # raises HandoutsError when there is no project here

    # ------------------------------------------------------------ state

    def state(self) -> State:
        """The project as loaded, checked and planned; loaded again after a file changed (a
        save, the watcher) or when another process (a CLI build) rewrote the manifest."""
        with self._state_lock:
            s = self._state
            if s is None or s.generation != self._generation or s.manifest_stamp != _stamp(s.out):
                self._state = self._load(self._generation)
            return self._state

    def invalidate(self) -> None:
        with self._state_lock:
            self._generation += 1

    def _load(self, generation: int) -> State:
        project = api.open_project(self.root)
        checks = api.check(project, today=self.today)
        out = api.output_dir(project)
        request = api.BuildRequest(formats=("pdf",))
        preview = api.dry_run(project, request, checks)
        plan = preview.plan
        jobs = {
            DocKey(j.brand.id, j.handout.id, j.handout.language, j.layout): j
            for j in plan.jobs
            if j.fmt == "pdf"
        }
        stamp = _stamp(out)
        records = manifest.load(out, repair=False).records
        decided = {r.output: r for r in preview.results}
        reviews = {(r.handout, r.language): r for r in api.review_status(project, self.today)}
        return State(
            generation,
            project,
            checks,
            out,
            jobs,
            list(plan.blocked),
            decided,
            records,
            preview.notes,
            stamp,
            reviews,
        )

    def start(self) -> None:
        """Warm the preview worker in the background (the first preview is then fast)."""
        if self._renderer is None:
            return
        s = self.state()
        renderable = [
            job
            for _, job in sorted(s.jobs.items())
            if getattr(s.decided.get(str(job.output)), "status", "") != "failed"
        ]
        if renderable:
            self._builder.submit(self._renderer.warm_up, s.project, renderable[0], s.checks)

    def close(self) -> None:
        self._cancel.set()
        self._builder.shutdown(wait=True, cancel_futures=True)
        if self._renderer is not None:
            self._renderer.close()

    # ------------------------------------------------------------ reading

    def project_name(self) -> str:
        return self.root.name

    def problems(self) -> list[Problem]:
        """Problems that keep files from loading (each file is then left out)."""
        return list(self.state().project.problems)

    def facets(self) -> Facets:
        s = self.state()
        brands = sorted((b.id, b.brand.name) for b in s.project.brands)
        langs = sorted({k.language for k in s.jobs})
        layouts = sorted({k.layout for k in s.jobs})
        return Facets(brands, [(c, language_name(c, "en")) for c in langs], layouts)

    def rows(
        self,
        *,
        brand: str = "",
        language: str = "",
        layout: str = "",
        status: str = "",
        query: str = "",
    ) -> list[DocRow]:
        s = self.state()
        words = query.casefold().split()
        rows = []
        for key, job in sorted(s.jobs.items()):
            if (brand and key.brand != brand) or (language and key.language != language):
                continue
            if layout and key.layout != layout:
                continue
            title = job.handout.handout.title
            haystack = f"{title} {key.handout}".casefold()
            if words and not all(w in haystack for w in words):
                continue
            row = self._row(s, key, job)
            if status and row.status != status:
                continue
            rows.append(row)
        return rows

    def blocked(self) -> list[BlockedRow]:
        s = self.state()
        rows = []
        for b in s.blocked:
            rows.append(BlockedRow(b.label, b.error, self._edit_url_for_error(s, b)))
        return rows

    def document(self, key: DocKey) -> DocRow:
        s = self.state()
        job = s.jobs.get(key)
        if job is None:
            raise NotFound(key.output)
        return self._row(s, key, job)

    def _row(self, s: State, key: DocKey, job: api.Job) -> DocRow:
        h = job.handout
        output = str(job.output)
        record = s.records.get(output) or {}
        decided = s.decided.get(output)
        status, reason, error = "changed", "not built yet", ""
        if decided is not None:
            if decided.status == "skipped":
                status, reason = "current", "up to date"
            elif decided.status == "failed":
                status, reason, error = "failed", decided.reason, decided.error
            else:
                reason = "not built yet" if decided.reason == "new" else decided.reason
        failure = self._failures.get(output)
        if failure and failure[0] == job.key and status != "current":
            status, reason, error = "failed", "the last build failed", failure[1]
        if status == "current" and record.get("draft") is True:  # sign-off (content governance)
            status, reason = "draft", "not approved for patients"
        summary = readability_summary(s.checks, h.id, h.language)
        reading, reading_ok = reading_text(summary)
        review, review_state = self._review(h, s.reviews.get((h.id, h.language)))
        findings = [_finding_view(f, s.project) for f in s.checks.findings if f.concerns(job)]
        findings += preflight_views(record)
        findings += [
            FindingView("warning", "render", str(w), where=output)
            for w in record.get("warnings", [])
            if isinstance(w, str)
        ]
        thumb = (s.out / manifest.thumbnail_name(output)).is_file()
        return DocRow(
            key,
            output,
            h.handout.title,
            job.brand.brand.name,
            language_name(h.language, "en"),
            status,
            reason,
            reading,
            reading_ok,
            review,
            review_state,
            findings,
            thumb and bool(record),
            str(record.get("sha256", "")),
            int(record.get("pages", 0) or 0),
            str(record.get("built_at", "")),
            error,
            when(record.get("built_at")),
            review_fingerprint=_printed_fingerprint(record),
            building=self.building(key),
        )

    def _review(self, h: LoadedHandout, status: Any) -> tuple[str, str]:
        """The sign-off in words (from the review status `handouts review status` shows),
        and its state: approved, changed (since approval), overdue, never (approved)."""
        if status is not None:
            text = status.describe()
            text = text[:1].upper() + text[1:]
            if status.state == "changed":
                return text, "changed"
            if status.overdue:
                return text, "overdue"
            return text, "reviewed" if status.state == "approved" else "none"
        review = h.handout.review
        if review is None:
            return "No medical review recorded", "none"
        today = self.today or dt.date.today()
        text = f"Reviewed {day(review.reviewed_on)}, version {review.version}"
        if review.next_review and review.next_review < today:
            return f"{text}; next review was due {day(review.next_review)}", "overdue"
        return text, "reviewed"

    def _edit_url_for_error(self, s: State, blocked: api.Blocked) -> str:
        for b in s.project.broken:
            if b.display in blocked.error and b.kind == "handout" and b.language:
                return f"/edit/{b.name}/{b.language}/yaml"
            if b.display in blocked.error and b.kind == "brand":
                return f"/brand/{b.name}/yaml"
        return ""

    # ------------------------------------------------------------ files for the browser

    def pdf(self, key: DocKey) -> tuple[bytes, str]:
        """The built PDF of ``key`` and its file name; NotFound when it has none."""
        s = self.state()
        job = s.jobs.get(key)
        if job is None:
            raise NotFound(key.output)
        path = output_path(s.out, str(job.output))
        if path is None:
            raise Refused(str(job.output))
        try:
            return read_limited(path, MAX_PDF_BYTES), path.name
        except OSError:
            raise NotFound(key.output) from None

    def thumbnail(self, key: DocKey) -> bytes:
        s = self.state()
        job = s.jobs.get(key)
        if job is None:
            raise NotFound(key.output)
        path = output_path(s.out, manifest.thumbnail_name(str(job.output)))
        if path is None:
            raise NotFound(key.output)
        try:
            return read_limited(path, 8 * 1024 * 1024)
        except OSError:
            raise NotFound(key.output) from None

    def page_sizes(self, key: DocKey) -> tuple[list[tuple[float, float]], str]:
        """The built PDF's page sizes in points and its SHA-256 ([] when not built)."""
        try:
            pdf, _ = self.pdf(key)
        except (NotFound, Refused):
            return [], ""
        return self._pages.sizes(pdf), hashlib.sha256(pdf).hexdigest()

    def page_png(self, key: DocKey, page: int) -> tuple[bytes, str]:
        """Page ``page`` (1-based) of the built PDF as PNG, and the PDF's SHA-256."""
        pdf, _ = self.pdf(key)
        drawn = self._pages.png(pdf, page)
        if drawn is None:
            raise NotFound(f"page {page}")
        return drawn

    # ------------------------------------------------------------ handouts

    def handout(self, handout_id: str, language: str) -> LoadedHandout:
        s = self.state()
        for h in s.project.handouts:
            if h.id == handout_id and h.language == language:
                return h
        raise NotFound(f"{handout_id} ({language})")

    def handout_file(self, handout_id: str, language: str) -> tuple[Path, str]:
        """The file of a handout, loaded or broken, confined to content/handouts/."""
        s = self.state()
        for h in s.project.handouts:
            if h.id == handout_id and h.language == language:
                return self._confine(h.path, "handouts"), h.display
        for b in s.project.broken:
            if b.kind == "handout" and b.name == handout_id and b.language == language:
                return self._confine(self.root / b.display, "handouts"), b.display
        raise NotFound(f"{handout_id} ({language})")

    def handout_problems(self, handout_id: str, language: str) -> list[Problem]:
        """The loading problems of a handout file (it is then left out of the project)."""
        _, display = self.handout_file(handout_id, language)
        return [p for p in self.state().project.problems if str(p.path) == display]

    def documents_of(self, handout_id: str, language: str) -> list[DocKey]:
        return [
            k
            for k in sorted(self.state().jobs)
            if (k.handout, k.language) == (handout_id, language)
        ]

    def references(self, handout_id: str, language: str) -> list[tuple[str, str]]:
        h = self.handout(handout_id, language)
        return [(r.id, r.title) for r in h.handout.references]

    def read_file(self, path: Path) -> storage.Snapshot:
        return storage.read(path)

    def current_handout(self, handout_id: str, language: str) -> tuple[Any, storage.Snapshot]:
        """The handout as its file says right now (not as cached), and the file's snapshot,
        so that a form and the file it will be saved over always agree."""
        path, display = self.handout_file(handout_id, language)
        for _ in range(3):
            before = storage.read(path)
            project = api.open_project(self.root)
            if storage.read(path).sha256 != before.sha256:
                continue  # written while it was loaded: read it again
            for h in project.handouts:
                if h.display == display:
                    return h.handout, before
            mine = [p for p in project.problems if str(p.path) == display]
            raise HandoutsError(mine or [Problem(display, "this file does not load")])
        raise HandoutsError(conflict(display).problems)

    def save_handout(
        self, handout_id: str, language: str, edit: storage.HandoutEdit, base_sha: str
    ) -> SaveOutcome:
        path, display = self.handout_file(handout_id, language)
        current = storage.read(path)
        if current.sha256 != base_sha:
            return conflict(display)
        try:
            text = storage.edit_handout(current.text, edit)
        except storage.EditError as exc:
            return SaveOutcome(False, [Problem(display, f"cannot edit this file: {exc}")])
        return self._save(path, display, text, base_sha, self._handout_validator(path, display))

    def save_handout_text(
        self, handout_id: str, language: str, text: str, base_sha: str
    ) -> SaveOutcome:
        path, display = self.handout_file(handout_id, language)
        return self._save(path, display, text, base_sha, self._handout_validator(path, display))

    def _handout_validator(self, path: Path, display: str) -> Callable[[str], list[Problem]]:
        expected = path.stem.partition(".")[0]

        def validate(text: str) -> list[Problem]:
            problems = api.validate_file(self.state().project, path, text)
            if problems:
                return problems
            named, line = _top_level_id(text)
            if named is not None and named != expected:
                return [
                    Problem(
                        display,
                        f"the id '{named}' differs from the file name '{path.name}'",
                        line,
                        key="id",
                        hint="keep the id; to rename a handout, rename its file too",
                    )
                ]
            return []

        return validate

    def _save(
        self,
        path: Path,
        display: str,
        text: str,
        base_sha: str,
        validate: Callable[[str], list[Problem]],
    ) -> SaveOutcome:
        try:
            problems = storage.replace(path, text, expected_sha=base_sha, validate=validate)
        except storage.Conflict:
            return conflict(display)
        except OSError as exc:
            return SaveOutcome(
                False,
                [
                    Problem(
                        display,
                        f"cannot write the file ({exc.strerror or exc})",
                        hint="check the folder's permissions and free space",
                    )
                ],
            )
        if problems:
            return SaveOutcome(False, problems)
        self.invalidate()
        written = storage.read(path).sha256
        self._written[str(path)] = written
        return SaveOutcome(True, [], written)

    def changed_elsewhere(self, paths: Iterable[str]) -> list[str]:
        """The paths among ``paths`` (changed on disk) that the app did not write itself:
        its own saves are already loaded and previewed, so the watcher ignores them."""
        others = []
        for name in paths:
            own = self._written.get(name)
            try:
                same = own is not None and storage.read(Path(name)).sha256 == own
            except OSError:
                same = False
            if not same:
                others.append(name)
        return others

    # ------------------------------------------------------------ brands

    def brand(self, brand_id: str) -> LoadedBrand:
        for b in self.state().project.brands:
            if b.id == brand_id:
                return b
        raise NotFound(brand_id)

    def brand_file(self, brand_id: str) -> tuple[Path, str]:
        s = self.state()
        for b in s.project.brands:
            if b.id == brand_id:
                return self._confine(b.path, "brands"), b.display
        for broken in s.project.broken:
            if broken.kind == "brand" and broken.name == brand_id:
                return self._confine(self.root / broken.display, "brands"), broken.display
        raise NotFound(brand_id)

    def brand_problems(self, brand_id: str) -> list[Problem]:
        _, display = self.brand_file(brand_id)
        return [p for p in self.state().project.problems if str(p.path) == display]

    def brand_findings(self, brand_id: str) -> list[FindingView]:
        s = self.state()
        return [
            _finding_view(f, s.project)
            for f in s.checks.findings
            if brand_id in f.brands and not f.handout
        ]

    def save_brand(self, brand_id: str, edit: storage.BrandEdit, base_sha: str) -> SaveOutcome:
        path, display = self.brand_file(brand_id)
        current = storage.read(path)
        if current.sha256 != base_sha:
            return conflict(display)
        try:
            text = storage.edit_brand(current.text, edit)
        except storage.EditError as exc:
            return SaveOutcome(False, [Problem(display, f"cannot edit this file: {exc}")])
        return self._save(path, display, text, base_sha, self._brand_validator(path, display))

    def save_brand_text(self, brand_id: str, text: str, base_sha: str) -> SaveOutcome:
        path, display = self.brand_file(brand_id)
        return self._save(path, display, text, base_sha, self._brand_validator(path, display))

    def _brand_validator(self, path: Path, display: str) -> Callable[[str], list[Problem]]:
        def validate(text: str) -> list[Problem]:
            return api.validate_file(self.state().project, path, text)

        return validate

    def contrast(self, brand_id: str, primary: str, accent: str) -> ContrastView:
        """The contrast check of ``brand_id`` with other colours, as `handouts check` would
        report it, and every colour pair its layouts print."""
        b = self.brand(brand_id)
        s = self.state()
        return contrast_view(s.project, b, primary, accent)

    def upload_logo(self, brand_id: str, data: bytes) -> SaveOutcome:
        """Check an uploaded logo with the rules the CLI applies, then store it in the
        brand's folder as logo.svg/png/jpg and point brand.yaml at it."""
        path, display = self.brand_file(brand_id)
        kind = image_kind(data)
        if kind is None:
            return SaveOutcome(
                False,
                [
                    Problem(
                        display,
                        "the logo must be an SVG, PNG or JPEG file",
                        key="logo",
                        hint="export the logo again as a plain SVG or PNG",
                    )
                ],
            )
        name = f"logo.{kind}"
        if len(data) > MAX_IMAGE_BYTES:
            return SaveOutcome(
                False,
                [
                    Problem(
                        display,
                        f"the logo '{name}' is too large ({len(data):,} bytes; the limit is 2 MB)",
                        key="logo",
                        hint="save it smaller: about 1500 pixels across is plenty",
                    )
                ],
            )
        with tempfile.TemporaryDirectory() as folder:
            probe = Path(folder) / name
            probe.write_bytes(data)
            if problem := image_problem(probe):
                hint = (
                    "save it smaller: about 1500 pixels across is plenty"
                    if "too large" in problem or "pixels" in problem
                    else "export the logo again as a plain SVG or PNG"
                )
                return SaveOutcome(
                    False, [Problem(display, f"the logo '{name}' {problem}", key="logo", hint=hint)]
                )
        target = path.parent / name
        if target.is_symlink() or (target.exists() and not target.is_file()):
            return SaveOutcome(
                False,
                [
                    Problem(
                        display,
                        f"'{name}' in the brand's folder is not a plain file",
                        key="logo",
                        hint="remove it, then upload again",
                    )
                ],
            )
        current = storage.read(path)
        b = self.brand(brand_id)
        edit = _brand_edit_of(b, logo=name)
        text = storage.edit_brand(current.text, edit)
        storage.write_new(target, data)
        outcome = self._save(
            path, display, text, current.sha256, self._brand_validator(path, display)
        )
        self.invalidate()
        return outcome

    def logo(self, brand_id: str) -> tuple[bytes, str]:
        """The brand's logo file (already confined to its folder by the loader)."""
        loaded = self.brand(brand_id)
        if loaded.logo is None:
            raise NotFound(brand_id)
        kind = {".svg": "image/svg+xml", ".png": "image/png"}.get(
            loaded.logo.suffix.lower(), "image/jpeg"
        )
        try:
            return read_limited(loaded.logo, MAX_IMAGE_BYTES + 1), kind
        except OSError:
            raise NotFound(brand_id) from None

    # ------------------------------------------------------------ sign-off (docs/reviewing.md)

    def approve(self, handout_id: str, language: str, by: str, note: str, seen: str) -> Any:
        """Record a clinician's sign-off of a handout's text, as `handouts review approve`
        does (api.approve: only the file's review block changes, the previous version is kept
        as .bak), provided the text is still the one printed in the pages the reviewer read
        (``seen``: the fingerprint the build recorded for them): a text changed since they
        were made is never approved unread."""
        path, display = self.handout_file(handout_id, language)
        if not seen:
            raise HandoutsError(
                Problem(
                    display,
                    "this leaflet has not been made yet, so its text cannot have been read",
                    hint="press Build now, read the pages, then approve",
                )
            )
        project = api.open_project(self.root)
        found = [
            st
            for st in api.review_status(project, self.today)
            if (st.handout, st.language) == (handout_id, language)
        ]
        if found and found[0].fingerprint.digest != seen:
            raise HandoutsError(
                Problem(
                    display,
                    "the text was changed since the pages shown were made, so it was not approved",
                    hint="wait for the leaflet to be made again (or press Build now), read it "
                    "as it is now, then approve it",
                )
            )
        try:
            approval = api.approve(
                project, handout_id, language, by=by, note=note or None, today=self.today
            )
        finally:
            self.invalidate()
        self._written[str(path)] = storage.read(path).sha256  # the watcher: our own change
        return approval

    # ------------------------------------------------------------ sending to patients

    def smtp_configured(self) -> bool:
        """Whether handouts.yaml says which mail server to send through."""
        return self.state().project.settings.smtp is not None

    def check_addresses(self, text: str) -> tuple[list[Any], list[Problem], list[str]]:
        """The addresses typed one per line, each checked as `handouts send --to` checks it
        (send.recipients.validate: syntax, no line break or control character, no DNS look-up),
        with a likely typo of a mail domain noted on it; the same address twice is kept once.
        Returns (recipients, problems, notes); a problem's place is "line N"."""
        from ..send.recipients import validate

        rows = text.replace("\r\n", "\n").split("\n")  # a lone CR stays: it is refused
        found: list[Any] = []
        problems: list[Problem] = []
        notes: list[str] = []
        seen: dict[str, str] = {}
        filled = [(n, raw) for n, raw in enumerate(rows, 1) if raw.strip()]
        if len(filled) > MAX_ADDRESSES:
            problems.append(
                Problem(
                    "addresses",
                    f"{len(filled)} addresses; the app sends to at most {MAX_ADDRESSES} at a time",
                    hint="for a longer list use `handouts send --to-file patients.csv` "
                    "(docs/sending-to-patients.md)",
                )
            )
            return [], problems, notes
        for n, raw in filled:
            try:
                recipient = validate(raw, f"line {n}")
            except HandoutsError as exc:
                problems.extend(exc.problems)
                continue
            first = seen.setdefault(recipient.key, recipient.where)
            if first != recipient.where:
                notes.append(f"line {n}: the same address as {first}; it is sent once")
                continue
            found.append(recipient)
        if not found and not problems:
            problems.append(
                Problem("addresses", "no address was given", hint="type the patient's address")
            )
        return found, problems, notes

    def send_plan(
        self,
        key: DocKey,
        recipients: list[Any],
        *,
        eml_dir: Path | None = None,
        again: bool = False,
    ) -> Any:
        """Everything `handouts send` checks before sending (send.prepare): the brand, the
        layout, the mail settings and password (unless writing .eml files), the PDF built
        and verified (a DRAFT is refused), and what was sent in the last 24 hours."""
        from ..send import SendRequest, prepare

        if self.build_status.running:  # it holds the output folder until it ends
            raise HandoutsError(
                Problem(
                    "sending",
                    "every leaflet is being built right now (Build all), so nothing can be "
                    "sent until that build ends",
                    hint="wait for it to finish (the Build all page shows how far it is), "
                    "then press the button again",
                )
            )
        if self.document(key).status not in ("current", "draft"):
            # Rendered in the warm worker first; the library then finds it up to date.
            self.preview([key], "sending")
            with contextlib.suppress(TimeoutError):  # else the library builds it itself
                self._builder.submit(lambda: None).result(SETTLE_S)
        request = SendRequest(key.handout, key.brand, key.layout, key.language, eml_dir, again)
        return prepare(self.root, request, recipients)

    def send_preview(
        self, key: DocKey, recipients: list[Any], again: bool = False
    ) -> tuple[Any, str]:
        """The plan the confirmation shows, and why sending by email is not possible here
        ("" when it is): mail settings missing or incomplete leave the .eml download."""
        try:
            return self.send_plan(key, recipients, again=again), ""
        except HandoutsError as exc:
            if not exc.problems or not all(_about_smtp(p) for p in exc.problems):
                raise
            why = "; ".join(str(p) for p in exc.problems)
        return self.send_plan(key, recipients, eml_dir=Path("eml"), again=again), why

    def send(self, plan: Any) -> Any:
        """Send the plan's messages, as `handouts send` does (send.deliver): one audit line
        each in output/sent.jsonl, with the address only as an HMAC."""
        from ..send import deliver

        try:
            return deliver(plan)
        finally:
            self.invalidate()

    def send_eml(self, key: DocKey, recipients: list[Any]) -> tuple[bytes, str, str, Any]:
        """The messages as `handouts send --eml` writes them (send.write_eml, with its audit
        lines), returned as one .eml file or a .zip of several; written in a private
        temporary folder that is removed at once, so no address stays on disk here.
        Returns (data, file name, media type, summary)."""
        from ..send import write_eml

        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / "messages"
            plan = self.send_plan(key, recipients, eml_dir=target)
            summary = write_eml(plan)
            files = sorted(target.glob("*.eml"))
            if len(files) == 1:
                return files[0].read_bytes(), files[0].name, "message/rfc822", summary
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in files:
                    archive.write(path, path.name)
            name = f"{key.handout}.{key.language}.messages.zip"
            return buffer.getvalue(), name, "application/zip", summary

    # ------------------------------------------------------------ the web page (formats/web.py)

    def web_page(
        self, brand: str, handout: str, language: str
    ) -> tuple[bytes, str, dict[str, bytes]]:
        """The handout's web page for this brand and language (`handouts build --format
        web`), built first when it is not up to date, through api.build under the output
        folder's lock, as every build. Returns its bytes, its file name, and the files it
        shows from beside it (the brand's logo)."""
        s = self.state()
        if not any((k.brand, k.handout, k.language) == (brand, handout, language) for k in s.jobs):
            raise NotFound(f"{brand}/{handout}.{language}.html")
        filters = api.Filters([brand], [handout], [], [language])
        request = api.BuildRequest(filters, ("web",), workers=1)
        report = api.build(s.project, request, checks=s.checks)
        result = next(iter(report.results), None)
        if result is None:
            raise NotFound(f"{brand}/{handout}.{language}.html")
        if result.status == "failed":
            raise HandoutsError(result.error or result.reason)
        path = output_path(s.out, result.output)
        if path is None:
            raise Refused(result.output)
        try:
            data = read_limited(path, MAX_PDF_BYTES)
        except OSError:
            raise NotFound(result.output) from None
        extra = {}
        logo = self.brand(brand).logo
        if logo is not None:
            name = f"{brand}-logo{logo.suffix.lower()}"
            with contextlib.suppress(NotFound):
                extra[name] = self.web_file(brand, name)[0]
        return data, path.name, extra

    def web_file(self, brand: str, name: str) -> tuple[bytes, str]:
        """A file the web page loads from beside it (the brand's logo), from the output
        folder only."""
        kinds = {"svg": "image/svg+xml", "png": "image/png", "jpg": "image/jpeg"}
        match = re.fullmatch(rf"{re.escape(brand)}-logo\.(svg|png|jpe?g)", name)
        path = output_path(self.state().out, f"{brand}/{name}") if match else None
        if match is None or path is None:
            raise NotFound(name)
        try:
            data = read_limited(path, MAX_IMAGE_BYTES + 1)
        except OSError:
            raise NotFound(name) from None
        return data, kinds.get(match.group(1).replace("jpeg", "jpg"), "image/jpeg")

    # ------------------------------------------------------------ for the pages

    def template_env(self, folder: Path) -> Any:
        """The sandboxed, always-escaping Jinja environment the PDFs are made with, over the
        app's own templates: content is escaped in the app exactly as in the PDFs."""
        from ..render import template_env

        return template_env((folder,), "en")

    def language_name(self, code: str) -> str:
        return language_name(code, "en")

    def font(self, name: str) -> bytes:
        """A built-in font file, by one of the names the app's style sheet uses."""
        from ..assets import builtin_dir

        return read_limited(builtin_dir("fonts") / Path(name).name, 4 * 1024 * 1024)

    # ------------------------------------------------------------ confinement

    def _confine(self, path: Path, kind: str) -> Path:
        """``path`` when it lies inside content/<kind>/ (symlinks followed) and is a plain
        file; Refused otherwise, so no request ever reaches a file outside the project."""
        folder = os.path.realpath(self.root / "content" / kind)
        real = os.path.realpath(path)
        if not real.startswith(folder + os.sep) or os.path.islink(path):
            raise Refused(
                f"{path.name} is a link to a file outside the project; edit that file itself"
            )
        return Path(path)

    # ------------------------------------------------------------ checks

    def check_findings(self) -> tuple[list[FindingView], CheckReport]:
        s = self.state()
        return [_finding_view(f, s.project) for f in s.checks.findings], s.checks

    # ------------------------------------------------------------ building

    def preview(self, keys: Iterable[DocKey], why: str = "saved") -> Future[Any] | None:
        """Rebuild these documents soon, in the builder thread (requests for a document
        already waiting are merged); returns the last build's future, None if all merged."""
        new = []
        with self._pending_lock:
            for key in keys:
                if key not in self._pending:
                    self._pending.add(key)
                    new.append(key)
        last = None
        for key in new:
            self.events.publish("building", {"doc": key.output, "why": why})
            last = self._builder.submit(self._build_one, key)
        return last

    def preview_watched(self, why: str = "changed") -> None:
        """Rebuild the documents some page is showing (after a file changed on disk)."""
        watched = self.events.watched()
        keys = [k for k in self.state().jobs if k.output in watched]
        if keys:
            self.preview(keys, why)

    def building(self, key: DocKey) -> bool:
        """Whether a preview of ``key`` is waiting or being rendered."""
        with self._pending_lock:
            return key in self._pending or key in self._rendering

    def _build_one(self, key: DocKey) -> api.Result | None:
        with self._pending_lock:
            self._pending.discard(key)
            self._rendering.add(key)
        event: dict[str, Any] | None = None
        try:
            result, event = self._render_one(key)
        finally:
            with self._pending_lock:
                self._rendering.discard(key)
            if event is not None:  # said after it is no longer "building"
                self.events.publish("document", event)
        return result

    def _render_one(self, key: DocKey) -> tuple[api.Result | None, dict[str, Any] | None]:
        """Build one document; its result, and the event that tells the pages about it."""
        s = self.state()
        job = s.jobs.get(key)
        if job is None:
            return None, {"doc": key.output, "status": "gone"}
        filters = api.Filters([key.brand], [key.handout], [key.layout], [key.language])
        request = api.BuildRequest(
            filters,
            ("pdf",),
            workers=1,
            executor=self._renderer.executor() if self._renderer else None,
            on_wait=lambda text: self.events.publish(
                "waiting", {"doc": key.output, "message": plain_wait(text)}
            ),
        )
        try:
            try:
                report = api.build(s.project, request, checks=s.checks)
            except BrokenProcessPool:  # the warm worker died (killed, out of memory): anew
                assert self._renderer is not None
                self._renderer.reset()
                request.executor = self._renderer.executor()
                report = api.build(s.project, request, checks=s.checks)
        except Exception as exc:  # never leave the page waiting for a preview
            self.invalidate()
            error = (
                str(exc)
                if isinstance(exc, HandoutsError)
                else (f"internal error ({type(exc).__name__}: {exc}); this is a bug in handouts")
            )
            self._failures[key.output] = (job.key, error)
            return None, {"doc": key.output, "status": "failed", "error": error}
        self._built(s, report)
        result = next((r for r in report.results if r.output == key.output), None)
        self._remember(job, result)
        if result is None:
            return None, None
        return result, {
            "doc": key.output,
            "status": result.status,
            "error": result.error,
            "sha": self._sha_on_disk(key) or "",
            "seconds": round(result.seconds, 3),
        }

    def _built(self, s: State, report: api.Report) -> None:
        """After a build: the inputs are as they were, only outputs changed. Bring the cached
        state up to date without loading the project again (unless a file changed
        meanwhile, when it is loaded afresh anyway)."""
        with self._state_lock:
            if self._state is not s or s.generation != self._generation:
                return
            decided = dict(s.decided)
            for result in report.results:
                if result.status in ("built", "skipped"):
                    decided[result.output] = api.Result(
                        result.label, result.output, "skipped", reason="up to date"
                    )
            stamp = _stamp(s.out)
            records = manifest.load(s.out, repair=False).records
            self._state = dataclasses.replace(
                s, decided=decided, records=records, manifest_stamp=stamp
            )

    def _remember(self, job: api.Job, result: api.Result | None) -> None:
        if result is None:
            return
        if result.status == "failed":
            self._failures[result.output] = (job.key, result.error)
        else:
            self._failures.pop(result.output, None)

    def _sha_on_disk(self, key: DocKey) -> str | None:
        try:
            pdf, _ = self.pdf(key)
        except (NotFound, Refused):
            return None
        return hashlib.sha256(pdf).hexdigest()

    def build_all(self) -> bool:
        """Start building every document (up-to-date ones are skipped); False when a
        build of everything is already running."""
        if self.build_status.running:
            return False
        self._cancel.clear()
        self.build_status = BuildStatus(running=True, kind="all")
        self.events.publish("build", self._build_event())
        self._builder.submit(self._build_all)
        return True

    def cancel_build(self) -> None:
        if self.build_status.running:
            self._cancel.set()

    def _build_all(self) -> None:
        status = self.build_status
        backend = self

        class Progress:
            def start(self, total: int, todo: int) -> None:
                status.total, status.waiting = total, ""
                backend.events.publish("build", backend._build_event())

            def result(self, result: api.Result) -> None:
                status.done += 1
                if result.status == "built":
                    status.built += 1
                elif result.status == "skipped":
                    status.skipped += 1
                else:
                    status.failed.append((result.label, result.error or result.reason))
                backend.events.publish("build", backend._build_event(result.output))

        def waiting(text: str) -> None:
            status.waiting = plain_wait(text)
            self.events.publish("build", self._build_event())

        start = time.perf_counter()
        try:
            s = self.state()
            request = api.BuildRequest(on_wait=waiting)
            report = api.build(
                s.project, request, checks=s.checks, progress=Progress(), cancel=self._cancel
            )
            for result in report.results:
                job = next((j for j in s.jobs.values() if str(j.output) == result.output), None)
                if job is not None:
                    self._remember(job, result)
            status.cancelled = report.interrupted
        except HandoutsError as exc:
            status.error = str(exc)
        except Exception as exc:  # shown on the page, never a traceback
            status.error = f"internal error ({type(exc).__name__}: {exc}); please report it"
        finally:
            status.running = False
            status.seconds = time.perf_counter() - start
            status.finished_at = dt.datetime.now().strftime("%H:%M")
            self.invalidate()
            self.events.publish("build", self._build_event())

    def _build_event(self, output: str = "") -> dict[str, Any]:
        st = self.build_status
        return {
            "running": st.running,
            "total": st.total,
            "done": st.done,
            "built": st.built,
            "skipped": st.skipped,
            "failed": len(st.failed),
            "waiting": st.waiting,
            "doc": output,
            "cancelled": st.cancelled,
            "error": st.error,
        }


# ---------------------------------------------------------------- helpers


def _stamp(out: Path) -> tuple[int, int] | None:
    """When and how large the manifest was last written (None: there is none)."""
    try:
        info = os.stat(out / manifest.NAME)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def _printed_fingerprint(record: dict[str, Any]) -> str:
    """The fingerprint of the text a built PDF prints, as its manifest record says (data from
    disk: anything but a SHA-256 in hex is ignored)."""
    value = record.get("fingerprint")
    return value if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value) else ""


def _about_smtp(problem: Problem) -> bool:
    """A problem with the mail settings (send/transport.py), not with the leaflet."""
    where = str(problem.path)
    return where.startswith("handouts.yaml smtp.") or (
        where == "handouts.yaml" and "smtp" in problem.message
    )


def _top_level_id(text: str) -> tuple[str | None, int | None]:
    """The ``id:`` a handout's text sets at its top level (text that loads), and its line."""
    import yaml

    data = yaml.safe_load(text)
    value = data.get("id") if isinstance(data, dict) else None
    if not isinstance(value, str):
        return None, None
    line = next((n for n, row in enumerate(text.splitlines(), 1) if re.match(r"id\s*:", row)), None)
    return value, line


def _brand_edit_of(b: LoadedBrand, **changes: Any) -> storage.BrandEdit:
    brand = b.brand
    contact = brand.contact.model_dump()
    edit = storage.BrandEdit(
        brand.name,
        brand.tagline,
        brand.colors.primary,
        brand.colors.accent,
        {k: v or "" for k, v in contact.items()},
    )
    return dataclasses.replace(edit, **changes)


def _finding_view(f: Finding, project: Project) -> FindingView:
    p = f.problem
    edit_url = ""
    display = str(p.path)
    for h in project.handouts:
        if h.display == display:
            edit_url = f"/edit/{h.id}/{h.language}"
            break
    else:
        for b in project.brands:
            if b.display == display:
                edit_url = f"/brand/{b.id}"
                break
    anchor = field_id(p.key)
    if edit_url and anchor:
        edit_url += f"#{anchor}"
    return FindingView(
        f.severity,
        f.code,
        p.message,
        p.hint,
        p.location(),
        p.key,
        anchor,
        edit_url,
        text=str(p),
        label=key_label(p.key),
        line=p.line,
        file=display,
    )


def contrast_view(project: Project, b: LoadedBrand, primary: str, accent: str) -> ContrastView:
    invalid = []
    for name, value in (("primary", primary), ("accent", accent)):
        if not HEX.fullmatch(value.strip()):
            invalid.append((name, 'must be a colour written as "#RRGGBB", like "#0B5E6B"'))
    if invalid:
        return ContrastView(primary, accent, [], [], None, invalid)
    primary, accent = primary.strip().upper(), accent.strip().upper()
    colors = b.brand.colors.model_copy(update={"primary": primary, "accent": accent})
    candidate = dataclasses.replace(b, brand=b.brand.model_copy(update={"colors": colors}))
    context = CheckContext(project, dt.date.today(), False, brand=candidate)
    findings = contrast_check.brand_contrast(context)
    pairs = contrast_check.printed_pairs(project, b.brand.layouts)
    theme = theme_colors(primary, accent)
    views = [
        PairView(
            plain_pair(p.what),
            *p.colours(theme),
            contrast_check.contrast(*p.colours(theme)),
            p.needs,
        )
        for p in pairs
    ]
    proposals = {}
    for role, colour, other in (("primary", primary, accent), ("accent", accent, primary)):
        own = [p for p in pairs if p.colour == role]
        failing = [v for v, p in zip(views, pairs, strict=True) if p.colour == role and not v.ok]
        if failing:
            proposals[role] = contrast_check.nearest_passing(colour, role, own, other)
    return ContrastView(
        primary,
        accent,
        views,
        [_finding_view(f, project) for f in findings],
        proposals.get("primary"),
        [],
        proposals.get("accent"),
    )
