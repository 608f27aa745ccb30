"""Run a plan: skip what is up to date, render the rest (workers.py), write every file
atomically, keep the manifest and the gallery.

Nothing here prints: the caller follows the build through a ``Progress``.
"""

from __future__ import annotations

import datetime as dt
import errno
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from . import history, manifest
from .checks import CheckReport, readability_summary
from .errors import HandoutsError, Problem
from .files import output_path, write_atomic
from .gallery import INDEX as GALLERY
from .gallery import write_gallery
from .lock import build_tempdir
from .plan import Job, Plan
from .results import Report, Result
from .workers import Limits, run_all


class Progress(Protocol):
    """How a front end follows a build (every method is called in the building thread)."""

    def start(self, total: int, todo: int) -> None: ...
    def result(self, result: Result) -> None: ...


class _Quiet:
    def start(self, total: int, todo: int) -> None:
        pass

    def result(self, result: Result) -> None:
        pass


@dataclass
class Options:
    force: bool = False
    limits: Limits = field(default_factory=Limits)
    workers: int = 1
    executor: Executor | None = None


def cannot_write(out_dir: Path, exc: OSError) -> HandoutsError:
    where = exc.filename or out_dir
    return HandoutsError(
        Problem(
            str(where),
            f"cannot write here ({exc.strerror or exc})",
            hint="check the folder's permissions and free space, or choose another with --out",
        )
    )


@contextmanager
def _deferred_signals() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block is done; they are delivered right after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


def decide(
    job: Job,
    records: dict[str, dict[str, Any]],
    out_dir: Path,
    force: bool,
    checks: CheckReport | None,
) -> Result:
    """What happens to a job before any rendering: "failed" (the checks found errors),
    "skipped" (up to date) or "planned", each with its reason."""
    blocked = checks.blocked(job) if checks else []
    if blocked:
        error = "\n".join(str(f.problem) for f in blocked)
        return Result(
            job.label, str(job.output), "failed", reason="the checks found errors", error=error
        )
    if not job.format.incremental:
        return Result(job.label, str(job.output), "planned", reason="always rebuilt")
    reason = "forced" if force else manifest.why_rebuild(job, records.get(str(job.output)), out_dir)
    status = "planned" if reason else "skipped"
    return Result(job.label, str(job.output), status, reason=reason or "up to date")


def _blocked_results(plan: Plan) -> list[Result]:
    return [
        Result(b.label, b.output, "failed", reason="an input has errors", error=b.error)
        for b in plan.blocked
    ]


def dry_run(
    plan: Plan,
    out_dir: Path,
    records: dict[str, dict[str, Any]],
    *,
    force: bool = False,
    checks: CheckReport | None = None,
) -> list[Result]:
    """What a build would do, and why, without rendering anything."""
    return [decide(job, records, out_dir, force, checks) for job in plan.jobs] + _blocked_results(
        plan
    )


def run(
    plan: Plan,
    out_dir: Path,
    records: dict[str, dict[str, Any]],
    template_dirs: tuple[Path, ...],
    *,
    checks: CheckReport | None = None,
    options: Options | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> Report:
    """Build ``plan`` into ``out_dir`` (whose lock the caller holds), updating ``records`` and
    saving them. One failing document never stops the others; Ctrl-C and SIGTERM stop cleanly
    with the manifest matching the files on disk."""
    start = time.perf_counter()
    options = options or Options()
    progress = progress or _Quiet()
    results: list[Result] = []
    todo: list[Job] = []
    reasons: dict[str, str] = {}
    for job in plan.jobs:
        decided = decide(job, records, out_dir, options.force, checks)
        if decided.status == "planned":
            todo.append(job)
            reasons[str(job.output)] = decided.reason
        else:
            results.append(decided)
    results += _blocked_results(plan)
    progress.start(len(plan.jobs) + len(plan.blocked), len(todo))
    for done in results:  # skipped as up to date, or stopped before rendering
        progress.result(done)
    by_output = {str(job.output): job for job in todo}
    built_at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    changed = False

    def finish(result: Result) -> None:
        nonlocal changed
        job = by_output[result.output]
        result.reason = reasons[result.output]
        if result.files:
            # A file on disk and its manifest record go together: signals wait for both.
            with _deferred_signals():
                try:
                    for name, data in result.files.items():
                        target = output_path(out_dir, name)
                        if target is None:  # never outside the output folder
                            raise OSError(errno.EPERM, "refused a path outside it", name)
                        write_atomic(target, data)
                    if result.thumbnail and result.status == "built":
                        write_atomic(
                            out_dir / manifest.thumbnail_name(result.output), result.thumbnail
                        )
                except OSError as exc:
                    result.status, result.error = "failed", str(cannot_write(out_dir, exc))
                else:
                    if result.status == "built" and job.format.recorded:
                        records[result.output] = manifest.record(
                            job, result, built_at, _reading(checks, job)
                        )
                        changed = True
                        try:  # the audit trail: which version was printed, when, for whom
                            history.append(out_dir, [history.entry(job, result, built_at)])
                        except HandoutsError as exc:
                            result.status, result.error = "failed", str(exc)
            result.files = result.thumbnail = None
        results.append(result)
        progress.result(result)

    interrupted = False
    with build_tempdir() as tmpdir:
        try:
            run_all(
                todo,
                options.limits,
                tmpdir,
                finish,
                workers=options.workers,
                executor=options.executor,
                cancelled=cancelled,
            )
        except KeyboardInterrupt:
            interrupted = True
        finally:
            try:
                if changed or not (out_dir / manifest.NAME).is_file():
                    manifest.save(out_dir, records)
                if changed or not (out_dir / GALLERY).is_file():
                    write_gallery(out_dir, records, template_dirs)
            except OSError as exc:
                raise cannot_write(out_dir, exc) from None
    interrupted = interrupted or cancelled()
    order = {str(job.output): i for i, job in enumerate(plan.jobs)}
    results.sort(key=lambda r: order.get(r.output, len(order)))
    return Report(results, time.perf_counter() - start, interrupted)


def _reading(checks: CheckReport | None, job: Job) -> dict[str, Any]:
    if checks is None:
        return {}
    return readability_summary(checks, job.handout.id, job.handout.language)
