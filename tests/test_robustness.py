"""One bad file, one hostile manifest, one signal or one runaway template must never stop a
clinic's batch, crash, hang or touch anything outside output/ (the batch side of the hostile
input tests; the file-reading side is in test_hostile.py)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from handouts import api, lock, workers
from handouts.workers import TimeLimitExceeded, time_limit

from conftest import BRAND, HANDOUT, LOGO_SVG, REPO, build_project, run_cli, stalled_brand

H = "content/handouts/sample.yaml"
B = "content/brands/test/brand.yaml"
OTHER = HANDOUT.replace("id: sample", "id: other").replace("Sample Handout", "Other Handout")


def _second_brand(name: str = "second", extra: str = "") -> dict[str, str]:
    return {
        f"content/brands/{name}/brand.yaml": BRAND.replace("Test Clinic", "Second Clinic") + extra,
        f"content/brands/{name}/logo.svg": LOGO_SVG,
    }


def _records(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())["documents"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- 1. isolation


@pytest.mark.parametrize(
    "broken",
    [
        HANDOUT.replace("questions:", "quesitons:"),
        HANDOUT.replace("Yes.", "Yes, see [here](javascript:alert(1))."),
    ],
    ids=["typo-in-a-key", "bad-link-in-an-answer"],
)
def test_a_broken_handout_stops_only_its_own_documents(make_project, broken) -> None:
    root = make_project({H: broken, "content/handouts/other.yaml": OTHER, **_second_brand()})
    ran = run_cli("build", "-C", str(root), "-j", "1")
    assert ran.code == 1, ran
    assert ran.stderr.startswith(f"error: {H}:")
    # Both brands still print the other handout; the broken one fails once per brand.
    out = root / "output"
    assert sorted(_records(out)) == ["second/other.en.leaflet.pdf", "test/other.en.leaflet.pdf"]
    assert (out / "test/other.en.leaflet.pdf").is_file()
    assert "FAILED  test/sample.en.leaflet.pdf" in ran.stderr
    assert "FAILED  second/sample.en.leaflet.pdf" in ran.stderr
    assert f"{H}: handout 'sample' has errors (see above)" in ran.stderr
    assert "2 built, 0 skipped, 2 failed" in ran.stderr
    gallery = (out / "index.html").read_text()
    assert "Other Handout" in gallery and "Sample Handout" not in gallery


def test_a_broken_translation_stops_only_that_language(make_project) -> None:
    spanish = HANDOUT.replace("language: en", "language: es").replace("title:", "titulo:")
    root = make_project(
        {
            "content/handouts/sample.es.yaml": spanish.replace("id: sample\n", ""),
            B: BRAND + "languages: [en, es]\n",
        }
    )
    ran = run_cli("build", "-C", str(root), "-j", "1")
    assert ran.code == 1, ran
    assert "content/handouts/sample.es.yaml:2:1 titulo: unknown key 'titulo'" in ran.stderr
    assert "FAILED  test/sample.es.leaflet.pdf" in ran.stderr
    assert sorted(_records(root / "output")) == ["test/sample.en.leaflet.pdf"]


def test_a_brand_listing_a_broken_handout_points_at_it_not_at_a_missing_id(make_project) -> None:
    root = make_project(
        {
            "content/handouts/prp-knee.yaml": OTHER.replace("id: other", "id: prp-knee").replace(
                "questions:", "quesitons:"
            ),
            B: BRAND + "handouts: [sample, prp-knee]\n",
        }
    )
    ran = run_cli("build", "-C", str(root), "-j", "1")
    assert ran.code == 1
    assert "no handout has the id" not in ran.stderr
    assert (
        f"{B}:12:20 handouts[2]: handout 'prp-knee' has errors (see above) "
        "(fix content/handouts/prp-knee.yaml; this document is then built too)"
    ) in ran.stderr
    assert (root / "output/test/sample.en.leaflet.pdf").is_file()


def test_a_broken_brand_stops_only_its_own_documents(make_project) -> None:
    second = _second_brand()
    brand = "content/brands/second/brand.yaml"
    second[brand] = second[brand].replace("paper: letter", "paper: tabloid")
    root = make_project(second)
    ran = run_cli("build", "-C", str(root), "-j", "1")
    assert ran.code == 1
    assert "content/brands/second/brand.yaml:6:8 paper: must be one of" in ran.stderr
    assert "FAILED  second/" in ran.stderr
    assert "1 built, 0 skipped, 1 failed" in ran.stderr
    assert sorted(_records(root / "output")) == ["test/sample.en.leaflet.pdf"]


def test_every_problem_in_a_handout_is_reported_at_once(make_project) -> None:
    text = HANDOUT.replace("    doi: 10.1000/xyz123\n", "    url: ftp://example.org/x\n").replace(
        "Yes.", "Yes, see [here](javascript:alert(1))."
    )
    ran = run_cli("check", "-C", str(make_project({H: text})))
    assert ran.code == 1
    assert f"{H}:22 questions[2].answer: the link 'javascript:alert(1)' is not allowed" in (
        ran.stderr
    )
    assert f"{H}:29:10 references[1].url: 'ftp://example.org/x' is not allowed" in ran.stderr


def test_every_problem_in_a_brand_is_reported_at_once(make_project) -> None:
    text = BRAND.replace('"#0B5E6B"', '"teal"').replace("logo: logo.svg", "logo: logo.png")
    ran = run_cli("check", "-C", str(make_project({B: text})))
    assert ran.code == 1
    assert f"{B}:2:7 logo: the logo file 'logo.png' does not exist" in ran.stderr
    assert f"{B}:4:12 colors.primary: must be a colour" in ran.stderr


# ---------------------------------------------------------------- 2. the manifest and --prune


@pytest.fixture
def built_twice(make_project, tmp_path: Path) -> tuple[Path, Path]:
    root = make_project(_second_brand())
    ran = run_cli("build", "-C", str(root), "-j", "1")
    assert ran.code == 0, ran
    return root, tmp_path


def test_prune_never_deletes_what_a_forged_manifest_names(built_twice) -> None:
    root, tmp_path = built_twice
    out = root / "output"
    victims = [tmp_path / "victim.txt", root / "content/handouts/sample.yaml"]
    (tmp_path / "victim.txt").write_text("keep me")
    records = _records(out)
    template = records["test/sample.en.leaflet.pdf"]
    for name in ("../../victim.txt", str(tmp_path / "victim.txt"), "../content/handouts/x"):
        records[name] = {**template, "sha256": _sha(victims[0])}
    records["test/sample.en.leaflet.pdf"]["files"] = {"../../victim.txt": _sha(victims[0])}
    (out / "manifest.json").write_text(json.dumps({"schema": 1, "documents": records}))
    for name in ("brand.yaml", "logo.svg"):
        (root / "content/brands/second" / name).unlink()
    ran = run_cli("build", "-C", str(root), "-j", "1", "--prune")
    assert ran.code == 0, ran
    assert all(v.exists() for v in victims)
    assert "removed second/sample.en.leaflet.pdf" in ran.stdout
    assert "which this tool did not write" in ran.stderr
    assert set(_records(out)) == {"test/sample.en.leaflet.pdf"}


def test_prune_keeps_a_file_a_person_replaced(built_twice) -> None:
    root, _ = built_twice
    pdf = root / "output/second/sample.en.leaflet.pdf"
    pdf.write_bytes(b"%PDF-1.7 edited by hand")
    for name in ("brand.yaml", "logo.svg"):
        (root / "content/brands/second" / name).unlink()
    ran = run_cli("build", "-C", str(root), "-j", "1", "--prune")
    assert ran.code == 0
    assert pdf.read_bytes() == b"%PDF-1.7 edited by hand"
    assert "kept    second/sample.en.leaflet.pdf  (changed since it was built" in ran.stderr
    assert "second/sample.en.leaflet.pdf" in _records(root / "output")


def test_a_damaged_manifest_is_kept_aside_and_everything_rebuilt(built_twice) -> None:
    root, _ = built_twice
    manifest = root / "output/manifest.json"
    manifest.write_text('{"schema": 1, "documents": {"test/sample')
    for args in ((), ("--force",)):
        ran = run_cli("build", "-C", str(root), "-j", "1", *args)
        assert ran.code == 0, ran
        assert "2 built" in ran.stdout
        assert "the build manifest was damaged" in ran.stderr
        assert len(_records(root / "output")) == 2
        manifest.write_text("[]")
    assert (root / "output/manifest.json.damaged-1").read_text().startswith('{"schema": 1')
    assert (root / "output/manifest.json.damaged-2").read_text() == "[]"


def test_a_record_of_the_wrong_shape_is_rebuilt_not_a_crash(built_twice) -> None:
    root, _ = built_twice
    out = root / "output"
    records = _records(out)
    records["test/sample.en.leaflet.pdf"] = ["not", "a", "record"]
    records["second/sample.en.leaflet.pdf"]["sha256"] = 12
    (out / "manifest.json").write_text(json.dumps({"schema": 1, "documents": records}))
    ran = run_cli("build", "-C", str(root), "-j", "1")
    assert ran.code == 0, ran
    assert "2 built, 0 skipped" in ran.stdout
    assert ran.stderr.count("which this tool did not write") == 2


def test_a_manifest_that_is_a_fifo_does_not_hang(make_project) -> None:
    root = make_project()
    (root / "output").mkdir()
    os.mkfifo(root / "output/manifest.json")
    ran = run_cli("build", "-C", str(root), "-j", "1")
    assert ran.code == 0, ran
    assert "not a regular file" in ran.stderr


# ---------------------------------------------------------------- 3. runaway templates


RUNAWAY_LOOP = (
    '{% extends "base/page.html" %}{% block header %}'
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    "{% endblock %}"
)


def test_the_time_limit_stops_a_template_that_never_ends(make_project) -> None:
    root = make_project({"templates/leaflet/page.html": RUNAWAY_LOOP})
    ran = run_cli("build", "-C", str(root), "-j", "1", "--timeout", "1")
    assert ran.code == 1
    assert "rendering took longer than 1 s and was stopped" in ran.stderr
    assert "template error" not in ran.stderr


def test_a_template_cannot_make_a_huge_string(make_project) -> None:
    page = '{% extends "base/page.html" %}{% block header %}{{ "a" * 100000000 }}{% endblock %}'
    root = make_project({"templates/leaflet/page.html": page})
    ran = run_cli("build", "-C", str(root), "-j", "1")
    assert ran.code == 1
    assert "templates/leaflet/page.html:1: template error: this multiplication would" in ran.stderr


def test_the_time_limit_is_not_swallowed_by_a_broad_except() -> None:
    stopped = False
    try:
        with time_limit(0.2):
            while True:
                with contextlib.suppress(Exception):  # what a library might do
                    time.sleep(0.01)
    except TimeLimitExceeded:
        stopped = True
    assert stopped


def test_a_time_limit_leaves_the_next_build_in_the_process_working(make_project) -> None:
    """An alarm during the first `import weasyprint` once left a half-imported module behind,
    and every later build in that process failed."""
    root = make_project()
    script = (
        "import sys\n"
        "from handouts import api\n"
        "p = api.open_project(sys.argv[1])\n"
        "r = api.build(p, api.BuildRequest(out=sys.argv[2], workers=1,"
        " limits=api.Limits(timeout=0.001)))\n"
        "assert r.results[0].status == 'failed', r.results\n"
        "assert 'took longer' in r.results[0].error, r.results[0].error\n"
        "r = api.build(p, api.BuildRequest(out=sys.argv[3], workers=1))\n"
        "assert r.results[0].status == 'built', r.results[0].error\n"
    )
    out = root.parent
    ran = subprocess.run(
        [sys.executable, "-c", script, str(root), str(out / "a"), str(out / "b")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr


def test_dask_refuses_a_time_limit_it_cannot_enforce(make_project) -> None:
    ran = run_cli(
        "build",
        "-C",
        str(make_project()),
        "--executor",
        "dask",
        "--scheduler",
        "tcp://127.0.0.1:9",
        "--timeout",
        "30",
    )
    assert ran.code == 2
    assert "--timeout cannot be enforced on Dask workers" in ran.stderr


# ---------------------------------------------------------------- 4. write failures


def test_a_file_size_limit_is_a_clear_error(make_project) -> None:
    root = make_project()

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    ran = subprocess.run(
        [sys.executable, "-m", "handouts", "build", "-C", str(root), "-j", "1"],
        capture_output=True,
        text=True,
        preexec_fn=small_files,
        timeout=300,
    )
    assert ran.returncode == 1, ran.stderr
    assert "(File too large)" in ran.stderr
    assert "bug" not in ran.stderr and "Traceback" not in ran.stderr
    assert not list((root / "output").rglob("*.pdf"))


# ---------------------------------------------------------------- 6. concurrency, signals


def test_a_second_build_waits_for_the_first_and_names_it(make_project) -> None:
    root = make_project()
    out = root / "output"
    with lock.output_lock(out):
        ran = run_cli("build", "-C", str(root), "--no-wait")
        assert ran.code == 1
        assert f"another build is writing to this folder (pid {os.getpid()} on" in ran.stderr
        proc = subprocess.Popen(
            [sys.executable, "-m", "handouts", "build", "-C", str(root), "-j", "1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        waiting = proc.stderr.readline()
        assert "waiting for another build to finish writing to" in waiting
        assert f"(pid {os.getpid()} on" in waiting
        assert proc.poll() is None
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert (out / "test/sample.en.leaflet.pdf").is_file()


def _live(pgid: int) -> list[int]:
    """Processes of a process group that are still running (zombies excluded)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def _wait_until(condition, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting after {seconds} s: {what}")
        time.sleep(0.1)


def _start_build(root: Path, tmp: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "handouts", "build", "-C", str(root), "-j", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp)},
        start_new_session=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("built"):
            break
    return proc


@pytest.fixture
def twelve(make_project, tmp_path: Path) -> tuple[Path, Path]:
    files: dict[str, str | None] = {B: None, "content/brands/test/logo.svg": None}
    for i in range(12):
        files.update(_second_brand(f"b{i:02d}"))
    files.update(stalled_brand())  # the build is still running when the test signals it
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    return make_project(files), tmp


def test_sigterm_stops_like_ctrl_c_and_leaves_nothing_behind(twelve) -> None:
    root, tmp = twelve
    proc = _start_build(root, tmp)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "stopped" in err and "Traceback" not in err
    records = _records(root / "output")
    assert 1 <= len(records) <= 12 and not any(n.startswith("stalled/") for n in records)
    for name, record in records.items():
        assert _sha(root / "output" / name) == record["sha256"]
    _wait_until(lambda: not _live(proc.pid), "the build's worker processes to end")
    assert list(tmp.iterdir()) == []


def test_cancel_stops_a_build_while_a_worker_is_busy_with_one_long_document(
    make_project,
) -> None:
    """The wait for results wakes by itself: a cancel set while no document is finishing (and
    likewise a Ctrl-C the kernel handed to another thread) stops the build at once, not when
    the long document ends. Before, the build waited for the stalled leaflet's time limit."""
    root = make_project(stalled_brand())
    project = api.open_project(root)
    cancel = threading.Event()
    timers: list[threading.Timer] = []

    class Progress:
        def start(self, total: int, todo: int) -> None:
            pass

        def result(self, result) -> None:
            # the 'test' leaflet is done; 'stalled' renders on: cancel while nothing finishes
            timers.append(threading.Timer(0.5, cancel.set))
            timers[-1].start()

    reports: list[api.Report] = []
    request = api.BuildRequest(workers=2, limits=api.Limits(timeout=900))
    thread = threading.Thread(
        target=lambda: reports.append(
            api.build(project, request, progress=Progress(), cancel=cancel)
        ),
        daemon=True,
    )
    thread.start()
    thread.join(300)
    assert not thread.is_alive(), "the build went on after it was cancelled"
    (report,) = reports
    assert report.interrupted
    assert [(r.output, r.status) for r in report.results] == [
        ("test/sample.en.leaflet.pdf", "built")
    ]


def test_workers_die_with_a_killed_build_and_the_next_build_cleans_up(twelve) -> None:
    root, tmp = twelve
    proc = _start_build(root, tmp)
    proc.kill()
    proc.communicate(timeout=60)
    _wait_until(lambda: not _live(proc.pid), "the orphaned workers to end")
    assert [p.name for p in tmp.iterdir() if p.name.startswith(lock.TEMP_PREFIX)]
    shutil.rmtree(root / "content/brands/stalled")  # the next build can then finish
    ran = subprocess.run(
        [sys.executable, "-m", "handouts", "build", "-C", str(root), "-j", "2", "-q"],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp)},
        timeout=600,
    )
    assert ran.returncode == 0, ran.stderr
    assert list(tmp.iterdir()) == []


@pytest.mark.parametrize("out", ["content/out", ".", "templates", ".."])
def test_an_output_folder_that_would_break_the_project_is_refused(make_project, out) -> None:
    root = make_project()
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    ran = run_cli("build", "-C", str(root), "--out", str(root / out))
    assert ran.code == 1
    assert "cannot build" in ran.stderr
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


def test_too_many_workers_are_capped_with_a_note(make_project) -> None:
    count, note = workers.worker_count(1000)
    cpus = len(os.sched_getaffinity(0))
    assert count == 2 * cpus
    assert f"using {count} workers rather than 1000" in note
    ran = run_cli("build", "-C", str(make_project()), "-j", "1000")
    assert ran.code == 0
    assert f"using {count} workers rather than 1000" in ran.stderr


# ---------------------------------------------------------------- the library front door


def test_open_project_reports_instead_of_raising(make_project) -> None:
    root = make_project({H: HANDOUT.replace("questions:", "quesitons:")})
    project = api.open_project(root)
    assert [b.name for b in project.broken] == ["sample"]
    assert project.problems and str(project.problems[0]).startswith(f"{H}:")
    plan = api.plan(project)
    assert plan.jobs == () and [b.output for b in plan.blocked] == ["test/sample.en.leaflet.pdf"]


def test_build_report_of_the_example_project_is_plain_data(tmp_path: Path) -> None:
    project = api.open_project(REPO)
    request = api.BuildRequest(
        api.Filters(brands=["riverside"], languages=["en"], layouts=["leaflet"]),
        out=tmp_path,
        workers=1,
    )
    assert [r.status for r in api.dry_run(project, request).results] == ["planned"]
    report = build_project(REPO, tmp_path, filters=request.filters)
    (result,) = report.results
    assert result.status == "built" and result.files is None and result.pages >= 1
    again = api.build(project, request)
    assert [r.status for r in again.results] == ["skipped"]
