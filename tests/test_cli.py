"""CLI layer: exact output and exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from handouts import __version__

from conftest import run_cli


def test_version() -> None:
    ran = run_cli("--version")
    assert (ran.code, ran.stdout) == (0, f"handouts {__version__}\n")


def test_help_does_not_import_weasyprint() -> None:
    code = (
        "import sys; from handouts.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('weasyprint' in sys.modules, 'pydantic' in sys.modules)"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "build" in ran.stdout
    assert ran.stdout.strip().endswith("False False")


def test_build_narrowed_by_brand_and_out(make_project, tmp_path: Path) -> None:
    root = make_project(
        {
            "content/brands/other/brand.yaml": "name: Other\ncolors:\n  primary: '#333333'\n",
        }
    )
    out = tmp_path / "elsewhere"
    ran = run_cli("build", "-C", str(root), "--out", str(out), "--brand", "other", "--jobs", "1")
    assert ran.code == 0, ran
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.pdf")) == [
        "other/sample.en.leaflet.pdf"
    ]
    assert ran.stdout.splitlines()[-1].startswith("1 built, 0 skipped, 0 failed in ")
    assert not (root / "output").exists()


def test_unknown_filter_value_is_an_error_with_a_hint(make_project) -> None:
    root = make_project()
    ran = run_cli("build", "-C", str(root), "--brand", "tset")
    assert ran.code == 1
    assert ran.stderr == "error: --brand: nothing is called 'tset' (did you mean 'test'?)\n"


def test_not_a_project(tmp_path: Path) -> None:
    ran = run_cli("build", "-C", str(tmp_path))
    assert ran.code == 1
    assert "no content/ folder here" in ran.stderr
    assert "Traceback" not in ran.stderr + ran.stdout


def test_bad_option_is_a_usage_error(make_project) -> None:
    ran = run_cli("build", "--format", "docx")
    assert ran.code == 2
    assert "Invalid value for '--format'" in ran.stderr


def test_failed_document_gives_exit_1_and_names_it(make_project) -> None:
    root = make_project({"templates/leaflet/page.html": "{{ nothing_here }}"})
    ran = run_cli("build", "-C", str(root), "--jobs", "1")
    assert ran.code == 1
    assert "FAILED  test/sample.en.leaflet.pdf" in ran.stderr
    assert "error: templates/leaflet/page.html:1: template error: 'nothing_here' is undefined" in (
        ran.stderr
    )
    assert "0 built, 0 skipped, 1 failed" in ran.stderr
    assert "Traceback" not in ran.stderr


def test_parallel_build_writes_the_same_files(make_project, tmp_path: Path) -> None:
    root = make_project(
        {
            "content/brands/two/brand.yaml": "name: Two\ncolors:\n  primary: '#333333'\n",
        }
    )
    one, two = tmp_path / "one", tmp_path / "two"
    assert run_cli("build", "-C", str(root), "--out", str(one), "-j", "1", "-q").code == 0
    assert run_cli("build", "-C", str(root), "--out", str(two), "-j", "2", "-q").code == 0
    names = sorted(p.relative_to(one) for p in one.rglob("*.pdf"))
    assert len(names) == 2
    for name in names:
        assert (one / name).read_bytes() == (two / name).read_bytes()
