#!/usr/bin/env python3
"""Benchmark handouts against WeasyPrint alone, the weasyprint command and headless Chromium.

Plain script, not a test. Stdlib plus the project's own dependencies (WeasyPrint):

    .venv/bin/python bench/run.py [--brands N] [--out FILE.json] [--skip-400]

Everything happens in one temporary folder: generated projects (N brands, 40 brands and,
unless --skip-400, 400 brands; brand k is the same in each), their outputs and the PDFs of
the other renderers. It prints one JSON object with every figure, then a plain table, and
marks each performance target met / not met. See bench/README.md.
"""

from __future__ import annotations

import argparse
import colorsys
import contextlib
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
HANDOUT = REPO / "content" / "handouts" / "exosome-therapy.yaml"
HANDOUT_ID = "exosome-therapy"
KB = 1024
# A handouts run that writes no new PDF for this long is hung (its per-document timeout is 60 s).
STALL_S = 120.0

# The targets (see evaluate()).
LIMIT_JOBS1_VS_WEASYPRINT = 1.10
LIMIT_JOBS2_SPEEDUP = 1.7
LIMIT_JOBS2_VS_TWO_WEASYPRINT = 1.10  # two WeasyPrint-alone processes: this machine's limit
LIMIT_VS_WEASYPRINT_LOOP = 3.5
LIMIT_VS_CHROMIUM = 2.0
LIMIT_NOOP_SHARE = 0.05
LIMIT_RSS_MB = 150.0
LIMIT_HELP_S = 0.3
LIMIT_PDF_BYTES = 60 * KB
LIMIT_LINEARITY = 10.5

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

T0 = time.perf_counter()


def log(message: str) -> None:
    print(f"[bench {time.perf_counter() - T0:6.1f} s] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- tools and machine


def venv_bin(name: str) -> str:
    """A console script of the interpreter running this file, else of the repo's .venv."""
    for folder in (Path(sys.executable).parent, REPO / ".venv" / "bin"):
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if not found:
        sys.exit(f"bench: cannot find the '{name}' command; run with {REPO}/.venv/bin/python")
    return found


def ensure_weasyprint() -> None:
    """(a) renders in-process: re-run under the project's venv when WeasyPrint is missing."""
    try:
        import weasyprint  # noqa: F401
    except ImportError:
        venv_python = REPO / ".venv" / "bin" / "python"
        if venv_python.is_file() and Path(sys.executable).resolve() != venv_python.resolve():
            os.execv(str(venv_python), [str(venv_python), *sys.argv])
        sys.exit("bench: WeasyPrint is not importable; run with the project's .venv/bin/python")


def machine_facts(handouts: str, chromium: str | None) -> dict[str, Any]:
    import weasyprint

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_mb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_mb = round(int(line.split()[1]) / 1024)
                break
    except OSError:
        pass
    version = subprocess.run([handouts, "--version"], capture_output=True, text=True).stdout
    chromium_version = None
    if chromium:
        ran = subprocess.run([chromium, "--version"], capture_output=True, text=True)
        chromium_version = ran.stdout.strip() or None
    return {
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_mb": ram_mb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "weasyprint": weasyprint.__version__,
        "handouts": version.strip(),
        "chromium": chromium_version,
    }


# ---------------------------------------------------------------- running commands


@dataclass
class Ran:
    argv: list[str]
    code: int
    seconds: float
    stdout: str
    stderr: str
    max_rss_mb: float  # the largest single process among the command and its reaped children
    timed_out: bool = False
    hung: bool = False  # no new PDF for STALL_S seconds: killed


# Runs one command and reports on it. A child's ru_maxrss starts at the RSS of the process it
# was forked from (the kernel keeps the pre-exec high-water mark), so measured commands are
# started by this small launcher (python -S, ~10 MB) rather than by the bench process, which
# holds WeasyPrint and documents after (a). The launcher is a child subreaper: processes the
# command leaves behind (Chromium's zygotes and renderers are re-parented when the browser
# exits) come back to it, and it reaps them for a few seconds, so that their CPU time and RSS
# are counted with the command's rather than lost. It times the command itself.
LAUNCHER = r"""
import ctypes, json, os, resource, sys, time
report, out, err, *argv = sys.argv[1:]
try:
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
except Exception:
    pass
flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
actions = [
    (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
    (os.POSIX_SPAWN_OPEN, 1, out, flags, 0o644),
    (os.POSIX_SPAWN_OPEN, 2, err, flags, 0o644),
]
start = time.perf_counter()
pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions)
_, status, _ = os.wait4(pid, 0)
seconds = time.perf_counter() - start
left = 0
while time.perf_counter() - start < seconds + 5:
    try:
        if os.waitpid(-1, os.WNOHANG)[0] == 0:
            time.sleep(0.02)
    except ChildProcessError:
        break
else:
    left = 1
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(report, "w") as f:
    json.dump({"code": os.waitstatus_to_exitcode(status), "seconds": seconds,
               "max_rss_kb": usage.ru_maxrss, "cpu_s": usage.ru_utime + usage.ru_stime,
               "left_running": left}, f)
"""


def _count_pdfs(folder: Path) -> int:
    return sum(1 for _ in folder.rglob("*.pdf")) if folder.is_dir() else 0


def run(
    argv: list[str],
    *,
    timeout: float | None = None,
    watch: Path | None = None,
    stall: float = STALL_S,
) -> Ran:
    """Run a command, timed as a whole; peak RSS is wait4()'s: the largest single process
    among the command and the children it waited for. With ``watch``, a command that writes
    no new PDF there for ``stall`` seconds is considered hung and killed."""
    with tempfile.TemporaryDirectory(prefix="bench-run-") as folder:
        report, out, err = (Path(folder) / n for n in ("report.json", "out", "err"))
        launcher = [sys.executable, "-S", "-c", LAUNCHER, str(report), str(out), str(err)]
        start = time.perf_counter()
        proc = subprocess.Popen([*launcher, *argv], start_new_session=True)
        timed_out = hung = False
        seen, changed = -1, start
        while True:
            try:
                proc.wait(timeout=1.0)
                break
            except subprocess.TimeoutExpired:
                pass
            now = time.perf_counter()
            if watch is not None:
                count = _count_pdfs(watch)
                if count != seen:
                    seen, changed = count, now
                hung = now - changed > stall
            timed_out = bool(timeout) and now - start > timeout
            if hung or timed_out:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)  # the launcher's group: it and the command
                proc.wait()
                break
        elapsed = time.perf_counter() - start
        facts = json.loads(report.read_text()) if report.is_file() else {}
        return Ran(
            argv,
            facts.get("code", -9 if hung or timed_out else proc.returncode),
            facts.get("seconds", elapsed),
            out.read_text("utf-8", "replace") if out.is_file() else "",
            err.read_text("utf-8", "replace") if err.is_file() else "",
            facts.get("max_rss_kb", 0) / 1024,  # KiB on Linux
            timed_out,
            hung,
        )


def build_help(handouts: str) -> str:
    return run([handouts, "build", "--help"]).stdout


# ---------------------------------------------------------------- other load on the machine
# Other processes (other containers on the same VM included) can take CPU while a row is timed.
# /proc/stat counts every CPU tick; what this process and its children used is subtracted, the
# rest is "background": reported per row, and rows wait (a little) for a quiet machine.

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
CORES = os.cpu_count() or 1


def _stat() -> tuple[int, int] | None:
    """Busy (user, nice, system, irq, softirq) and steal ticks of all CPUs since boot."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return v[0] + v[1] + v[2] + v[5] + v[6], v[7]


def _own_cpu() -> float:
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class Meter:
    """Wall time, this process tree's CPU and everybody else's CPU over a block."""

    def __enter__(self) -> Meter:
        self.start, self.cpu, self.stat = time.perf_counter(), _own_cpu(), _stat()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.start
        self.own = _own_cpu() - self.cpu
        end = _stat()
        self.facts: dict[str, Any] = {"own_cpu_s": round(self.own, 2)}
        if self.stat and end:
            busy = (end[0] - self.stat[0]) / TICK
            background = max(0.0, busy - self.own)
            self.facts["background_cpu_s"] = round(background, 2)
            self.facts["background_share"] = round(background / (self.wall * CORES), 3)
            self.facts["steal_s"] = round((end[1] - self.stat[1]) / TICK, 2)


def wait_quiet(limit: float = 45.0, share: float = 0.10) -> None:
    """Wait (at most ``limit`` s) until other processes use under ``share`` of the CPUs."""
    waited = 0.0
    while waited < limit:
        with Meter() as m:
            time.sleep(1.0)
        if m.facts.get("background_share", 0.0) < share:
            break
        if waited == 0.0:
            log(f"  waiting for a quiet machine ({m.facts['background_share']:.0%} busy)")
        waited += m.wall
    if waited >= limit:
        log(f"  still busy after {limit:.0f} s; measuring anyway")


# ---------------------------------------------------------------- the generated project

PLACES = [
    "Riverside",
    "Harbour",
    "Summit",
    "Meadowbrook",
    "Lakeside",
    "Cedar Hill",
    "Northgate",
    "Willow Creek",
    "Granite Peak",
    "Bayview",
    "Oakridge",
    "Sunrise",
    "Maplewood",
    "Pinecrest",
    "Silverline",
    "Brookfield",
    "Highland",
    "Coastal",
    "Elm Street",
    "Westfield",
]
KINDS = [
    "Regenerative Medicine",
    "Wellness Clinic",
    "Health Partners",
    "Family Practice",
    "Orthopaedics",
    "Sports Medicine",
    "Integrative Health",
    "Medical Group",
]
STREETS = ["Main Street", "Oak Avenue", "River Road", "Quay Street", "Hill Lane", "Park Way"]


def _luminance(hex_color: str) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_on_white(hex_color: str) -> float:
    return 1.05 / (_luminance(hex_color) + 0.05)


def _colour(hue: float, saturation: float, min_contrast: float, lightness: float) -> str:
    """The lightest #RRGGBB of this hue (from ``lightness`` down) that meets the contrast."""
    while True:
        r, g, b = colorsys.hls_to_rgb(hue % 1.0, lightness, saturation)
        value = "#" + "".join(f"{round(c * 255):02X}" for c in (r, g, b))
        if contrast_on_white(value) >= min_contrast or lightness <= 0.05:
            return value
        lightness -= 0.01


def brand_colours(i: int) -> tuple[str, str]:
    """Primary (headings and text: >= 4.5:1 on white) and accent (decoration: >= 3:1)."""
    hue = (i * 0.618034) % 1.0
    primary = _colour(hue, 0.55 + 0.2 * ((i * 7) % 3) / 2, 4.5, 0.50)
    accent = _colour(hue + 0.42, 0.75, 3.0, 0.60)
    return primary, accent


def brand_logo(i: int, primary: str, accent: str) -> str:
    """A small plain SVG: one of six outlines, one of four white marks, the brand's colours.
    No DOCTYPE, <image>, <use>, <text>, href or url(). Always contains #FFFFFF (see
    change_logo)."""
    shapes = [
        f'<circle cx="32" cy="32" r="30" fill="{primary}"/>',
        f'<rect x="3" y="3" width="58" height="58" rx="12" fill="{primary}"/>',
        f'<polygon points="32,2 58,17 58,47 32,62 6,47 6,17" fill="{primary}"/>',
        f'<polygon points="32,1 63,32 32,63 1,32" fill="{primary}"/>',
        f'<path d="M32 2 L58 10 V30 C58 46 46 56 32 62 C18 56 6 46 6 30 V10 Z" fill="{primary}"/>',
        f'<polygon points="32,2 39,22 61,22 43,35 50,58 32,44 14,58 21,35 3,22 25,22" '
        f'fill="{primary}"/>',
    ]
    marks = [
        '<path d="M27 14 H37 V27 H50 V37 H37 V50 H27 V37 H14 V27 H27 Z" fill="#FFFFFF"/>',
        '<path d="M32 10 C45 18 47 33 32 46 C17 33 19 18 32 10 Z" fill="#FFFFFF"/>',
        '<path d="M12 36 C19 30 25 42 32 36 S45 30 52 36" fill="none" stroke="#FFFFFF" '
        'stroke-width="5" stroke-linecap="round"/>',
        '<circle cx="32" cy="32" r="13" fill="none" stroke="#FFFFFF" stroke-width="5"/>',
    ]
    dot_x = 20 + (i * 5) % 25
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">\n'
        f"  {shapes[i % len(shapes)]}\n"
        f"  {marks[(i // len(shapes)) % len(marks)]}\n"
        f'  <circle cx="{dot_x}" cy="54" r="4" fill="{accent}"/>\n'
        "</svg>\n"
    )


def brand_id(i: int) -> str:
    return f"clinic-{i + 1:03d}"


def brand_yaml(i: int, primary: str, accent: str) -> str:
    bid = brand_id(i)
    name = f"{PLACES[i % len(PLACES)]} {KINDS[(i // len(PLACES)) % len(KINDS)]}"
    if i >= len(PLACES) * len(KINDS):
        name += f" {i // (len(PLACES) * len(KINDS)) + 1}"
    paper = "letter" if i % 2 == 0 else "a4"
    return (
        f"id: {bid}\n"
        f'name: "{name}"\n'
        "logo: logo.svg\n"
        "colors:\n"
        f'  primary: "{primary}"\n'
        f'  accent: "{accent}"\n'
        "font: Atkinson Hyperlegible\n"
        f"paper: {paper}\n"
        "contact:\n"
        f'  phone: "(555) 01{i % 10}-{1000 + i:04d}"\n'
        f"  email: hello@{bid}.example\n"
        f"  website: https://{bid}.example\n"
        f"  booking_url: https://{bid}.example/book\n"
        f'  address: "{10 + i} {STREETS[i % len(STREETS)]}, Springfield, IL 62701"\n'
        "handouts: all\n"
        "languages: [en]\n"
        "layouts: [leaflet]\n"
    )


def generate_project(root: Path, brands: int) -> dict[str, Any]:
    (root / "content" / "handouts").mkdir(parents=True)
    shutil.copyfile(HANDOUT, root / "content" / "handouts" / HANDOUT.name)
    contrasts = []
    for i in range(brands):
        folder = root / "content" / "brands" / brand_id(i)
        folder.mkdir(parents=True)
        primary, accent = brand_colours(i)
        contrasts.append((contrast_on_white(primary), contrast_on_white(accent)))
        (folder / "brand.yaml").write_text(brand_yaml(i, primary, accent), encoding="utf-8")
        (folder / "logo.svg").write_text(brand_logo(i, primary, accent), encoding="utf-8")
    return {
        "brands": brands,
        "min_primary_contrast": round(min(c[0] for c in contrasts), 2),
        "min_accent_contrast": round(min(c[1] for c in contrasts), 2),
    }


def change_logo(root: Path, i: int) -> str:
    """Change one byte of brand i's logo: its white mark becomes #FFFFFE."""
    logo = root / "content" / "brands" / brand_id(i) / "logo.svg"
    text = logo.read_text(encoding="utf-8")
    assert "#FFFFFF" in text
    logo.write_text(text.replace("#FFFFFF", "#FFFFFE", 1), encoding="utf-8")
    return brand_id(i)


def pdf_output(i: int) -> str:
    return f"{brand_id(i)}/{HANDOUT_ID}.en.leaflet.pdf"


# ---------------------------------------------------------------- handouts runs


def snapshot(out: Path) -> dict[str, tuple[int, int, int]]:
    """Every PDF under ``out`` with (inode, mtime_ns, size): a rewrite changes the inode."""
    result = {}
    for path in out.rglob("*.pdf"):
        st = path.stat()
        result[path.relative_to(out).as_posix()] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return result


def parse_cli(text: str) -> dict[str, Any]:
    """Counts from the CLI's output: per-document lines and the closing summary line."""
    lines = text.splitlines()
    summary = next(
        (ln.strip() for ln in reversed(lines) if re.search(r"\d+\s+(built|failed)\b", ln)), None
    )
    built = [ln for ln in lines if re.match(r"\s*built\b", ln)]
    render = [float(m.group(1)) for ln in built if (m := re.search(r"([\d.]+) s\b", ln))]
    reasons: dict[str, int] = {}
    for ln in built:
        if m := re.search(r"; ([^;()]+)\)\s*$", ln):
            reasons[m.group(1)] = reasons.get(m.group(1), 0) + 1
    counts: dict[str, Any] = {
        "built_lines": len(built),
        "built_reasons": reasons,
        "render_s_mean": round(statistics.mean(render), 4) if render else None,
        "skipped_lines": sum(1 for ln in lines if re.match(r"\s*(skipped|up.to.date)\b", ln)),
        "summary": summary,
    }
    if summary:
        for word in ("built", "skipped", "failed", "up to date", "unchanged"):
            m = re.search(rf"(\d+)\s+{word}\b", summary)
            if m:
                counts[word.replace(" ", "_")] = int(m.group(1))
    return counts


def manifest_facts(out: Path) -> dict[str, Any] | None:
    path = out / "manifest.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return {"bytes": path.stat().st_size, "error": "not JSON"}
    documents = data.get("documents", data) if isinstance(data, dict) else data
    return {"bytes": path.stat().st_size, "documents": len(documents)}


def handouts_build(
    handouts: str, project: Path, out: Path, *, jobs: int, force: bool, extra: list[str] = ()
) -> tuple[Ran, dict[str, Any]]:
    argv = [handouts, "build", "-C", str(project), "--out", str(out), "--jobs", str(jobs)]
    argv += list(extra)
    if force:
        argv.append("--force")
    before = snapshot(out) if out.exists() else {}
    wait_quiet()
    with Meter() as meter:
        ran = run(argv, watch=out if "html" not in extra else None)
    after = snapshot(out) if out.exists() else {}
    rewritten = sorted(k for k, v in after.items() if before.get(k) != v)
    sizes = [v[2] for v in after.values()]
    row: dict[str, Any] = {
        "command": " ".join(Path(a).name if a == handouts else a for a in argv),
        "exit_code": ran.code,
        "wall_s": round(ran.seconds, 3),
        "max_rss_mb": round(ran.max_rss_mb, 1),
        "pdfs_on_disk": len(after),
        "pdfs_written": len(rewritten),
        "cli": parse_cli(ran.stdout + "\n" + ran.stderr),
        "manifest": manifest_facts(out),
        **meter.facts,
    }
    if sizes:
        row["pdf_bytes_mean"] = round(statistics.mean(sizes))
        row["pdf_bytes_max"] = max(sizes)
    if ran.hung:
        row["status"] = "hung"
        row["note"] = (
            f"no new PDF for {STALL_S:.0f} s after {len(after)} PDFs; killed after "
            f"{ran.seconds:.0f} s"
        )
        log(f"  HUNG: {row['note']}")
    if ran.code != 0:
        row["stderr_tail"] = ran.stderr.strip().splitlines()[-10:]
    row["_rewritten"] = rewritten
    return ran, row


def measured(step, limit: float = 0.15) -> dict[str, Any]:
    """Run a timed step; when other processes took more than ``limit`` of the CPUs during it,
    run it once more and keep the quieter of the two."""
    row = step()
    if row.get("background_share", 0.0) > limit:
        log(f"  other processes used {row['background_share']:.0%} of the CPUs: measuring again")
        again = step()
        if again.get("background_share", 1.0) < row["background_share"]:
            row = again
        row["measured_twice"] = True
    return row


def full_build(
    handouts: str, project: Path, out: Path, docs: int, jobs: int, force_ok: bool, label: str
) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    log(f"{label}: handouts build --jobs {jobs} --force, {docs} documents")
    _, row = handouts_build(handouts, project, out, jobs=jobs, force=force_ok)
    row["docs"] = docs
    row["per_doc_s"] = round(row["wall_s"] / docs, 4)
    row.pop("_rewritten")
    if row["exit_code"] != 0 or row["pdfs_on_disk"] != docs:
        log(f"  problem: exit {row['exit_code']}, {row['pdfs_on_disk']} PDFs of {docs}")
    return row


# ---------------------------------------------------------------- other renderers


def pdf_stats(paths: list[Path]) -> dict[str, Any]:
    sizes = [p.stat().st_size for p in paths if p.is_file()]
    if not sizes:
        return {"pdfs": 0}
    return {
        "pdfs": len(sizes),
        "pdf_bytes_mean": round(statistics.mean(sizes)),
        "pdf_bytes_max": max(sizes),
    }


def weasyprint_in_process(html_files: list[Path], out: Path) -> dict[str, Any]:
    from weasyprint import HTML

    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    HTML(filename=str(html_files[0])).write_pdf(out / "warm-up.pdf")
    warm = time.perf_counter() - start
    times, pdfs = [], []
    wait_quiet()
    with Meter() as meter:
        for i, html in enumerate(html_files):
            target = out / f"{i:04d}.pdf"
            start = time.perf_counter()
            HTML(filename=str(html)).write_pdf(target)
            times.append(time.perf_counter() - start)
            pdfs.append(target)
    return {
        "docs": len(html_files),
        "warm_up_s": round(warm, 3),
        "per_doc_s": round(statistics.mean(times), 4),
        "per_doc_median_s": round(statistics.median(times), 4),
        "per_doc_min_s": round(min(times), 4),
        "per_doc_max_s": round(max(times), 4),
        "total_s": round(sum(times), 3),
        "bench_process_max_rss_mb": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        ),
        **pdf_stats(pdfs),
        **meter.facts,
    }


def command_loop(
    name: str, make_argv, html_files: list[Path], out: Path, warm_up: bool
) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    warm = None
    if warm_up:
        ran = run(make_argv(html_files[0], out / "warm-up.pdf"), timeout=120)
        warm = round(ran.seconds, 3)
    pdfs, failures, rss = [], [], 0.0
    wait_quiet()
    with Meter() as meter:
        for i, html in enumerate(html_files):
            target = out / f"{i:04d}.pdf"
            ran = run(make_argv(html, target), timeout=120)
            rss = max(rss, ran.max_rss_mb)
            if ran.code != 0 or ran.timed_out or not target.is_file():
                failures.append(
                    {
                        "file": html.name,
                        "exit_code": ran.code,
                        "timed_out": ran.timed_out,
                        "stderr_tail": ran.stderr.strip().splitlines()[-3:],
                    }
                )
            pdfs.append(target)
    total = meter.wall
    row = {
        "docs": len(html_files),
        "total_s": round(total, 3),
        "per_doc_s": round(total / len(html_files), 4),
        "max_rss_mb": round(rss, 1),
        "failures": failures,
        **pdf_stats(pdfs),
        **meter.facts,
    }
    if warm is not None:
        row["warm_up_s"] = warm
    if failures:
        log(f"  {name}: {len(failures)} failures, e.g. {failures[0]}")
    return row


# ---------------------------------------------------------------- targets and report


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 3)


def target(name: str, value: Any, limit: str, met: bool | None, note: str = "") -> dict:
    return {"target": name, "value": value, "limit": limit, "met": met, "note": note}


def _rebuilt_note(row: dict[str, Any]) -> str:
    names = [p.split("/")[0] for p in row.get("rewritten") or []]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    why = ", ".join(f"{k}: {v}" for k, v in (row.get("cli", {}).get("built_reasons") or {}).items())
    return f"rebuilt {shown or 'nothing'}" + (f"; CLI reasons {why}" if why else "")


def evaluate(rows: dict[str, Any]) -> list[dict[str, Any]]:
    def per_doc(key: str) -> float | None:
        row = rows.get(key) or {}
        if row.get("status") == "skipped" or row.get("exit_code", 0) != 0 or row.get("failures"):
            return None  # a failed run has no meaningful time
        return row.get("per_doc_s")

    def wall(key: str) -> float | None:
        row = rows.get(key) or {}
        return row.get("wall_s") if row.get("exit_code", 1) == 0 else None

    def check(value: float | None, ok) -> bool | None:
        return None if value is None else bool(ok(value))

    out = []
    r = ratio(per_doc("d_handouts_jobs1"), per_doc("a_weasyprint_in_process"))
    out.append(
        target(
            "handouts --jobs 1 per doc vs WeasyPrint alone",
            r,
            f"<= {LIMIT_JOBS1_VS_WEASYPRINT}x",
            check(r, lambda v: v <= LIMIT_JOBS1_VS_WEASYPRINT),
        )
    )
    r = ratio(wall("n40_jobs1"), wall("n40_jobs2"))
    out.append(
        target(
            "--jobs 2 speed-up over --jobs 1 (40 docs)",
            r,
            f">= {LIMIT_JOBS2_SPEEDUP}x",
            check(r, lambda v: v >= LIMIT_JOBS2_SPEEDUP),
        )
    )
    alone = per_doc("a_weasyprint_in_process")
    r = ratio(per_doc("n40_jobs2"), alone / 2 if alone else None)
    out.append(
        target(
            "--jobs 2 s/doc (40 docs) vs WeasyPrint alone / 2",
            r,
            f"<= {LIMIT_JOBS2_VS_TWO_WEASYPRINT}x",
            check(r, lambda v: v <= LIMIT_JOBS2_VS_TWO_WEASYPRINT),
        )
    )
    candidates = [v for v in (per_doc("d_handouts_jobs1"), per_doc("e_handouts_jobs2")) if v]
    best = min(candidates) if candidates else None
    r = ratio(per_doc("b_weasyprint_cli_loop"), best)
    out.append(
        target(
            "handouts (best jobs) vs weasyprint command loop",
            r,
            f">= {LIMIT_VS_WEASYPRINT_LOOP}x faster",
            check(r, lambda v: v >= LIMIT_VS_WEASYPRINT_LOOP),
        )
    )
    if (rows.get("c_chromium") or {}).get("status") == "skipped":
        out.append(
            target(
                "handouts (best jobs) vs headless Chromium",
                "skipped",
                f">= {LIMIT_VS_CHROMIUM}x faster",
                None,
                "no chromium on PATH",
            )
        )
    else:
        r = ratio(per_doc("c_chromium"), best)
        out.append(
            target(
                "handouts (best jobs) vs headless Chromium",
                r,
                f">= {LIMIT_VS_CHROMIUM}x faster",
                check(r, lambda v: v >= LIMIT_VS_CHROMIUM),
            )
        )
    noop = rows.get("f_noop") or {}
    r = ratio(wall("f_noop"), wall("e_handouts_jobs2"))
    skipped_all = noop.get("pdfs_written") == 0
    out.append(
        target(
            "no-op rebuild / full build (--jobs 2)",
            r,
            f"<= {LIMIT_NOOP_SHARE:.0%}",
            check(r, lambda v: v <= LIMIT_NOOP_SHARE and skipped_all),
            "" if skipped_all or not noop else _rebuilt_note(noop),
        )
    )
    logo = rows.get("g_logo_change") or {}
    expected = logo.get("expected") or []
    exact = logo.get("rewritten") == logo.get("expected") and logo.get("cli_built") in (
        None,
        len(logo.get("expected") or []),
    )
    out.append(
        target(
            "logo change rebuilds exactly that brand's PDFs",
            f"{len(logo.get('rewritten') or [])} rebuilt",
            f"exactly {len(expected)} ({', '.join(p.split('/')[0] for p in expected)})",
            None if not logo or logo.get("exit_code") != 0 else exact,
            logo.get("note", "") or ("" if exact else _rebuilt_note(logo)),
        )
    )
    rss = [
        (k, rows[k]["max_rss_mb"])
        for k in ("d_handouts_jobs1", "e_handouts_jobs2", "n40_jobs1", "n40_jobs2", "n400_jobs2")
        if isinstance(rows.get(k), dict) and "max_rss_mb" in rows[k]
    ]
    peak = max(rss, key=lambda kv: kv[1]) if rss else None
    out.append(
        target(
            "peak RSS of one handouts process (MB)",
            peak[1] if peak else None,
            f"<= {LIMIT_RSS_MB:.0f} MB",
            check(peak[1] if peak else None, lambda v: v <= LIMIT_RSS_MB),
            f"largest in {peak[0]}" if peak else "",
        )
    )
    h = (rows.get("help") or {}).get("best_s")
    out.append(
        target(
            "handouts --help wall time (s)",
            h,
            f"<= {LIMIT_HELP_S} s",
            check(h, lambda v: v <= LIMIT_HELP_S),
        )
    )
    size = (rows.get("d_handouts_jobs1") or {}).get("pdf_bytes_max")
    out.append(
        target(
            "largest leaflet PDF with an SVG logo (KB)",
            round(size / KB, 1) if size else None,
            "<= 60 KB",
            check(size, lambda v: v <= LIMIT_PDF_BYTES),
        )
    )
    if (rows.get("n400_jobs2") or {}).get("status") == "skipped":
        out.append(
            target(
                "400 docs / 40 docs wall (--jobs 2)",
                "skipped",
                f"<= {LIMIT_LINEARITY}x",
                None,
                "--skip-400",
            )
        )
    elif (rows.get("n400_jobs2") or {}).get("status") == "hung":
        out.append(
            target(
                "400 docs / 40 docs wall (--jobs 2)",
                "hung",
                f"<= {LIMIT_LINEARITY}x",
                False,
                rows["n400_jobs2"]["note"],
            )
        )
    else:
        r = ratio(wall("n400_jobs2"), wall("n40_jobs2"))
        out.append(
            target(
                "400 docs / 40 docs wall (--jobs 2)",
                r,
                f"<= {LIMIT_LINEARITY}x",
                check(r, lambda v: v <= LIMIT_LINEARITY),
            )
        )
    return out


ROW_TITLES = [
    ("a_weasyprint_in_process", "(a) WeasyPrint alone, in-process, warm"),
    ("b_weasyprint_cli_loop", "(b) weasyprint command, sequential loop"),
    ("c_chromium", "(c) headless Chromium print-to-PDF loop"),
    ("d_handouts_jobs1", "(d) handouts build --jobs 1 --force"),
    ("e_handouts_jobs2", "(e) handouts build --jobs 2 --force"),
    ("f_noop", "(f) no-op rebuild (--jobs 2, no --force)"),
    ("g_logo_change", "(g) rebuild after one logo changed"),
    ("n40_jobs1", "40 docs, --jobs 1 --force"),
    ("n40_jobs2", "40 docs, --jobs 2 --force"),
    ("n400_jobs2", "400 docs, --jobs 2 --force"),
    ("help", "handouts --help (best of 5)"),
]


def _fmt(value: Any, spec: str) -> str:
    width = "".join(ch for ch in spec.split(".")[0] if ch.isdigit())
    return f"{'-':>{width}}" if value is None else format(value, spec)


def table(result: dict[str, Any]) -> str:
    rows = result["rows"]
    lines = [
        f"{'row':<44} {'docs':>5} {'wall s':>8} {'s/doc':>7} {'RSS MB':>7} "
        f"{'PDF KB mean':>11} {'PDF KB max':>10} {'bg CPU':>6}",
        "-" * 105,
    ]
    for key, title in ROW_TITLES:
        row = rows.get(key)
        if row is None:
            continue
        if row.get("status") == "skipped":
            lines.append(f"{title:<44} skipped ({row.get('reason', '')})")
            continue
        if row.get("status") == "hung":
            lines.append(f"{title:<44} HUNG: {row.get('note', '')}")
            continue
        if row.get("exit_code", 0) != 0 or row.get("failures"):
            lines.append(f"{title:<44} FAILED: see the JSON (exit {row.get('exit_code')})")
            continue
        wall = row.get("wall_s", row.get("total_s", row.get("best_s")))
        mean, peak = row.get("pdf_bytes_mean"), row.get("pdf_bytes_max")
        rss = row.get("max_rss_mb", row.get("bench_process_max_rss_mb"))
        lines.append(
            f"{title:<44} {_fmt(row.get('docs'), '>5')} {_fmt(wall, '>8.2f')} "
            f"{_fmt(row.get('per_doc_s'), '>7.3f')} {_fmt(rss, '>7.0f')} "
            f"{_fmt(mean / KB if mean else None, '>11.1f')} "
            f"{_fmt(peak / KB if peak else None, '>10.1f')} "
            f"{_fmt(row.get('background_share'), '>6.0%')}"
        )
    lines += ["", f"{'target':<52} {'value':>12} {'limit':>16}  result", "-" * 105]
    for t in result["targets"]:
        verdict = {True: "met", False: "NOT MET", None: "n/a"}[t["met"]]
        value = t["value"]
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        note = f"  ({t['note']})" if t["note"] else ""
        lines.append(f"{t['target']:<52} {shown:>12} {t['limit']:>16}  {verdict}{note}")
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def _shown(path: str) -> str:
    """A path relative to the repository when it is inside it (``.venv/bin/python``)."""
    try:
        return str(Path(path).relative_to(REPO))
    except ValueError:
        return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brands", type=int, default=20, help="brands (= documents); default 20")
    parser.add_argument("--out", type=Path, help="also write the JSON object to this file")
    parser.add_argument("--skip-400", action="store_true", help="skip the 400-document run")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    if args.brands < 2:
        parser.error("--brands must be at least 2")
    ensure_weasyprint()

    handouts = venv_bin("handouts")
    weasyprint_cmd = venv_bin("weasyprint")
    chromium = shutil.which("chromium")
    help_text = build_help(handouts)
    force_ok = "--force" in help_text
    if not force_ok:
        log("note: this handouts has no --force; full builds use fresh output folders only")

    n = args.brands
    tmp = Path(tempfile.mkdtemp(prefix="handouts-bench-"))
    log(f"working in {tmp}")
    result: dict[str, Any] = {
        "machine": machine_facts(handouts, chromium),
        "config": {
            "brands": n,
            "handout": HANDOUT.name,
            "layout": "leaflet",
            "skip_400": args.skip_400,
            "handouts_has_force": force_ok,
            "command": " ".join([_shown(sys.executable), "bench/run.py", *sys.argv[1:]]),
        },
        "rows": {},
    }
    rows = result["rows"]
    try:
        project = tmp / f"project-{n}"
        result["config"]["project"] = generate_project(project, n)

        # --help, best of 5
        times = [run([handouts, "--help"]).seconds for _ in range(5)]
        rows["help"] = {"best_s": round(min(times), 3), "all_s": [round(t, 3) for t in times]}

        # The intermediate HTML, shared by (a), (b) and (c).
        html_dir = tmp / "html"
        log(f"writing the intermediate HTML of {n} documents")
        ran, html_row = handouts_build(
            handouts, project, html_dir, jobs=2, force=force_ok, extra=["--format", "html"]
        )
        html_files = sorted(html_dir.glob(f"*/{HANDOUT_ID}.en.leaflet.html"))
        if ran.code != 0 or len(html_files) != n:
            raise SystemExit(
                f"bench: the HTML build failed (exit {ran.code}, {len(html_files)} of {n} files)"
                f"\n{ran.stderr}"
            )
        result["config"]["html_build_s"] = html_row["wall_s"]

        log("(a) WeasyPrint in-process")
        rows["a_weasyprint_in_process"] = measured(
            lambda: weasyprint_in_process(html_files, tmp / "pdf-a")
        )

        log("(b) weasyprint command loop")
        rows["b_weasyprint_cli_loop"] = measured(
            lambda: command_loop(
                "weasyprint",
                lambda html, pdf: [weasyprint_cmd, str(html), str(pdf)],
                html_files,
                tmp / "pdf-b",
                warm_up=False,
            )
        )

        if chromium:
            log("(c) headless Chromium loop")
            profile = tmp / "chromium-profile"

            def chromium_argv(html: Path, pdf: Path) -> list[str]:
                return [
                    chromium,
                    *CHROMIUM_FLAGS,
                    f"--user-data-dir={profile}",
                    "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf}",
                    html.resolve().as_uri(),
                ]

            rows["c_chromium"] = measured(
                lambda: command_loop(
                    "chromium", chromium_argv, html_files, tmp / "pdf-c", warm_up=True
                )
            )
        else:
            rows["c_chromium"] = {"status": "skipped", "reason": "no chromium on PATH"}

        rows["d_handouts_jobs1"] = measured(
            lambda: full_build(handouts, project, tmp / "out-jobs1", n, 1, force_ok, "(d)")
        )
        out2 = tmp / "out-jobs2"
        rows["e_handouts_jobs2"] = measured(
            lambda: full_build(handouts, project, out2, n, 2, force_ok, "(e)")
        )

        log("(f) no-op rebuild")
        _, row = handouts_build(handouts, project, out2, jobs=2, force=False)
        row["docs"] = n
        row["per_doc_s"] = round(row["wall_s"] / n, 4)
        row["rewritten"] = row.pop("_rewritten")
        rows["f_noop"] = row

        changed = n // 2
        log(f"(g) rebuild after changing {brand_id(changed)}/logo.svg")
        change_logo(project, changed)
        _, row = handouts_build(handouts, project, out2, jobs=2, force=False)
        row["rewritten"] = row.pop("_rewritten")
        row["expected"] = [pdf_output(changed)]
        row["docs"] = len(row["rewritten"])
        row["per_doc_s"] = round(row["wall_s"] / max(1, len(row["rewritten"])), 4)
        cli = row["cli"]
        row["cli_built"] = cli.get("built", cli.get("built_lines"))
        if row["cli_built"] != len(row["rewritten"]):
            row["note"] = (
                f"CLI says {row['cli_built']} built, {len(row['rewritten'])} PDFs rewritten"
            )
        rows["g_logo_change"] = row

        project40 = tmp / "project-40"
        generate_project(project40, 40)
        for jobs in (1, 2):
            rows[f"n40_jobs{jobs}"] = measured(
                lambda jobs=jobs: full_build(
                    handouts, project40, tmp / f"out40-jobs{jobs}", 40, jobs, force_ok, "40 docs"
                )
            )
        if args.skip_400:
            rows["n400_jobs2"] = {"status": "skipped", "reason": "--skip-400"}
        else:
            project400 = tmp / "project-400"
            generate_project(project400, 400)
            rows["n400_jobs2"] = full_build(
                handouts, project400, tmp / "out400-jobs2", 400, 2, force_ok, "400 docs"
            )
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    result["targets"] = evaluate(rows)
    result["config"]["bench_seconds"] = round(time.perf_counter() - T0, 1)
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    print()
    print(table(result))


if __name__ == "__main__":
    main()
