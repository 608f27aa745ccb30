"""manifest.py: the record of what each output was built from, read as untrusted data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from handouts import api, manifest
from handouts.results import Result


@pytest.fixture
def job(make_project):
    (job,) = api.plan(api.open_project(make_project()))
    return job


def _result(data: bytes = b"%PDF-1.7 test") -> Result:
    import hashlib

    return Result(
        "x", "test/sample.en.leaflet.pdf", "built", pages=1, bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(), files={"test/sample.en.leaflet.pdf": data},
    )  # fmt: skip


def test_an_absent_manifest_is_empty(tmp_path: Path) -> None:
    assert manifest.load(tmp_path).records == {}


def test_records_round_trip_and_say_why_a_job_is_rebuilt(job, tmp_path: Path) -> None:
    assert manifest.why_rebuild(job, None, tmp_path) == "new"
    record = manifest.record(job, _result(), "2026-12-01T00:00:00+00:00", {"grade": 3.0})
    manifest.save(tmp_path, {str(job.output): record})
    loaded = manifest.load(tmp_path)
    assert loaded.notes == [] and loaded.records[str(job.output)]["reading_grade"] == 3.0
    assert record["sources"] == [
        "content/handouts/sample.yaml",
        "content/brands/test/brand.yaml",
        "content/brands/test/logo.svg",
    ]
    assert manifest.why_rebuild(job, record, tmp_path) == "output missing"
    pdf = tmp_path / "test/sample.en.leaflet.pdf"
    pdf.parent.mkdir()
    pdf.write_bytes(b"%PDF-1.7 test")
    assert manifest.why_rebuild(job, record, tmp_path) is None
    pdf.write_bytes(b"%PDF-1.7 changed")
    assert manifest.why_rebuild(job, record, tmp_path) == "output changed on disk"
    older = {**record, "key": "0" * 64, "inputs": {**record["inputs"], "content": "old"}}
    assert manifest.why_rebuild(job, older, tmp_path) == "content changed"


@pytest.mark.parametrize(
    "name",
    ["../x.pdf", "/etc/passwd", "a/../../x.pdf", "a/b/c.pdf", "x.pdf", "a/.hidden", "", "a/"],
)
def test_only_plain_brand_file_paths_are_valid(tmp_path: Path, name: str) -> None:
    assert manifest.valid_output(tmp_path, name) is None


def test_a_path_through_a_symlink_out_is_not_valid(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "brand").symlink_to(tmp_path)
    assert manifest.valid_output(out, "brand/x.pdf") is None
    assert manifest.valid_output(out, "other/x.pdf") == out / "other/x.pdf"


def test_a_damaged_manifest_is_reported_and_kept(tmp_path: Path) -> None:
    (tmp_path / manifest.NAME).write_text("{oops")
    looked = manifest.load(tmp_path, repair=False)
    assert looked.records == {} and "is damaged" in looked.notes[0]
    assert (tmp_path / manifest.NAME).exists()
    repaired = manifest.load(tmp_path)
    assert "kept as manifest.json.damaged-1" in repaired.notes[0]
    assert (tmp_path / "manifest.json.damaged-1").read_text() == "{oops"
    assert not (tmp_path / manifest.NAME).exists()


def test_records_of_another_schema_are_ignored(tmp_path: Path) -> None:
    (tmp_path / manifest.NAME).write_text(json.dumps({"schema": 99, "documents": {"a/b.pdf": 1}}))
    assert manifest.load(tmp_path).records == {}


def test_thumbnail_names() -> None:
    assert manifest.thumbnail_name("riverside/x.en.leaflet.pdf") == (
        "gallery/riverside/x.en.leaflet.png"
    )
