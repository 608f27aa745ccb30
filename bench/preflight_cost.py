#!/usr/bin/env python3
"""What preflight costs per document, against the render it checks.

Plain script, not a test:

    .venv/bin/python bench/preflight_cost.py [--repeat N]

For every example document (2 brands x 2 languages x 3 layouts) it lays the document out once
at the settings the fitter chose, then times, N times each: WeasyPrint's layout, writing the
PDF, and preflight (reading the laid-out boxes and running every rule). It prints the median of
each per document and preflight's share of one render (layout + PDF). The fitter's extra
attempts are counted separately: they are renders, not preflight.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    from handouts.context import Fit
    from handouts.fetcher import ConfinedFetcher
    from handouts.layoutboxes import read_pages
    from handouts.plan import make_plan
    from handouts.preflight import check
    from handouts.project import load_project
    from handouts.render import Renderer

    renderer = Renderer()
    rows = []
    for job in make_plan(load_project(REPO)):
        fitted = renderer.render(job)
        fit = Fit(*_parse(fitted.fit))
        fetcher = ConfinedFetcher([*job.template_dirs, *job.font_dirs, job.brand.folder])
        layout, pdf, preflight = [], [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            document = renderer._layout(job, fetcher, fit)
            layout.append(time.perf_counter() - start)
            start = time.perf_counter()
            check(read_pages(document), job.spec.preflight, print_ready=job.print_ready)
            preflight.append(time.perf_counter() - start)
            start = time.perf_counter()
            document.write_pdf(pdf_variant="pdf/ua-1")
            pdf.append(time.perf_counter() - start)
        row = {
            "label": job.label,
            "pages": fitted.pages,
            "attempts": fitted.attempts,
            "layout": statistics.median(layout),
            "pdf": statistics.median(pdf),
            "preflight": statistics.median(preflight),
        }
        row["share"] = row["preflight"] / (row["layout"] + row["pdf"])
        rows.append(row)
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(
        f"{'document':45} {'pages':>5} {'tries':>5} {'layout ms':>9} {'pdf ms':>7} "
        f"{'preflight ms':>12} {'share':>6}"
    )
    for r in rows:
        print(
            f"{r['label']:45} {r['pages']:5d} {r['attempts']:5d} {r['layout'] * 1000:9.0f} "
            f"{r['pdf'] * 1000:7.0f} {r['preflight'] * 1000:12.1f} {r['share']:6.1%}"
        )
    total = sum(r["preflight"] for r in rows) / sum(r["layout"] + r["pdf"] for r in rows)
    print(f"preflight, all documents: {total:.1%} of one render (target: 5% or less)")


def _parse(fit: str) -> tuple[float, float, float]:
    """'11 pt, spacing 1, QR modules 0.55 mm' → (11.0, 1.0, 0.55)."""
    size, spacing, module = (part.split() for part in fit.split(","))
    return float(size[0]), float(spacing[-1]), float(module[-2])


if __name__ == "__main__":
    main()
