"""Packaging: the wheel carries the built-in templates and fonts, and works from any folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO, decode_qr_codes


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(dist),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (found,) = dist.glob("handouts-*.whl")
    return found


def test_wheel_contains_templates_fonts_and_licence(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "handouts/_data/templates/base/page.html",
        "handouts/_data/templates/base/parts.html",
        "handouts/_data/templates/base/base.css",
        "handouts/_data/templates/leaflet/page.html",
        "handouts/_data/templates/leaflet/leaflet.css",
        "handouts/_data/templates/leaflet/layout.yaml",
        "handouts/_data/templates/large-print/page.html",
        "handouts/_data/templates/trifold/trifold.css",
        "handouts/_data/fonts/AtkinsonHyperlegible-Regular.ttf",
        "handouts/_data/fonts/AtkinsonHyperlegible-Bold.ttf",
        "handouts/_data/fonts/AtkinsonHyperlegible-Italic.ttf",
        "handouts/_data/fonts/AtkinsonHyperlegible-BoldItalic.ttf",
        "handouts/_data/fonts/OFL.txt",
        "handouts/cli.py",
    ):
        assert name in names, name
    assert not [n for n in names if n.startswith("content/") or n.endswith(".pdf")]


def test_installed_wheel_builds_a_project_from_another_folder(wheel: Path, tmp_path: Path) -> None:
    """Unpack the wheel, run it from an unrelated folder with -C on a project that has only
    content/ (no templates/ or fonts/): the built-in ones must come from the wheel."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    project = tmp_path / "clinic"
    shutil.copytree(REPO / "content", project / "content")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = (
        "import handouts, sys; assert handouts.__file__.startswith(sys.argv[1]), "
        "handouts.__file__; from handouts.cli import main; "
        "main(['build', '-C', sys.argv[2], '--brand', 'harbour', '--layout', 'leaflet', "
        "'--lang', 'en', '-j', '1'])"
    )
    ran = subprocess.run(
        [sys.executable, "-c", code, str(site), str(project)],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 0, ran.stderr
    assert "1 built, 0 skipped, 0 failed" in ran.stdout
    pdf = project / "output" / "harbour" / "exosome-therapy.en.leaflet.pdf"
    assert "https://harbour.example/appointments" in decode_qr_codes(pdf.read_bytes())
    assert not list(elsewhere.iterdir())


def test_init_and_build_from_the_wheel(wheel: Path, tmp_path: Path) -> None:
    """handouts init /tmp/x && handouts build -C /tmp/x, from the unpacked wheel."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site)}
    target = tmp_path / "x"
    for args in (["init", str(target)], ["build", "-C", str(target), "-j", "1", "-q"]):
        code = (
            "import handouts, sys; assert handouts.__file__.startswith(sys.argv[1]); "
            "from handouts.cli import main; main(sys.argv[2:])"
        )
        ran = subprocess.run(
            [sys.executable, "-c", code, str(site), *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
        )
        assert ran.returncode == 0, ran.stderr
    assert len(list((target / "output").rglob("*.pdf"))) == 3
    assert (target / "output/index.html").is_file()
