#!/usr/bin/env python3
"""Where a document's time goes: the stages of one build, timed by the wall clock.

Plain script, not a test:

    .venv/bin/python bench/profile.py [--brands N] [--project DIR] [--json FILE]

It builds the bench's generated project (N brands of the example handout, as bench/run.py
makes them; or any project with --project) in this process with `--jobs 1` semantics, after
one warm-up document, and times each stage by wrapping the functions that do it:

  checks        the content checks (once per build, shown per document)
  template      Jinja, the template context and the QR codes (handouts.render.render_html)
  parse         HTML parsing (weasyprint.HTML)
  style         the CSS cascade (Document._build_layout_context)
  boxes         the box tree (build_formatting_structure)
  layout        line breaking and pagination (layout_document)
  draw          drawing the pages into PDF streams (draw_page)
  fonts         embedding and subsetting the fonts (build_fonts_dictionary)
  pdf write     the rest of write_pdf: tags, metadata, serialising
  fit re-render the layouts after the first when a document is fitted to its pages
  thumbnail     the page-1 picture for the gallery
  preflight     the print preflight (when the code has one)
  other         everything else inside the renderer

Each stage's time is exclusive (a stage inside another is not counted twice). The figures
are a few per cent higher than without the wrappers.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

ORDER = [
    "checks",
    "template",
    "parse",
    "style",
    "boxes",
    "layout",
    "draw",
    "fonts",
    "pdf write",
    "fit re-render",
    "thumbnail",
    "preflight",
    "other",
]


class Clock:
    """Exclusive wall-clock time per stage, with a stack for nesting."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self.stack: list[tuple[str, float]] = []
        self.muted = False  # inside a refit, the inner stages belong to the refit

    @contextlib.contextmanager
    def stage(self, name: str):
        if self.muted:
            yield
            return
        now = time.perf_counter()
        if self.stack:
            outer, since = self.stack[-1]
            self.totals[outer] += now - since
        self.stack.append((name, now))
        try:
            yield
        finally:
            end = time.perf_counter()
            _, since = self.stack.pop()
            self.totals[name] += end - since
            if self.stack:
                outer, _ = self.stack[-1]
                self.stack[-1] = (outer, end)


def wrap(clock: Clock, owner: Any, attr: str, name: str, *, drain: bool = False) -> None:
    """Time ``owner.attr`` as stage ``name``; ``drain`` runs a generator to its end inside
    the stage (WeasyPrint lays pages out lazily)."""
    original = getattr(owner, attr)
    is_class_method = isinstance(owner.__dict__.get(attr), classmethod)
    func = original.__func__ if is_class_method else original

    @functools.wraps(func)
    def timed(*args: Any, **kwargs: Any) -> Any:
        with clock.stage(name):
            result = func(*args, **kwargs)
            return list(result) if drain else result

    setattr(owner, attr, classmethod(timed) if is_class_method else timed)


def instrument(clock: Clock) -> None:
    import weasyprint
    import weasyprint.document as document
    import weasyprint.pdf as pdf

    import handouts.formats.pdf as pdf_format
    import handouts.render as render

    wrap(clock, render, "render_html", "template")
    wrap(clock, weasyprint.HTML, "__init__", "parse")
    wrap(clock, document.Document, "_build_layout_context", "style")
    wrap(clock, document, "build_formatting_structure", "boxes")
    wrap(clock, document, "layout_document", "layout", drain=True)
    wrap(clock, document, "draw_page", "draw")
    wrap(clock, pdf, "build_fonts_dictionary", "fonts")
    wrap(clock, document.Document, "write_pdf", "pdf write")
    wrap(clock, pdf_format, "thumbnail_png", "thumbnail")
    with contextlib.suppress(ImportError, AttributeError):
        preflight = importlib.import_module("handouts.preflight")
        for attr in ("run", "inspect", "check", "preflight"):
            if callable(getattr(preflight, attr, None)):
                wrap(clock, preflight, attr, "preflight")
                break
    # The first layout of a job is part of its stages; the ones after it are refitting.
    original = render.Renderer._layout
    seen: dict[int, int] = defaultdict(int)

    def layout(self: Any, job: Any, fetcher: Any, body_pt: float) -> Any:
        seen[id(job)] += 1
        if seen[id(job)] == 1:
            return original(self, job, fetcher, body_pt)
        with clock.stage("fit re-render"):
            clock.muted = True
            try:
                return original(self, job, fetcher, body_pt)
            finally:
                clock.muted = False

    render.Renderer._layout = layout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--brands", type=int, default=20)
    parser.add_argument("--project", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from handouts import api
    from handouts.workers import Limits, run_job

    with tempfile.TemporaryDirectory(prefix="bench-profile-") as folder:
        root = args.project
        if root is None:
            from run import generate_project  # bench/run.py's generated brands

            root = Path(folder) / "project"
            generate_project(root, args.brands)
        clock = Clock()
        project = api.open_project(root).raise_for_problems()
        start = time.perf_counter()
        checks = api.check(project)
        checks_s = time.perf_counter() - start
        jobs = list(api.plan(project).jobs)
        jobs = [j for j in jobs if not checks.blocked(j)]
        run_job(jobs[0], Limits())  # warm-up: imports, fonts, stylesheets
        instrument(clock)
        walls = []
        for job in jobs:
            t0 = time.perf_counter()
            with clock.stage("other"):
                result = run_job(job, Limits())
            walls.append(time.perf_counter() - t0)
            if result.status != "built":
                sys.exit(f"{job.label}: {result.error}")
        n = len(jobs)
        clock.totals["checks"] = checks_s
        per_doc = {k: clock.totals.get(k, 0.0) / n for k in ORDER}
        total = sum(per_doc.values())
        rows = {
            k: {"s_per_doc": round(v, 4), "share": round(v / total, 3)} for k, v in per_doc.items()
        }
        facts = {
            "documents": n,
            "project": str(args.project or f"generated, {args.brands} brands"),
            "wall_s_per_doc": round(sum(walls) / n, 4),
            "stages": rows,
        }
    if args.json:
        args.json.write_text(json.dumps(facts, indent=2))
    print(json.dumps(facts, indent=2))
    print(f"\n{'stage':<14} {'s/doc':>8} {'share':>7}")
    for name in ORDER:
        row = rows[name]
        print(f"{name:<14} {row['s_per_doc']:>8.4f} {row['share']:>6.1%}")
    print(f"{'total':<14} {total:>8.4f}")


if __name__ == "__main__":
    main()
