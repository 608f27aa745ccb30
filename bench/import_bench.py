"""How long `handouts import` takes, and how much memory it holds, on ordinary and hostile
input; and how long a web page takes to render. A plain script, not a test:

    .venv/bin/python bench/import_bench.py

Each case runs in a fresh child process (so peak RSS is the case's own); the figure is the
median of --repeat runs. Prints one JSON object (and a table on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "import"

CHILD = textwrap.dedent(
    """
    import json, resource, sys, time, tracemalloc
    from pathlib import Path
    case, path = sys.argv[1], sys.argv[2]
    from handouts.importers import import_file
    from handouts.errors import HandoutsError
    if case == "webpage":
        from handouts.plan import make_plan
        from handouts.project import load_project
        from handouts.webpage import render_web_page, web_jobs
        jobs = web_jobs(make_plan(load_project(path)))
        render_web_page(jobs[0])  # warm: templates compiled, catalogs read
        start = time.perf_counter()
        for job in jobs:
            render_web_page(job)
        seconds = (time.perf_counter() - start) / len(jobs)
        peak = 0
    else:
        try:
            import_file(sys.argv[3])  # warm: this format's modules imported
        except HandoutsError:
            pass
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        try:
            import_file(path)
        except HandoutsError:
            pass
        seconds = time.perf_counter() - start  # timed without tracemalloc, which slows it
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
        tracemalloc.start()
        try:
            import_file(path)
        except HandoutsError:
            pass
        peak = tracemalloc.get_traced_memory()[1]
    if case == "webpage":
        grown = 0
    print(json.dumps({"seconds": seconds, "python_peak_mib": peak / 2**20,
                      "rss_growth_mib": grown / 1024}))
    """
)


def _cases(folder: Path) -> dict[str, Path]:
    hostile = (FIXTURES / "faq-hostile.html").read_text()
    n = 5 * 1024 * 1024 // len("<div></div>")
    deep = folder / "deep.html"
    deep.write_text(hostile.replace("</main>", "<div>" * n + "x" + "</div>" * n + "</main>"))
    wide = folder / "wide.html"
    rows = "".join(f"<p>Line {i}.</p>" for i in range(5 * 1024 * 1024 // 16))
    wide.write_text(hostile.replace("</main>", rows + "</main>"))
    docx = folder / "faq.docx"
    sys.path.insert(0, str(REPO / "tests"))
    from test_import import _seed_docx

    _seed_docx(docx)
    return {
        "seed text (6 KB)": FIXTURES / "exosome-therapy-faq.txt",
        "JSON-LD page": FIXTURES / "faq-jsonld.html",
        "hostile page + 5 MB nested divs": deep,
        "hostile page + 5 MB of paragraphs": wide,
        "Word document": docx,
        "webpage": REPO,
    }


def _warm(path: Path, folder: Path) -> Path:
    """A small file of the same format, imported first so that module imports are not timed."""
    if path.suffix == ".docx":
        warm = folder / "warm.docx"
        if not warm.exists():
            from test_import import _seed_docx

            _seed_docx(warm)
        return warm
    return FIXTURES / ("faq-details.html" if path.suffix == ".html" else "faq.md")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    python = REPO / ".venv" / "bin" / "python"
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in _cases(Path(tmp)).items():
            case = "webpage" if name == "webpage" else "import"
            runs = []
            warm = _warm(path, Path(tmp))
            for _ in range(args.repeat):
                ran = subprocess.run(
                    [str(python), "-c", CHILD, case, str(path), str(warm)],
                    capture_output=True,
                    text=True,
                    check=True,
                    env={**os.environ, "PYTHONHASHSEED": "0"},
                )
                runs.append(json.loads(ran.stdout))
            size = path.stat().st_size if path.is_file() else 0
            results[name] = {
                "bytes": size,
                **{k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]},
            }
            r = results[name]
            print(
                f"{name:36} {size / 2**20:6.2f} MiB  {r['seconds']:7.3f} s  "
                f"python peak {r['python_peak_mib']:6.1f} MiB  RSS +{r['rss_growth_mib']:6.1f} MiB",
                file=sys.stderr,
            )
    print(json.dumps({"cpus": os.cpu_count(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
