"""A build that has nothing to do: right answer, without loading WeasyPrint (or, through the
shortcut, even the project)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from handouts import noop

from conftest import HANDOUT, run_cli

PROBE = """
import sys
from handouts.cli import main
try:
    main(["build", "-C", sys.argv[1], "-j", "1"])
except SystemExit as exc:
    code = exc.code
print("MODULES", " ".join(m for m in ("weasyprint", "pydantic", "handouts.models")
                          if m in sys.modules), "CODE", code)
"""


def _probe(root: Path) -> tuple[set[str], int, str]:
    ran = subprocess.run(
        [sys.executable, "-c", PROBE, str(root)], capture_output=True, text=True, timeout=300
    )
    line = next(x for x in ran.stdout.splitlines() if x.startswith("MODULES"))
    modules, code = line.removeprefix("MODULES").split("CODE")
    return set(modules.split()), int(code), ran.stdout


@pytest.fixture
def built(make_project) -> Path:
    root = make_project()
    assert run_cli("build", "-C", str(root), "-j", "1").code == 0
    return root


def test_the_shortcut_loads_nothing_heavy_and_says_up_to_date(built: Path) -> None:
    modules, code, stdout = _probe(built)
    assert code == 0
    assert modules == set()
    assert "skipped test/sample.en.leaflet.pdf  (up to date)" in stdout
    assert "reading grade" in stdout
    assert "0 built, 1 skipped, 0 failed" in stdout


def test_without_the_shortcut_a_no_op_still_never_imports_weasyprint(built: Path) -> None:
    (built / "output" / noop.NAME).unlink()
    modules, code, stdout = _probe(built)
    assert code == 0
    assert "weasyprint" not in modules and "pydantic" in modules
    assert "0 built, 1 skipped, 0 failed" in stdout


@pytest.mark.parametrize(
    "change",
    ["content", "output", "option", "template"],
)
def test_any_change_takes_the_full_path(built: Path, change: str) -> None:
    args: list[str] = []
    if change == "content":
        path = built / "content/handouts/sample.yaml"
        path.write_text(HANDOUT.replace("A short answer.", "A shorter answer."))
    elif change == "output":
        (built / "output/test/sample.en.leaflet.pdf").write_bytes(b"%PDF-1.7 other")
    elif change == "option":
        args = ["--print-ready"]
    else:
        css = built / "templates/leaflet/leaflet.css"
        css.parent.mkdir(parents=True)
        css.write_text("/* mine */")
    ran = run_cli("build", "-C", str(built), "-j", "1", *args)
    assert ran.code == 0, ran
    assert "1 built" in ran.stdout


def test_a_special_file_in_the_project_takes_the_full_path(built: Path) -> None:
    link = built / "content/brands/test/extra.svg"
    link.symlink_to(built / "content/brands/test/logo.svg")
    root = built.resolve()
    digest = noop.fingerprint(root, noop.project_folders(root), {})
    assert digest is None


def test_the_shortcut_ends_when_a_review_falls_due(built: Path) -> None:
    out = built / "output"
    state = json.loads((out / noop.NAME).read_text())
    assert state["valid_until"] == "2027-10-01"  # the sample's next_review
    digest = state["digest"]
    assert noop.load(out, digest, dt.date(2027, 9, 30)) is not None
    assert noop.load(out, digest, dt.date(2027, 10, 1)) is None


def test_a_forged_state_file_cannot_point_outside(built: Path, tmp_path: Path) -> None:
    out = built / "output"
    state = json.loads((out / noop.NAME).read_text())
    secret = tmp_path / "secret"
    secret.write_text("x")
    import hashlib

    state["outputs"] = {"../../secret": hashlib.sha256(b"x").hexdigest()}
    (out / noop.NAME).write_text(json.dumps(state))
    assert noop.load(out, state["digest"], dt.date(2026, 12, 1)) is None
