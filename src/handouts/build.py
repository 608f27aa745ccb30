"""Run a plan: skip what is up to date, render the rest (in-process, in worker processes, or
on any ``concurrent.futures`` executor), write files atomically, keep the manifest.

Nothing here prints: the caller gets each Result through ``on_result``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import multiprocessing.context
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import manifest
from .checks import CheckReport, readability_summary, run_checks
from .errors import HandoutsError, Problem
from .gallery import INDEX as GALLERY
from .gallery import thumbnail_name, thumbnail_png, write_gallery
from .plan import Filters, Job, make_plan
from .project import load_project
from .render import PAGE_CAP

# Printed by WeasyPrint once per font when the system lacks libharfbuzz-subset; it says
# nothing about the document, so it is not counted as a document warning.
_ENVIRONMENT_NOTES = ("Using fontTools instead of HarfBuzz-Subset",)
DEFAULT_TIMEOUT = 60.0
DEFAULT_PAGE_CAP = PAGE_CAP
# A long-lived WeasyPrint process grows a little with every document: recycle workers.
TASKS_PER_WORKER = 100


@dataclass
class Result:
    """What one job produced; plain data so that it crosses process boundaries."""

    label: str
    output: str  # path relative to the output folder
    status: str  # built | skipped | failed
    seconds: float = 0.0
    reason: str = ""  # why it was (re)built
    pages: int = 0
    bytes: int = 0
    sha256: str = ""
    body_pt: float = 0.0  # the body size chosen to fit the layout's pages
    warnings: list[str] = field(default_factory=list)
    error: str = ""
    data: bytes | None = field(default=None, repr=False)  # the file, until the parent writes it
    thumbnail: bytes | None = field(default=None, repr=False)  # page 1 as PNG, for the gallery

    @property
    def ok(self) -> bool:
        return self.status != "failed"


@dataclass
class Report:
    results: list[Result]
    seconds: float
    interrupted: bool = False

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def warned(self) -> list[Result]:
        return [r for r in self.results if r.warnings]

    def ok(self, strict: bool = False) -> bool:
        return not self.failed and not self.interrupted and not (strict and self.warned)


def _cannot_write(out_dir: Path, exc: OSError) -> HandoutsError:
    where = exc.filename or out_dir
    return HandoutsError(
        Problem(
            str(where),
            f"cannot write here ({exc.strerror or exc})",
            hint="check the folder's permissions and free space, or choose another with --out",
        )
    )


def write_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` so that ``target`` is always either the old file or the whole new one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def _deferred_interrupt():
    """Hold Ctrl-C (SIGINT) until the block is done; it is delivered right after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


# ---------------------------------------------------------------- one job (in a worker)


class _TimeLimit(Exception):
    pass


@contextmanager
def _time_limit(seconds: float):
    """Interrupt the render after ``seconds`` (main thread of a process only)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise _TimeLimit

    previous = signal.signal(signal.SIGALRM, expire)
    # Re-fire until cancelled: an alarm that lands in a __del__ is swallowed by Python.
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.05)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_local = threading.local()


def _worker_renderer():
    """One renderer per worker thread (a Dask worker may run several threads)."""
    if getattr(_local, "renderer", None) is None:
        from .render import Renderer

        _local.renderer = Renderer()
    return _local.renderer


def _worker_context() -> multiprocessing.context.BaseContext:
    """Workers fork from a server process that has already imported WeasyPrint, so a new or
    recycled worker starts in milliseconds instead of paying the half-second import again
    (a plain fork of the parent is not allowed with worker recycling)."""
    # The fork server listens on a socket in the temp folder; socket paths are limited to
    # 107 bytes, and a deep TMPDIR would not fit ("/pymp-XXXXXXXX/listener-XXXXXXXX").
    too_deep = len(os.fsencode(tempfile.gettempdir())) + 40 > 107
    if too_deep or "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["weasyprint", "pypdfium2", "handouts.render", "handouts.build"])
    return context


def _worker_init(tmpdir: str) -> None:
    """Worker processes leave Ctrl-C to the parent and keep temp files in the build's folder."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ["TMPDIR"] = tmpdir
    tempfile.tempdir = tmpdir


def run_job(
    job: Job,
    out_dir: Path,
    timeout: float = DEFAULT_TIMEOUT,
    page_cap: int = DEFAULT_PAGE_CAP,
) -> Result:
    """Render one job; never raises for a problem in the job's own inputs. PDFs come back as
    bytes for the parent to write; HTML (a debugging aid) is written here with its assets."""
    start = time.perf_counter()
    result = Result(job.label, str(job.output), "failed")
    try:
        with _time_limit(timeout):
            if job.fmt == "html":
                from .render import write_html

                data = write_html(job, out_dir / str(job.output)).read_bytes()
                pages, warnings = 0, []
            else:
                rendered = _worker_renderer().render(job, page_cap)
                data, pages = rendered.pdf, rendered.pages
                result.body_pt = rendered.body_pt
                warnings = [
                    w
                    for w in dict.fromkeys(rendered.warnings)
                    if not w.startswith(_ENVIRONMENT_NOTES)
                ]
    except HandoutsError as exc:
        result.error = str(exc)
    except _TimeLimit:
        # Interrupted anywhere inside WeasyPrint: start the next document afresh.
        _local.renderer = None
        result.error = str(
            Problem(
                job.handout.display,
                f"rendering took longer than {timeout:g} s and was stopped",
                hint="shorten the handout or check the template",
            )
        )
    except Exception as exc:  # a bug of ours: fail this document, keep the others going
        result.error = (
            f"{job.label}: internal error ({type(exc).__name__}: {exc}); this is a bug in "
            "handouts, please report it"
        )
    else:
        result.status = "built"
        result.pages, result.bytes, result.warnings = pages, len(data), warnings
        result.sha256 = hashlib.sha256(data).hexdigest()
        if job.fmt == "pdf":
            result.data, result.thumbnail = data, thumbnail_png(data)
    result.seconds = time.perf_counter() - start
    return result


# ---------------------------------------------------------------- the whole build


def stale_outputs(out_dir: Path, planned: Sequence[Job]) -> list[str]:
    """Outputs in the manifest whose brand, handout, language or layout no longer exists."""
    wanted = {str(job.output) for job in planned}
    return sorted(name for name in manifest.load(out_dir) if name not in wanted)


def prune(out_dir: Path, names: Sequence[str]) -> None:
    """Remove stale outputs and their manifest records."""
    records = manifest.load(out_dir)
    for name in names:
        (out_dir / name).unlink(missing_ok=True)
        (out_dir / thumbnail_name(name)).unlink(missing_ok=True)
        records.pop(name, None)
    manifest.save(out_dir, records)


def _decide(
    job: Job, records: dict[str, Any], out_dir: Path, force: bool, checks: CheckReport | None
) -> Result:
    """What happens to a job before any rendering: "failed" (the checks found errors),
    "skipped" (up to date) or "planned", each with its reason."""
    blocked = checks.blocked(job) if checks else []
    if blocked:
        error = "\n".join(str(f.problem) for f in blocked)
        return Result(
            job.label, str(job.output), "failed", reason="the checks found errors", error=error
        )
    if job.fmt != "pdf":
        return Result(job.label, str(job.output), "planned", reason="html")
    reason = "forced" if force else manifest.why_rebuild(job, records.get(str(job.output)), out_dir)
    status = "planned" if reason else "skipped"
    return Result(job.label, str(job.output), status, reason=reason or "up to date")


def dry_run(
    jobs: Sequence[Job], out_dir: Path, *, force: bool = False, checks: CheckReport | None = None
) -> list[Result]:
    """What a build would do, and why, without rendering anything."""
    records = manifest.load(out_dir) if jobs and jobs[0].fmt == "pdf" else {}
    return [_decide(job, records, out_dir, force, checks) for job in jobs]


def build(
    jobs: Sequence[Job],
    out_dir: Path,
    *,
    workers: int = 1,
    executor: Executor | None = None,
    force: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    page_cap: int = DEFAULT_PAGE_CAP,
    checks: CheckReport | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_result: Callable[[Result], None] | None = None,
) -> Report:
    """Build ``jobs`` into ``out_dir``. Up-to-date PDFs are skipped; a job that ``checks``
    found errors for fails without rendering; one failing job never stops the others; Ctrl-C
    stops cleanly with the manifest matching the files on disk."""
    start = time.perf_counter()
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot_write(out_dir, exc) from None
    pdf = bool(jobs) and jobs[0].fmt == "pdf"
    records = manifest.load(out_dir) if pdf else {}
    results: list[Result] = []
    todo: list[tuple[Job, str]] = []
    for job in jobs:
        decided = _decide(job, records, out_dir, force, checks)
        if decided.status == "planned":
            todo.append((job, decided.reason))
        else:
            results.append(decided)
    if on_start:
        on_start(len(jobs), len(todo))
    for done in results:  # skipped as up to date, or stopped by the checks
        if on_result:
            on_result(done)
    by_label = {job.label: (job, reason) for job, reason in todo}
    built_at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()

    def finish(result: Result) -> None:
        job, result.reason = by_label[result.label]
        if result.status == "built" and result.data is not None:
            # A file on disk and its manifest record go together: Ctrl-C waits for both.
            with _deferred_interrupt():
                try:
                    write_atomic(out_dir / result.output, result.data)
                    if result.thumbnail:
                        write_atomic(out_dir / thumbnail_name(result.output), result.thumbnail)
                except OSError as exc:
                    result.status, result.error = "failed", str(_cannot_write(out_dir, exc))
                else:
                    records[result.output] = manifest.record(
                        job, result, built_at, _reading(checks, job)
                    )
            result.data = result.thumbnail = None
        results.append(result)
        if on_result:
            on_result(result)

    interrupted = False
    tmpdir = tempfile.mkdtemp(prefix="handouts-build-")
    try:
        _run(todo, out_dir, workers, executor, (timeout, page_cap), tmpdir, finish)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        try:
            if pdf and (todo or not (out_dir / manifest.NAME).is_file()):
                manifest.save(out_dir, records)
            if pdf and (todo or not (out_dir / GALLERY).is_file()):
                write_gallery(out_dir, records, jobs[0].template_dirs)
        except OSError as exc:
            shutil.rmtree(tmpdir, ignore_errors=True)
            raise _cannot_write(out_dir, exc) from None
        shutil.rmtree(tmpdir, ignore_errors=True)
    order = {job.label: i for i, job in enumerate(jobs)}
    results.sort(key=lambda r: order.get(r.label, 0))
    return Report(results, time.perf_counter() - start, interrupted)


def _reading(checks: CheckReport | None, job: Job) -> dict[str, Any]:
    if checks is None:
        return {}
    return readability_summary(checks, job.handout.id, job.handout.language)


def build_project(
    root: Path | str,
    out_dir: Path | str | None = None,
    filters: Filters | None = None,
    *,
    strict: bool = False,
    **options: Any,
) -> Report:
    """The whole recipe in one call: load, check, plan, build."""
    project = load_project(root)
    checks = run_checks(project, strict=strict)
    jobs = make_plan(project, filters or Filters())
    out = Path(out_dir) if out_dir else project.root / "output"
    return build(jobs, out, checks=checks, **options)


def _run(
    todo: list[tuple[Job, str]],
    out_dir: Path,
    workers: int,
    executor: Executor | None,
    limits: tuple[float, int],
    tmpdir: str,
    finish: Callable[[Result], None],
) -> None:
    if not todo:
        return
    if executor is None and (workers <= 1 or len(todo) == 1):
        saved = tempfile.tempdir
        tempfile.tempdir = tmpdir
        try:
            for job, _ in todo:
                finish(run_job(job, out_dir, *limits))
        finally:
            tempfile.tempdir = saved
            # One renderer per build: its temporary font folder goes with the build's.
            _local.renderer = None
        return
    if executor is not None:
        _collect(executor, todo, out_dir, limits, finish)
        return
    # Recycle workers by giving each batch a fresh pool: ProcessPoolExecutor's own
    # max_tasks_per_child deadlocks on Python 3.11. Workers fork from a preloaded server,
    # so a new pool costs milliseconds.
    batch = max(1, workers) * TASKS_PER_WORKER
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        pool = ProcessPoolExecutor(
            max_workers=min(workers, len(chunk)),
            mp_context=_worker_context(),
            initializer=_worker_init,
            initargs=(tmpdir,),
        )
        try:
            _collect(pool, chunk, out_dir, limits, finish)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _collect(
    pool: Executor,
    todo: list[tuple[Job, str]],
    out_dir: Path,
    limits: tuple[float, int],
    finish: Callable[[Result], None],
) -> None:
    """Submit ``todo`` to ``pool`` and hand each result to ``finish`` as it completes."""
    futures: dict[Future, Job] = {}
    try:
        futures = {pool.submit(run_job, job, out_dir, *limits): job for job, _ in todo}
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception as exc:  # a worker died (out of memory, killed, lost node)
                job = futures[future]
                result = Result(
                    job.label,
                    str(job.output),
                    "failed",
                    error=(
                        f"{job.label}: the worker stopped unexpectedly ({type(exc).__name__}: "
                        f"{exc}); build again, and report it if it happens again"
                    ),
                )
            finish(result)
    finally:
        for future in futures:
            future.cancel()
