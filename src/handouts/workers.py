"""Rendering jobs: one at a time in this process, or in worker processes, each under a time
limit. Workers fork from a server that has already imported WeasyPrint, die with the build
that started them, and send every file back as bytes for the parent to write.
"""

from __future__ import annotations

import ctypes
import hashlib
import multiprocessing
import multiprocessing.context
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .defaults import DEFAULT_PAGE_CAP, DEFAULT_TIMEOUT, MAX_WORKERS_PER_CPU, TASKS_PER_WORKER
from .errors import HandoutsError, Problem
from .plan import Job
from .results import Result


@dataclass(frozen=True)
class Limits:
    timeout: float = DEFAULT_TIMEOUT
    page_cap: int = DEFAULT_PAGE_CAP


def worker_count(requested: int | None) -> tuple[int, str]:
    """How many workers to start, and a note when the request was lowered."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = cpus or 1
    if requested is None:
        return cpus, ""
    cap = MAX_WORKERS_PER_CPU * cpus
    if requested > cap:
        return cap, (
            f"using {cap} workers rather than {requested}: this machine has {cpus} CPU(s), "
            "and more workers only use more memory"
        )
    return max(1, requested), ""


# ---------------------------------------------------------------- the time limit


class TimeLimitExceeded(BaseException):
    """Raised by the alarm. A BaseException, so that no ``except Exception`` inside a library
    (WeasyPrint catches broadly in places) can swallow it."""


@contextmanager
def time_limit(seconds: float):
    """Stop the block after ``seconds`` (in a process's main thread; elsewhere it cannot)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return
    active = True

    def expire(signum: int, frame: Any) -> None:
        if active:
            raise TimeLimitExceeded

    previous = signal.signal(signal.SIGALRM, expire)
    # Re-fire until cancelled: an alarm that lands in a __del__ is swallowed by Python.
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.05)
    try:
        yield
    finally:
        active = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def enforces_time_limit() -> bool:
    """Whether ``time_limit`` can stop a render here (only a process's main thread can)."""
    return threading.current_thread() is threading.main_thread()


# ---------------------------------------------------------------- one job


_local = threading.local()


def _renderer() -> Any:
    """One renderer per worker thread (a Dask worker may run several threads)."""
    if getattr(_local, "renderer", None) is None:
        from .render import Renderer

        _local.renderer = Renderer()
    return _local.renderer


def drop_renderer() -> None:
    """Forget this thread's renderer (and with it WeasyPrint's temporary font folder)."""
    _local.renderer = None


def run_job(job: Job, limits: Limits = Limits()) -> Result:
    """Render one job; never raises for a problem in the job's own inputs."""
    start = time.perf_counter()
    result = Result(job.label, str(job.output), "failed")
    fmt = job.format
    try:
        # Imports and the renderer's set-up happen before the clock starts: an alarm during
        # `import weasyprint` would leave a half-imported module behind for the next job.
        renderer = _renderer() if fmt.needs_renderer else None
        with time_limit(limits.timeout):
            output = fmt.render(job, renderer, limits.page_cap)
    except HandoutsError as exc:
        result.error = str(exc)
        result.files = getattr(exc, "files", None) or None  # e.g. a picture of the problem
    except TimeLimitExceeded:
        drop_renderer()  # interrupted anywhere inside WeasyPrint: start the next one afresh
        result.error = str(
            Problem(
                job.handout.display,
                f"rendering took longer than {limits.timeout:g} s and was stopped",
                hint="shorten the handout or check the template",
            )
        )
    except OSError as exc:  # a full disk or `ulimit -f` while WeasyPrint writes its font files
        drop_renderer()
        where = f" {exc.filename}" if exc.filename else ""
        result.error = str(
            Problem(
                job.label,
                f"cannot read or write the file{where} while rendering ({exc.strerror or exc})",
                hint="check the free space, the permissions and the file size limit "
                "(ulimit -f) of the temporary folder",
            )
        )
    except MemoryError:
        drop_renderer()
        result.error = str(
            Problem(
                job.handout.display,
                f"{job.label} needs more memory than this machine has",
                hint="shorten the handout, use smaller images, or check the template",
            )
        )
    except Exception as exc:  # a bug of ours: fail this document, keep the others going
        result.error = (
            f"{job.label}: internal error ({type(exc).__name__}: {exc}); this is a bug in "
            "handouts, please report it"
        )
    else:
        document = output.files[str(job.output)]
        result.status = "built"
        result.pages, result.bytes = output.pages, len(document)
        result.warnings, result.body_pt = output.warnings, output.body_pt
        result.sha256 = hashlib.sha256(document).hexdigest()
        result.files, result.thumbnail = output.files, output.thumbnail
        result.details = output.details
    result.seconds = time.perf_counter() - start
    return result


# ---------------------------------------------------------------- running many


def _worker_context() -> multiprocessing.context.BaseContext:
    """Workers fork from a server process that has already imported WeasyPrint, so a new or
    recycled worker starts in milliseconds instead of paying the import again."""
    # The fork server listens on a socket in the temp folder; socket paths are limited to
    # 107 bytes, and a deep TMPDIR would not fit ("/pymp-XXXXXXXX/listener-XXXXXXXX").
    too_deep = len(os.fsencode(tempfile.gettempdir())) + 40 > 107
    if too_deep or "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(
        ["weasyprint", "pypdfium2", "handouts.render", "handouts.workers", "handouts.formats"]
    )
    return context


def start_server(workers: int | None) -> None:
    """Start the worker server now, so that it imports WeasyPrint on another core while this
    process loads and checks the project (a second or so saved on every build that renders
    in worker processes). Nothing is imported here."""
    from .lock import session_tempdir

    if worker_count(workers)[0] <= 1:
        return
    session_tempdir()  # the server's socket goes in the build's temporary folder
    if _worker_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when the process that started it dies (kill -9 of the
    build included), so no orphan keeps rendering."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: workers still stop with the pool
        pass


def _worker_init(tmpdir: str) -> None:
    """Workers leave Ctrl-C and SIGTERM to the parent, keep temporary files in the build's
    folder, and die with their parent."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.environ["TMPDIR"] = tmpdir
    tempfile.tempdir = tmpdir


def run_all(
    jobs: list[Job],
    limits: Limits,
    tmpdir: str,
    finish: Callable[[Result], None],
    *,
    workers: int = 1,
    executor: Executor | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> None:
    """Render ``jobs`` and hand each Result to ``finish`` (in this thread) as it completes."""
    if not jobs:
        return
    if executor is None and (workers <= 1 or len(jobs) == 1):
        saved = tempfile.tempdir
        tempfile.tempdir = tmpdir
        try:
            for job in jobs:
                if cancelled():
                    return
                finish(run_job(job, limits))
        finally:
            tempfile.tempdir = saved
            drop_renderer()  # one renderer per build: its font folder goes with the build's
        return
    if executor is not None:
        _collect(executor, jobs, limits, finish, cancelled)
        return
    # Recycle workers by giving each batch a fresh pool: ProcessPoolExecutor's own
    # max_tasks_per_child deadlocks on Python 3.11. Workers fork from a preloaded server,
    # so a new pool costs milliseconds.
    batch = max(1, workers) * TASKS_PER_WORKER
    for start in range(0, len(jobs), batch):
        chunk = jobs[start : start + batch]
        pool = ProcessPoolExecutor(
            max_workers=min(workers, len(chunk)),
            mp_context=_worker_context(),
            initializer=_worker_init,
            initargs=(tmpdir,),
        )
        finished = False
        try:
            _collect(pool, chunk, limits, finish, cancelled)
            finished = not cancelled()
        finally:
            if not finished:  # interrupted or cancelled: the renders in flight are not wanted
                _stop_workers()
            pool.shutdown(wait=True, cancel_futures=True)
        if cancelled():
            return


def _stop_workers() -> None:
    for process in multiprocessing.active_children():
        process.kill()


# How often the waiting build wakes: a signal the kernel gave another thread (the pool's
# manager) is only acted on when the main thread runs, and the cancel flag is read then too.
WAKE_S = 0.2


def _collect(
    pool: Executor,
    jobs: list[Job],
    limits: Limits,
    finish: Callable[[Result], None],
    cancelled: Callable[[], bool],
) -> None:
    """Submit ``jobs`` to ``pool`` and hand each result to ``finish`` as it completes. The
    wait wakes every WAKE_S, so Ctrl-C, SIGTERM and ``cancel`` stop a build at once even while
    every worker is busy with one long document."""
    futures: dict[Future, int] = {}
    try:
        futures = {pool.submit(run_job, job, limits): i for i, job in enumerate(jobs)}
        pending = set(futures)
        while pending and not cancelled():
            done, pending = wait(pending, timeout=WAKE_S, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=futures.__getitem__):
                finish(_result_of(future, jobs[futures[future]]))
                if cancelled():
                    return
    finally:
        for future in futures:
            future.cancel()


def _result_of(future: Future, job: Job) -> Result:
    try:
        return future.result()
    except Exception as exc:  # a worker died (out of memory, killed, lost node)
        return Result(
            job.label,
            str(job.output),
            "failed",
            error=(
                f"{job.label}: the worker stopped unexpectedly ({type(exc).__name__}: "
                f"{exc}); build again, and report it if it happens again"
            ),
        )
