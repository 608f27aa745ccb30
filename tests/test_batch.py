"""Batch builds: incremental keys, atomic writes, keep-going, limits, Ctrl-C, Dask."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from handouts import build as builder
from handouts import workers
from handouts.api import Limits
from handouts.files import write_atomic

from conftest import BRAND, HANDOUT, LOGO_SVG, build_project, run_cli, stalled_brand

NO_TEST_BRAND = {"content/brands/test/brand.yaml": None, "content/brands/test/logo.svg": None}


def _brands(n: int) -> dict[str, str]:
    files: dict[str, str] = {}
    for i in range(n):
        files[f"content/brands/b{i:02d}/brand.yaml"] = BRAND.replace("Test Clinic", f"Clinic {i}")
        files[f"content/brands/b{i:02d}/logo.svg"] = LOGO_SVG.replace('r="4"', f'r="{1 + i % 4}"')
    return files


def _build(root: Path, *args: str):
    return run_cli("build", "-C", str(root), "--jobs", "1", *args)


def _statuses(ran) -> dict[str, str]:
    found = {}
    for line in ran.stdout.splitlines():
        word, _, rest = line.partition(" ")
        if word in ("built", "skipped"):
            found[rest.split()[0]] = word
    return found


@pytest.fixture
def three(make_project) -> Path:
    return make_project({**NO_TEST_BRAND, **_brands(3)})


def test_incremental_keys(three: Path) -> None:
    first = _build(three)
    assert first.code == 0, first
    assert set(_statuses(first).values()) == {"built"}
    assert len(_statuses(first)) == 3

    # Touching files (new mtime, same bytes) changes nothing.
    for path in (three / "content").rglob("*"):
        os.utime(path, (time.time() + 60, time.time() + 60))
    again = _build(three)
    assert set(_statuses(again).values()) == {"skipped"}
    assert "0 built, 3 skipped, 0 failed" in again.stdout

    # One byte of one logo rebuilds exactly that brand.
    logo = three / "content/brands/b01/logo.svg"
    logo.write_text(logo.read_text().replace("#0B5E6B", "#0B5E6C"))
    dry = run_cli("build", "-C", str(three), "--dry-run")
    assert "planned  b01/sample.en.leaflet.pdf  (brand changed)" in dry.stdout
    assert dry.stdout.count("skipped ") == 2
    ran = _build(three)
    assert _statuses(ran) == {
        "b00/sample.en.leaflet.pdf": "skipped",
        "b01/sample.en.leaflet.pdf": "built",
        "b02/sample.en.leaflet.pdf": "skipped",
    }

    # A template change rebuilds everything, and says why.
    css = three / "templates/leaflet/leaflet.css"
    css.parent.mkdir(parents=True)
    css.write_text(
        (Path(builder.__file__).parents[2] / "templates/leaflet/leaflet.css").read_text()
        + "\n.qa h2 { letter-spacing: 0.01em; }\n"
    )
    dry = run_cli("build", "-C", str(three), "--dry-run")
    assert dry.stdout.count("(template changed)") == 3
    assert set(_statuses(_build(three)).values()) == {"built"}

    # A PDF changed on disk is rebuilt; --force rebuilds all.
    (three / "output/b02/sample.en.leaflet.pdf").write_bytes(b"%PDF-broken")
    assert _statuses(_build(three))["b02/sample.en.leaflet.pdf"] == "built"
    assert set(_statuses(_build(three, "--force")).values()) == {"built"}


def test_manifest_records_each_pdf(three: Path) -> None:
    assert _build(three).code == 0
    records = json.loads((three / "output/manifest.json").read_text())["documents"]
    assert sorted(records) == [f"b0{i}/sample.en.leaflet.pdf" for i in range(3)]
    record = records["b01/sample.en.leaflet.pdf"]
    pdf = (three / "output/b01/sample.en.leaflet.pdf").read_bytes()
    import hashlib

    assert record["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert record["bytes"] == len(pdf)
    assert record["pages"] == 1
    assert record["review_version"] == 2
    assert record["reviewed_on"] == "2026-10-01"
    assert record["sources"] == [
        "content/handouts/sample.yaml",
        "content/brands/b01/brand.yaml",
        "content/brands/b01/logo.svg",
    ]
    assert set(record["inputs"]) == {
        "content",
        "brand",
        "templates",
        "fonts",
        "review",
        "settings",
        "tool",
        "options",
    }


def test_removed_brand_is_reported_then_pruned(three: Path) -> None:
    assert _build(three).code == 0
    for name in ("brand.yaml", "logo.svg"):
        (three / "content/brands/b02" / name).unlink()
    ran = _build(three)
    assert ran.code == 0
    assert (
        "stale   b02/sample.en.leaflet.pdf  (no longer in the plan; --prune removes it)"
        in ran.stderr
    )
    assert (three / "output/b02/sample.en.leaflet.pdf").exists()
    ran = _build(three, "--prune")
    assert "removed b02/sample.en.leaflet.pdf" in ran.stdout
    assert not (three / "output/b02/sample.en.leaflet.pdf").exists()
    records = json.loads((three / "output/manifest.json").read_text())["documents"]
    assert "b02/sample.en.leaflet.pdf" not in records


def test_failed_render_keeps_the_previous_pdf_and_leaves_no_temp_file(three: Path) -> None:
    assert _build(three).code == 0
    before = (three / "output/b00/sample.en.leaflet.pdf").read_bytes()
    page = three / "templates/leaflet/page.html"
    page.parent.mkdir(parents=True)
    page.write_text('{% extends "base/page.html" %}{% block header %}{{ oops }}{% endblock %}')
    ran = _build(three)
    assert ran.code == 1
    assert (three / "output/b00/sample.en.leaflet.pdf").read_bytes() == before
    assert not [p for p in (three / "output").rglob("*") if p.name.endswith(".tmp")]


def test_write_atomic_keeps_the_old_file_when_writing_fails(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "a" / "doc.pdf"
    write_atomic(target, b"old")

    def crash(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError):
        write_atomic(target, b"new, half-written")
    assert target.read_bytes() == b"old"
    assert [p.name for p in target.parent.iterdir()] == ["doc.pdf"]


def test_one_failure_does_not_stop_the_others(make_project) -> None:
    long_url = "https://test.example/book?" + "x" * 3000
    root = make_project(
        {
            **_brands(2),
            "content/brands/test/brand.yaml": BRAND.replace("https://test.example/book", long_url),
        }
    )
    ran = run_cli("build", "-C", str(root), "--jobs", "2")
    assert ran.code == 1
    assert "FAILED  test/sample.en.leaflet.pdf" in ran.stderr
    assert (
        "error: content/brands/test/brand.yaml:10:16 contact.booking_url: the booking address: "
        "the address is too long for a QR code (3026 characters)"
    ) in ran.stderr  # found by the checks before rendering; the other brands still build
    assert "2 built, 0 skipped, 1 failed" in ran.stderr
    assert (root / "output/b00/sample.en.leaflet.pdf").is_file()
    assert (root / "output/b01/sample.en.leaflet.pdf").is_file()


def test_strict_counts_warnings(make_project) -> None:
    page = (
        '{% extends "base/page.html" %}{% block header %}<p style="color: nonsense">x</p>'
        "{% endblock %}"
    )
    root = make_project({"templates/leaflet/page.html": page})
    ran = run_cli("build", "-C", str(root), "-j", "1")
    assert ran.code == 0, ran
    assert "warning: test/sample.en.leaflet.pdf: Ignored `color: nonsense`" in ran.stderr
    ran = run_cli("build", "-C", str(root), "-j", "1", "--strict", "--force")
    assert ran.code == 1
    assert "1 document(s) had warnings (--strict counts them as failures)" in ran.stderr


def test_time_limit_and_page_cap(make_project, tmp_path: Path) -> None:
    many = "".join(
        f"  - question: Question number {i}?\n    answer: |\n      "
        + "A long answer that goes on. " * 30
        + "\n"
        for i in range(60)
    )
    root = make_project(
        {"content/handouts/sample.yaml": HANDOUT.replace("questions:\n", "questions:\n" + many, 1)}
    )
    report = build_project(root, tmp_path / "a", limits=Limits(timeout=0.05))
    (result,) = report.results
    assert result.status == "failed"
    assert "rendering took longer than 0.05 s and was stopped" in result.error
    report = build_project(root, tmp_path / "b", limits=Limits(page_cap=3))
    (result,) = report.results
    assert result.status == "failed"
    assert "pages; the limit is 3" in result.error
    assert not list((tmp_path / "b").rglob("*.pdf"))


def _signal_masks(status: str) -> dict[str, str]:
    """SIGINT's and SIGTERM's bits in a /proc status file's blocked, ignored and caught sets."""
    found = {}
    for line in Path(status).read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("SigBlk", "SigIgn", "SigCgt"):
            bits = int(value.strip(), 16)
            found[name] = f"INT={bits >> 1 & 1} TERM={bits >> 14 & 1}"
    return found


def test_ctrl_c_stops_cleanly(make_project) -> None:
    # 'stalled' keeps the build running until the signal, so it never ends first
    root = make_project({**NO_TEST_BRAND, **_brands(12), **stalled_brand()})
    proc = subprocess.Popen(
        [sys.executable, "-m", "handouts", "build", "-C", str(root), "-j", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as at a terminal: a test run started in the background (`make test &` in a
        # script) ignores SIGINT, and a child would inherit that and rightly build on.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("built"):
            break
    # what the build inherited: a blocked or ignored SIGINT would explain a build that goes on
    masks = {
        "build": _signal_masks(f"/proc/{proc.pid}/status"),
        "this test": _signal_masks(f"/proc/self/task/{threading.get_native_id()}/status"),
        "this test's SIGINT handler": str(signal.getsignal(signal.SIGINT)),
    }
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"the build did not stop after SIGINT: {masks}") from None
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (masks, err)
    assert "stopped" in err
    assert "Traceback" not in err
    records = json.loads((root / "output/manifest.json").read_text())["documents"]
    pdfs = sorted(
        p.relative_to(root / "output").as_posix() for p in (root / "output").rglob("*.pdf")
    )
    assert 1 <= len(records) <= 12 and not any(n.startswith("stalled/") for n in records)
    assert sorted(records) == pdfs
    import hashlib

    for name, record in records.items():
        assert hashlib.sha256((root / "output" / name).read_bytes()).hexdigest() == record["sha256"]
    assert not [p for p in (root / "output").rglob("*") if p.name.endswith(".tmp")]


def test_no_temporary_files_left_after_a_40_document_build(make_project, tmp_path: Path) -> None:
    root = make_project({**NO_TEST_BRAND, **_brands(40)})
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    ran = subprocess.run(
        [sys.executable, "-m", "handouts", "build", "-C", str(root), "-j", "2", "-q"],
        env={**os.environ, "TMPDIR": str(tmp)},
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 0, ran.stderr
    assert len(list((root / "output").rglob("*.pdf"))) == 40
    assert list(tmp.iterdir()) == []


def test_dask_local_cluster_gives_identical_pdfs(make_project, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    root = make_project(_brands(2))
    local = build_project(root, tmp_path / "local")
    assert local.ok()
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        ran = run_cli(
            "build",
            "-C",
            str(root),
            "--out",
            str(tmp_path / "dask"),
            "--executor",
            "dask",
            "--scheduler",
            cluster.scheduler_address,
        )
        assert ran.code == 0, ran
        del client
    for result in local.results:
        assert (tmp_path / "dask" / result.output).read_bytes() == (
            tmp_path / "local" / result.output
        ).read_bytes()


def test_check_errors_block_only_their_documents_and_grades_reach_the_manifest(
    make_project,
) -> None:
    root = make_project(
        {
            **_brands(1),
            "content/brands/pale/brand.yaml": BRAND.replace("#0B5E6B", "#9FD3E6"),
            "content/brands/pale/logo.svg": LOGO_SVG,
        }
    )
    ran = run_cli("build", "-C", str(root), "-j", "1")
    assert ran.code == 1
    assert "FAILED  pale/sample.en.leaflet.pdf" in ran.stderr
    assert "content/brands/pale/brand.yaml" in ran.stderr
    assert "the primary colour #9FD3E6 is too light for text" in ran.stderr
    assert "the nearest darker shade of the same hue that passes" in ran.stderr
    assert not (root / "output/pale").exists()
    assert "reading grade " in ran.stdout
    records = json.loads((root / "output/manifest.json").read_text())["documents"]
    assert sorted(records) == ["b00/sample.en.leaflet.pdf", "test/sample.en.leaflet.pdf"]
    reading = records["b00/sample.en.leaflet.pdf"]["readability"]
    assert reading["scale"] == "grade"
    assert 0 < reading["grade"] < 20
    assert records["b00/sample.en.leaflet.pdf"]["reading_grade"] == reading["grade"]


def test_workers_are_recycled_without_hanging(make_project, tmp_path: Path, monkeypatch) -> None:
    """More documents than one set of workers may render: fresh pools take over, none hangs
    (ProcessPoolExecutor's own max_tasks_per_child deadlocks on Python 3.11)."""
    monkeypatch.setattr(workers, "TASKS_PER_WORKER", 2)
    root = make_project({**NO_TEST_BRAND, **_brands(9)})
    report = build_project(root, tmp_path / "out", workers=2)
    assert report.count("built") == 9
    assert len(list((tmp_path / "out").rglob("*.pdf"))) == 9
