"""Run a plan: render each job (in-process or in worker processes), write files atomically,
and report results. Nothing here prints; the CLI shows what the ``on_result`` callback gets.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from .errors import HandoutsError
from .plan import Job

# Printed by WeasyPrint once per font when the system lacks libharfbuzz-subset; it says
# nothing about the document, so it is not counted as a document warning.
_ENVIRONMENT_NOTES = ("Using fontTools instead of HarfBuzz-Subset",)


@dataclass
class Result:
    """What one job produced; plain data so that it crosses process boundaries."""

    label: str
    output: str  # path relative to the output folder
    ok: bool
    seconds: float
    pages: int = 0
    bytes: int = 0
    sha256: str = ""
    warnings: list[str] = field(default_factory=list)
    error: str = ""


@dataclass
class Report:
    results: list[Result]
    seconds: float

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.failed


def write_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` so that ``target`` is either the old file or the whole new one."""
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


_renderer = None


def _get_renderer():
    global _renderer
    if _renderer is None:
        from .render import Renderer

        _renderer = Renderer()
    return _renderer


def run_job(job: Job, out_dir: Path, fmt: str = "pdf") -> Result:
    """Render one job and write it; never raises for a problem in the job's own inputs."""
    start = time.perf_counter()
    output = job.output(fmt)
    try:
        if fmt == "html":
            from .render import write_html

            path = write_html(job, out_dir / output)
            data = path.read_bytes()
            pages, warnings = 0, []
        else:
            rendered = _get_renderer().render(job)
            write_atomic(out_dir / output, rendered.pdf)
            data, pages = rendered.pdf, rendered.pages
            warnings = [
                w for w in dict.fromkeys(rendered.warnings) if not w.startswith(_ENVIRONMENT_NOTES)
            ]
    except HandoutsError as exc:
        return Result(job.label, str(output), False, time.perf_counter() - start, error=str(exc))
    return Result(
        job.label,
        str(output),
        True,
        time.perf_counter() - start,
        pages,
        len(data),
        hashlib.sha256(data).hexdigest(),
        warnings,
    )


def build(
    jobs: Sequence[Job],
    out_dir: Path,
    *,
    fmt: str = "pdf",
    workers: int = 1,
    executor: Executor | None = None,
    on_result: Callable[[Result], None] | None = None,
) -> Report:
    """Render every job into ``out_dir``. One failing job never stops the others."""
    start = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []

    def done(result: Result) -> None:
        results.append(result)
        if on_result:
            on_result(result)

    if executor is None and (workers <= 1 or len(jobs) <= 1):
        for job in jobs:
            done(run_job(job, out_dir, fmt))
    else:
        own = executor is None
        pool = executor or ProcessPoolExecutor(max_workers=min(workers, len(jobs)))
        try:
            futures = [pool.submit(run_job, job, out_dir, fmt) for job in jobs]
            for future in as_completed(futures):
                done(future.result())
        finally:
            if own:
                pool.shutdown(wait=True, cancel_futures=True)
    order = {job.label: i for i, job in enumerate(jobs)}
    results.sort(key=lambda r: order.get(r.label, 0))
    return Report(results, time.perf_counter() - start)
