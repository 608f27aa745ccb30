"""Starting points for editors: a new project, new handout and brand files, JSON Schemas.

Never overwrites anything: a target that exists is an error that says so.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path
from typing import Any

from .assets import builtin_dir
from .errors import HandoutsError, Problem
from .models import Brand, Handout
from .project import SETTINGS

SCHEMA_DIR = "schemas"
_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_MODELS = {"handout": Handout, "brand": Brand}
INIT_BRAND_NAME = "My Clinic"  # placeholder text: `handouts check` warns while it is left


def schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of a handout or brand file, with every field's description."""
    model = _MODELS[kind]
    result = model.model_json_schema(mode="validation")
    result["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    result["title"] = f"handouts {kind} file"
    return result


def write_schemas(project: Path) -> list[Path]:
    folder = project / SCHEMA_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in _MODELS:
        path = folder / f"{kind}.schema.json"
        path.write_text(json.dumps(schema(kind), indent=2, ensure_ascii=False) + "\n")
        written.append(path)
    return written


def _starter(name: str) -> str:
    return (builtin_dir("templates") / "scaffold" / name).read_text(encoding="utf-8")


def _check_id(kind: str, value: str) -> None:
    if not _ID.match(value):
        raise HandoutsError(
            Problem(
                value,
                f"'{value}' cannot be a {kind} id",
                hint="use lower-case letters, digits and dashes, like my-topic",
            )
        )


def _fill(text: str, **values: str) -> str:
    today = dt.date.today()
    values = {
        "TODAY": today.isoformat(),
        "NEXT_YEAR": today.replace(year=today.year + 1).isoformat()
        if not (today.month == 2 and today.day == 29)
        else today.replace(year=today.year + 1, day=28).isoformat(),
        **values,
    }
    for key, value in values.items():
        text = text.replace(f"__{key}__", value)
    return text


def _refuse_existing(path: Path, root: Path) -> None:
    if path.exists():
        raise HandoutsError(
            Problem(
                str(path.relative_to(root)) if path.is_relative_to(root) else str(path),
                "already exists; nothing was changed",
                hint="choose another id",
            )
        )


def _require_project(project: Path) -> None:
    if not (project / "content").is_dir():
        raise HandoutsError(
            Problem(
                str(project),
                "no content/ folder here; nothing was changed",
                hint="run the command inside a project, point at one with -C DIR, or start one "
                "with handouts init DIR",
            )
        )


def new_handout(project: Path, handout_id: str, title: str | None = None) -> Path:
    """Add ``content/handouts/<id>.yaml`` with a commented starter handout."""
    _check_id("handout", handout_id)
    _require_project(project)
    target = project / "content" / "handouts" / f"{handout_id}.yaml"
    _refuse_existing(target, project)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = _fill(
        _starter("handout.yaml"),
        TITLE=title or handout_id.replace("-", " ").capitalize(),
        ID=handout_id,
    )
    target.write_text(text, encoding="utf-8")
    return target


def new_brand(project: Path, brand_id: str, name: str | None = None) -> Path:
    """Add ``content/brands/<id>/`` with a commented brand.yaml and a placeholder logo."""
    _check_id("brand", brand_id)
    _require_project(project)
    folder = project / "content" / "brands" / brand_id
    _refuse_existing(folder, project)
    folder.mkdir(parents=True)
    text = _fill(_starter("brand.yaml"), NAME=name or brand_id.replace("-", " ").title())
    (folder / "brand.yaml").write_text(text, encoding="utf-8")
    shutil.copyfile(builtin_dir("templates") / "scaffold" / "logo.svg", folder / "logo.svg")
    return folder / "brand.yaml"


def init_project(target: Path) -> list[Path]:
    """A new, runnable project: one sample handout, one sample brand, schemas, a README."""
    if target.exists() and any(target.iterdir()):
        raise HandoutsError(
            Problem(
                str(target),
                "the folder is not empty; nothing was changed",
                hint="choose a new folder name, e.g. handouts init my-clinic-handouts",
            )
        )
    target.mkdir(parents=True, exist_ok=True)
    (target / "content").mkdir()
    created = [
        new_handout(target, "preparing-for-your-visit", "Preparing for your visit"),
        new_brand(target, "my-clinic", INIT_BRAND_NAME),
        *write_schemas(target),
    ]
    settings = target / SETTINGS
    settings.write_text(_starter("handouts.yaml"), encoding="utf-8")
    readme = target / "README.md"
    readme.write_text(_starter("README.md"), encoding="utf-8")
    (target / ".gitignore").write_text(_starter("gitignore"), encoding="utf-8")
    created += [settings, readme, target / ".gitignore"]
    return created
