"""The one recipe every front end uses (the CLI, the web app, sending, importing, scripts):
open a project, plan, check, build with progress and a cancel flag, prune. Each step returns
plain result objects; nothing here prints.

    from handouts import api
    project = api.open_project("clinic-leaflets")      # per-file problems in project.problems
    report = api.build(project, api.Filters(brands=["riverside"]))
    for result in report.results: ...
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import build as builder
from . import history, manifest, noop, review
from .checks import CheckReport, readability_summary, run_checks
from .checks.printed import preflight_findings
from .defaults import DEFAULT_PAGE_CAP, DEFAULT_TIMEOUT
from .errors import HandoutsError, Problem
from .lock import output_lock
from .plan import Blocked, Filters, Job, Plan, make_plan
from .project import Broken, Project, load_project
from .prune import Pruned, prune, stale_outputs
from .results import Report, Result
from .workers import Limits, start_server, worker_count

__all__ = [
    "DEFAULT_PAGE_CAP",
    "DEFAULT_TIMEOUT",
    "Blocked",
    "Broken",
    "BuildRequest",
    "CheckReport",
    "Filters",
    "Job",
    "Limits",
    "Plan",
    "Preview",
    "PrintHistory",
    "Project",
    "Pruned",
    "Report",
    "Result",
    "approve",
    "build",
    "check",
    "dry_run",
    "open_project",
    "output_dir",
    "plan",
    "prepare",
    "print_history",
    "prune_outputs",
    "review_status",
    "review_status_json",
    "validate_file",
    "warm_executor",
]


def open_project(root: Path | str) -> Project:
    """Load a project; a file with errors is listed in ``project.problems`` and left out with
    what depends on it. Raises HandoutsError only when there is no project at ``root``."""
    return load_project(root, keep_going=True)


def plan(
    project: Project, filters: Filters | None = None, formats: Sequence[str] = ("pdf",)
) -> Plan:
    """The documents the brands ask for, narrowed by ``filters``."""
    return make_plan(project, filters or Filters(), list(formats))


def check(
    project: Project,
    *,
    today: dt.date | None = None,
    strict: bool = False,
    out: Path | str | None = None,
) -> CheckReport:
    """Readability, contrast, glyphs, links, sign-off (see docs/checks.md). With ``out``, also
    the warnings the last build into that folder's preflight found on the printed pages."""
    report = run_checks(project, today=today, strict=strict)
    if out is None:
        return report
    target = output_dir(project, out)
    records = manifest.load(target, repair=False).records
    shown = (
        str(target.relative_to(project.root))
        if target.is_relative_to(project.root)
        else str(target)
    )
    extra = preflight_findings(records, shown)
    return dataclasses.replace(report, findings=report.findings + tuple(extra))


def prepare(request: BuildRequest) -> None:
    """Optional: get ready to render before the project is loaded and checked (the worker
    server starts importing WeasyPrint on another core). Front ends call it when they expect
    to render something; a build that then renders nothing has lost nothing but that."""
    if request.executor is None:
        start_server(request.workers)


def output_dir(project: Project, out: Path | str | None = None) -> Path:
    """The output folder (default: output/ in the project), refused where writing or pruning
    would damage the project: the project folder itself, a folder that holds it, or anything
    inside content/, templates/ or fonts/."""
    target = (Path(out) if out is not None else project.root / "output").resolve()
    root = project.root
    if target == root or root.is_relative_to(target):
        why = "is the project folder" if target == root else "holds the project folder"
        raise HandoutsError(
            Problem(str(target), f"cannot build here: this {why}", hint="use --out output")
        )
    for name in ("content", "templates", "fonts", ".git"):
        inner = root / name
        if target == inner or target.is_relative_to(inner):
            raise HandoutsError(
                Problem(
                    str(target),
                    f"cannot build into the project's {name}/ folder: built files would be "
                    "read as part of the project",
                    hint="use --out output, or a folder outside the project",
                )
            )
    return target


@dataclass
class BuildRequest:
    """What to build and how. The defaults are the CLI's."""

    filters: Filters = field(default_factory=Filters)
    formats: Sequence[str] = ("pdf",)
    out: Path | str | None = None
    force: bool = False
    prune: bool = False
    workers: int | None = None  # None: one per CPU; 1 renders in this process
    executor: Executor | None = None  # any concurrent.futures executor, e.g. Dask's
    limits: Limits = field(default_factory=Limits)
    strict: bool = False  # overdue reviews become errors
    wait: bool = True  # wait for another build writing to the same folder
    on_wait: Callable[[str], None] | None = None


@dataclass
class Preview:
    """What a build would do: each document's fate and the outputs no longer planned, and
    the plan it was worked out from (so that a front end need not plan again)."""

    results: list[Result]
    stale: list[str]
    notes: list[str]
    plan: Plan = field(default_factory=lambda: Plan(()))


def _wanted(project: Project, records: dict[str, dict], done: Plan) -> set[str]:
    """Every output the full plan makes (in every format the manifest holds), or that a file
    with errors keeps from being made (so that it is not taken for stale)."""
    names = {str(r.get("format", "pdf")) for r in records.values()} | {"pdf"}
    formats = [n for n in sorted(names) if n not in ("print",) and _known_format(n)]
    full = make_plan(project, Filters(print_ready=True), formats)
    wanted = {str(j.output) for j in (*full.jobs, *done.jobs)}
    wanted |= {b.output for b in (*full.blocked, *done.blocked)}
    broken_brands = {b.output for b in full.blocked if b.output.endswith("/")}
    wanted |= {name for name in records if any(name.startswith(p) for p in broken_brands)}
    return wanted


def _known_format(name: str) -> bool:
    from . import formats

    try:
        formats.get(name)
    except ValueError:
        return False
    return True


def dry_run(project: Project, request: BuildRequest, checks: CheckReport | None = None) -> Preview:
    """What ``build`` would do, and why, without rendering or writing anything."""
    chosen = plan(project, request.filters, request.formats)
    out = output_dir(project, request.out)
    loaded = manifest.load(out, repair=False)
    checks = checks if checks is not None else check(project, strict=request.strict)
    results = builder.dry_run(chosen, out, loaded.records, force=request.force, checks=checks)
    stale = stale_outputs(loaded.records, _wanted(project, loaded.records, chosen))
    return Preview(results, stale, loaded.notes, chosen)


def build(
    project: Project,
    request: BuildRequest | None = None,
    *,
    checks: CheckReport | None = None,
    progress: builder.Progress | None = None,
    cancel: threading.Event | None = None,
) -> Report:
    """Build what ``request`` asks for into its output folder, under the folder's lock.

    Up-to-date documents are skipped; a document that the checks or a broken file stop fails
    without rendering; one failing document never stops the others. ``cancel`` (set from any
    thread) stops after the documents in flight; Ctrl-C does the same in the main thread.
    """
    request = request or BuildRequest()
    chosen = plan(project, request.filters, request.formats)
    out = output_dir(project, request.out)
    checks = checks if checks is not None else check(project, strict=request.strict)
    workers, note = worker_count(request.workers)
    options = builder.Options(request.force, request.limits, workers, request.executor)
    with output_lock(out, wait=request.wait, on_wait=request.on_wait):
        noop.forget(out)
        loaded = manifest.load(out)
        stale = stale_outputs(loaded.records, _wanted(project, loaded.records, chosen))
        pruned = prune(out, loaded.records, stale) if request.prune and stale else Pruned()
        if pruned.removed:
            manifest.save(out, loaded.records)
        report = builder.run(
            chosen,
            out,
            loaded.records,
            project.template_dirs,
            checks=checks,
            options=options,
            progress=progress,
            cancelled=cancel.is_set if cancel else lambda: False,
        )
    report.pruned, report.kept = pruned.removed, pruned.kept
    report.check_warnings = [f for f in checks.warnings if any(f.concerns(j) for j in chosen.jobs)]
    report.readability = {
        (j.handout.id, j.handout.language): readability_summary(
            checks, j.handout.id, j.handout.language
        )
        for j in chosen.jobs
    }
    report.stale = [] if request.prune else stale
    report.notes = [*([note] if note else []), *loaded.notes]
    return report


def remember_no_op(
    project: Project,
    out: Path,
    digest: str,
    report: Report,
    readability: list[str],
    warnings: int,
    today: dt.date | None = None,
) -> None:
    """After a successful build: remember its outcome, so that the same build with nothing
    changed can say "up to date" without loading the project (noop.py). Valid until the first
    review date still to come, when the checks must look again."""
    today = today or dt.date.today()
    outputs = {r.output: _recorded_sha(out, r.output) for r in report.results}
    if not all(outputs.values()):
        return
    dates = [
        h.handout.review.next_review
        for h in project.handouts
        if h.handout.review
        and h.handout.review.next_review
        and h.handout.review.next_review >= today
    ]
    state = noop.State(outputs, readability, warnings, report.stale)  # type: ignore[arg-type]
    noop.save(out, digest, state, min(dates, default=None))


def _recorded_sha(out: Path, name: str) -> str | None:
    record = manifest.load(out, repair=False).records.get(name)
    return str(record["sha256"]) if record else None


def prune_outputs(project: Project, out: Path | str | None = None, *, wait: bool = True) -> Pruned:
    """Remove the outputs whose brand, handout, language or layout no longer exists."""
    target = output_dir(project, out)
    with output_lock(target, wait=wait):
        loaded = manifest.load(target)
        stale = stale_outputs(loaded.records, _wanted(project, loaded.records, Plan(())))
        done = prune(target, loaded.records, stale)
        if done.removed:
            manifest.save(target, loaded.records)
    return done


# ---------------------------------------------------------------- sign-off (docs/reviewing.md)


def approve(
    project: Project, handout_id: str, language: str | None = None, **options: Any
) -> review.Approval:
    """Record that a clinician approved a handout's current text, in its own file (only its
    review block changes). Options: ``by`` (required), ``note``, ``on``, ``next_review``,
    ``version``, ``today``; see ``review.approve``."""
    return review.approve(project, handout_id, language, **options)


def review_status(project: Project, today: dt.date | None = None) -> list[review.DocumentStatus]:
    """Every handout in every language: approved, changed since (where), overdue, never
    approved; and whether each translation matches its source."""
    return review.statuses(project, today)


def review_status_json(project: Project, today: dt.date | None = None) -> dict[str, Any]:
    """``review_status`` as JSON-ready data (shape: docs/reviewing.md)."""
    return review.status_json(project, today)


@dataclass
class PrintHistory:
    """What ``print_history`` found: entries oldest first, and how many lines were unreadable."""

    path: Path
    entries: list[history.Entry]
    damaged: int = 0


def print_history(
    out: Path | str,
    *,
    brands: Sequence[str] = (),
    handouts: Sequence[str] = (),
    languages: Sequence[str] = (),
    layouts: Sequence[str] = (),
    on: dt.date | None = None,
) -> PrintHistory:
    """The print history of an output folder (output/history.jsonl), narrowed; with ``on``,
    for each document the version that was there to print at the end of that day (UTC)."""
    folder = Path(out)
    reading = history.read(folder)
    found = history.select(
        reading.entries, brands=brands, handouts=handouts, languages=languages, layouts=layouts
    )
    if on is not None:
        found = history.in_effect(found, on)
    return PrintHistory(folder / history.NAME, found, reading.damaged)


# ---------------------------------------------------------------- for front ends that stay open


def validate_file(project: Project, path: Path | str, text: str) -> list[Problem]:
    """What loading the project would say about ``text`` as the new content of ``path``, a
    handout file (``content/handouts/NAME.yaml``) or a brand file
    (``content/brands/ID/brand.yaml``) of ``project``: every problem ``handouts check`` would
    list for that file, in its words and at its lines; [] when the text would load.

    The file itself is never written. A handout's text is loaded from a temporary copy with
    the same name (the name gives its id and language); a brand's from a hidden temporary
    file beside it, so that its logo is found where it would be, removed at once. Raises
    ValueError for any other path."""
    from . import project as loader
    from .assets import font_families
    from .lock import session_tempdir

    path = Path(path)
    root = project.root
    display = loader._display(path, root)
    if path.parent == root / "content" / "handouts" and path.suffix in (".yaml", ".yml"):
        kind = "handout"
    elif path.name == "brand.yaml" and path.parent.parent == root / "content" / "brands":
        kind = "brand"
    else:
        raise ValueError(f"{display} is neither a handout file nor a brand file of the project")
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return [
            Problem(
                display,
                f"the text holds a character that cannot be saved ({exc.reason})",
                text[: exc.start].count("\n") + 1,
                hint="type the character again, or remove it",
            )
        ]
    try:
        if kind == "handout":
            with tempfile.TemporaryDirectory(dir=session_tempdir()) as folder:
                candidate = Path(folder) / path.name
                candidate.write_bytes(data)
                loader._load_handout(candidate, display)
            return []
        fd, name = tempfile.mkstemp(prefix=".brand.yaml.", suffix=".tmp", dir=path.parent)
        candidate = Path(name)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            loader._load_brand(
                candidate,
                display,
                {h.id for h in project.handouts},
                set(project.broken_of("handout")),
                project.layouts,
                tuple(font_families(project.font_dirs)),
            )
        finally:
            candidate.unlink(missing_ok=True)
    except HandoutsError as exc:
        return list(exc.problems)
    return []


def warm_executor(max_workers: int = 1) -> Executor:
    """Worker processes that stay up between builds, for ``BuildRequest.executor`` in a front
    end that builds again and again (the web app's previews): WeasyPrint, the fonts and the
    parsed style sheets then stay loaded from one build to the next.

    They are set up as a build's own workers are: forked from a server that has imported
    WeasyPrint, temporary files in this process's temporary folder, Ctrl-C left to this
    process, and killed when it dies. The caller shuts the pool down (``shutdown()``)."""
    from concurrent.futures import ProcessPoolExecutor

    from .lock import session_tempdir
    from .workers import _worker_context, _worker_init

    return ProcessPoolExecutor(
        max_workers=max(1, max_workers),
        mp_context=_worker_context(),
        initializer=_worker_init,
        initargs=(session_tempdir(),),
    )
