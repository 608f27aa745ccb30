"""Editors' tools: init, new handout/brand, JSON Schemas, the gallery, the CLI reference."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from handouts.clidoc import reference, undocumented
from handouts.scaffold import schema

from conftest import REPO, run_cli


def _as_json(value):
    """YAML data as an editor's language server sees it (dates are strings)."""
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@pytest.mark.parametrize("kind", ["handout", "brand"])
def test_committed_schemas_match_the_models(kind: str) -> None:
    committed = json.loads((REPO / "schemas" / f"{kind}.schema.json").read_text())
    assert committed == schema(kind)
    ran = run_cli("schema", kind)
    assert json.loads(ran.stdout) == committed


def test_schemas_validate_the_examples_and_reject_a_typo() -> None:
    handout = jsonschema.Draft202012Validator(schema("handout"))
    brand = jsonschema.Draft202012Validator(schema("brand"))
    for path in sorted((REPO / "content/handouts").glob("*.yaml")):
        handout.validate(_as_json(yaml.safe_load(path.read_text())))
    for path in sorted((REPO / "content/brands").glob("*/brand.yaml")):
        brand.validate(_as_json(yaml.safe_load(path.read_text())))
    data = _as_json(yaml.safe_load((REPO / "content/handouts/exosome-therapy.yaml").read_text()))
    data["titel"] = data.pop("title")
    errors = sorted(handout.iter_errors(data), key=str)
    messages = [e.message for e in errors]
    assert any("'title' is a required property" in m for m in messages)
    assert any("'titel' was unexpected" in m for m in messages)
    field = schema("brand")["properties"]["paper"]
    assert field["description"] == "letter or a4."


def test_example_content_points_editors_at_the_schemas() -> None:
    for path in (REPO / "content").rglob("*.yaml"):
        first = path.read_text().splitlines()[0]
        match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
        assert match, path
        assert (path.parent / match.group(1)).resolve().is_file(), path


def test_init_then_build(tmp_path: Path) -> None:
    target = tmp_path / "clinic"
    ran = run_cli("init", str(target))
    assert ran.code == 0, ran
    assert (target / "schemas/handout.schema.json").is_file()
    assert (target / "README.md").read_text().startswith("# Our patient handouts")
    ran = run_cli("build", "-C", str(target), "-j", "1")
    assert ran.code == 0, ran
    assert "3 built, 0 skipped, 0 failed" in ran.stdout
    # the starter files are valid against their own schema, comments and all
    validator = jsonschema.Draft202012Validator(schema("handout"))
    sample = target / "content/handouts/preparing-for-your-visit.yaml"
    validator.validate(_as_json(yaml.safe_load(sample.read_text())))
    # init never touches a folder that has something in it
    ran = run_cli("init", str(target))
    assert ran.code == 1
    assert "the folder is not empty; nothing was changed" in ran.stderr


def test_new_handout_and_brand(tmp_path: Path) -> None:
    target = tmp_path / "clinic"
    assert run_cli("init", str(target)).code == 0
    ran = run_cli("new", "handout", "flu-shots", "--title", "Flu shots", "-C", str(target))
    assert ran.code == 0, ran
    text = (target / "content/handouts/flu-shots.yaml").read_text()
    assert "title: Flu shots" in text
    before = text
    ran = run_cli("new", "handout", "flu-shots", "-C", str(target))
    assert ran.code == 1
    assert ran.stderr == (
        "error: content/handouts/flu-shots.yaml: already exists; nothing was "
        "changed (choose another id)\n"
    )
    assert (target / "content/handouts/flu-shots.yaml").read_text() == before
    assert (
        run_cli("new", "brand", "east-side", "--name", "East Side Clinic", "-C", str(target)).code
        == 0
    )
    assert (target / "content/brands/east-side/logo.svg").is_file()
    ran = run_cli("new", "brand", "East Side", "-C", str(target))
    assert ran.code == 1
    assert "cannot be a brand id" in ran.stderr
    ran = run_cli("build", "-C", str(target), "-j", "2", "-q")
    assert ran.code == 0, ran
    assert len(list((target / "output").rglob("*.pdf"))) == 2 * 2 * 3


def test_gallery_lists_every_pdf_with_its_thumbnail(example_build: Path) -> None:
    html = (example_build / "index.html").read_text()
    pdfs = sorted(p.relative_to(example_build).as_posix() for p in example_build.rglob("*.pdf"))
    links = sorted(re.findall(r'<a href="([^"]+\.pdf)">', html))
    assert links == pdfs
    thumbnails = re.findall(r'<img src="([^"]+\.png)"', html)
    assert len(thumbnails) == len(pdfs)
    for name in thumbnails:
        assert (example_build / name).is_file()
        assert (example_build / name).read_bytes().startswith(b"\x89PNG")
    assert "Terapia con exosomas" in html
    assert "Harbour Wellness Clinic" in html


def test_cli_reference_is_complete_and_up_to_date() -> None:
    assert undocumented() == []
    assert (REPO / "docs/cli.md").read_text() == reference()
