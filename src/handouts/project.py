"""A project on disk: its handouts, brands, templates and fonts, loaded and cross-checked.

Every problem in every file is collected before anything is raised, so an editor sees the
whole list at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from . import markup
from .assets import builtin_dir, font_families, image_problem
from .errors import HandoutsError, Problem
from .models import Brand, Handout, LayoutSpec, Settings, did_you_mean, parse
from .yamlio import Document, KeyPath, Mark, format_key, load_yaml

T = TypeVar("T")

SETTINGS = "handouts.yaml"  # optional project settings at the project's root


def _located(
    display: str, marks: dict[KeyPath, Mark], key: KeyPath, message: str, hint: str
) -> Problem:
    """A Problem at ``key`` (or its nearest located ancestor), for errors found after loading."""
    probe = key
    while probe and probe not in marks:
        probe = probe[:-1]
    mark = marks.get(probe)
    return Problem(
        display,
        message,
        mark.line if mark else None,
        mark.col if mark else None,
        format_key(key),
        hint,
    )


@dataclass(frozen=True)
class LoadedHandout:
    handout: Handout
    path: Path
    display: str
    marks: dict[KeyPath, Mark]

    @property
    def id(self) -> str:
        assert self.handout.id
        return self.handout.id

    @property
    def language(self) -> str:
        assert self.handout.language
        return self.handout.language

    def problem(self, key: KeyPath, message: str, hint: str = "") -> Problem:
        return _located(self.display, self.marks, key, message, hint)


@dataclass(frozen=True)
class LoadedBrand:
    brand: Brand
    path: Path
    display: str
    folder: Path
    logo: Path | None
    marks: dict[KeyPath, Mark]

    def problem(self, key: KeyPath, message: str, hint: str = "") -> Problem:
        return _located(self.display, self.marks, key, message, hint)

    @property
    def id(self) -> str:
        assert self.brand.id
        return self.brand.id


@dataclass(frozen=True)
class Project:
    root: Path
    handouts: tuple[LoadedHandout, ...]
    brands: tuple[LoadedBrand, ...]
    template_dirs: tuple[Path, ...]
    font_dirs: tuple[Path, ...]
    layouts: tuple[str, ...]
    specs: dict[str, LayoutSpec]
    settings: Settings = field(default_factory=Settings)

    def handout_versions(self, handout_id: str) -> dict[str, LoadedHandout]:
        return {h.language: h for h in self.handouts if h.id == handout_id}


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _layouts(template_dirs: Iterable[Path]) -> tuple[str, ...]:
    names = {p.parent.name for d in template_dirs for p in d.glob("*/page.html")}
    names.discard("base")
    return tuple(sorted(names))


def _load_specs(
    template_dirs: tuple[Path, ...], layouts: tuple[str, ...], root: Path, problems: list[Problem]
) -> dict[str, LayoutSpec]:
    """Each layout's layout.yaml (the project's own first), or the defaults."""
    specs: dict[str, LayoutSpec] = {}
    for name in layouts:
        path = next(
            (
                d / name / "layout.yaml"
                for d in template_dirs
                if (d / name / "layout.yaml").is_file()
            ),
            None,
        )
        try:
            specs[name] = (
                parse(LayoutSpec, load_yaml(path, _display(path, root))) if path else LayoutSpec()
            )
        except HandoutsError as exc:
            problems.extend(exc.problems)
    return specs


def load_project(root: Path | str) -> Project:
    """Load and cross-check everything under ``root``; raise HandoutsError on any problem."""
    root = Path(root).resolve()
    content = root / "content"
    if not root.is_dir():
        raise HandoutsError(
            Problem(str(root), "this folder does not exist", hint="check the path given with -C")
        )
    if not content.is_dir():
        raise HandoutsError(
            Problem(
                _display(root, Path.cwd()),
                "no content/ folder here",
                hint="run the command inside a handouts project, or point at one with -C DIR",
            )
        )
    template_dirs = tuple(d for d in (root / "templates", builtin_dir("templates")) if d.is_dir())
    font_dirs = tuple(d for d in (root / "fonts", builtin_dir("fonts")) if d.is_dir())
    layouts = _layouts(template_dirs)
    problems: list[Problem] = []
    specs = _load_specs(template_dirs, layouts, root, problems)
    settings = Settings()
    if (root / SETTINGS).is_file():
        try:
            settings = parse(Settings, load_yaml(root / SETTINGS, SETTINGS))
        except HandoutsError as exc:
            problems.extend(exc.problems)

    handout_files = sorted((content / "handouts").glob("*.yaml")) + sorted(
        (content / "handouts").glob("*.yml")
    )
    handouts = _collect(handout_files, lambda p: _load_handout(p, root), problems)
    ids = {h.id for h in handouts}
    seen: dict[tuple[str, str], LoadedHandout] = {}
    for h in handouts:
        other = seen.setdefault((h.id, h.language), h)
        if other is not h:
            problems.append(
                Problem(
                    h.display,
                    f"handout '{h.id}' in language '{h.language}' is "
                    f"also defined in {other.display}",
                    1,
                    1,
                    "id",
                    "give one of them another id or language",
                )
            )

    brand_files = sorted((content / "brands").glob("*/brand.yaml"))
    for folder in sorted(p for p in (content / "brands").glob("*") if p.is_dir()):
        if not (folder / "brand.yaml").is_file() and any(folder.iterdir()):
            problems.append(
                Problem(
                    _display(folder, root),
                    "this brand folder has no brand.yaml",
                    hint="add one (handouts new brand writes a starter), rename brand.yml to "
                    "brand.yaml, or remove the folder",
                )
            )
    families = font_families(font_dirs)
    brands = _collect(
        brand_files, lambda p: _load_brand(p, root, ids, layouts, tuple(families)), problems
    )
    seen_brands: dict[str, LoadedBrand] = {}
    for b in brands:
        other_brand = seen_brands.setdefault(b.id, b)
        if other_brand is not b:
            problems.append(
                Problem(
                    b.display,
                    f"brand id '{b.id}' is also used by {other_brand.display}",
                    1,
                    1,
                    "id",
                    "use a unique id",
                )
            )
    if problems:
        raise HandoutsError(problems)
    if not handouts:
        raise HandoutsError(
            Problem(
                _display(content / "handouts", root),
                "no handouts found",
                hint="add a file such as content/handouts/my-topic.yaml",
            )
        )
    if not brands:
        raise HandoutsError(
            Problem(
                _display(content / "brands", root),
                "no brands found",
                hint="add a folder such as content/brands/my-clinic/ with a brand.yaml",
            )
        )
    return Project(
        root, tuple(handouts), tuple(brands), template_dirs, font_dirs, layouts, specs, settings
    )


def _collect(paths: list[Path], load: Callable[[Path], T], problems: list[Problem]) -> list[T]:
    loaded: list[T] = []
    for path in paths:
        try:
            loaded.append(load(path))
        except HandoutsError as exc:
            problems.extend(exc.problems)
    return loaded


# ---------------------------------------------------------------- handouts


def _load_handout(path: Path, root: Path) -> LoadedHandout:
    doc = load_yaml(path, _display(path, root))
    stem, _, lang = path.stem.partition(".")
    defaults: dict[str, Any] = {"id": stem, "language": lang or "en"}
    handout: Handout = _parse_with_defaults(Handout, doc, defaults, "file")
    problems = _check_handout(handout, doc, lang)
    if problems:
        raise HandoutsError(problems)
    return LoadedHandout(handout, path, doc.display, doc.values)


def _parse_with_defaults(model: Any, doc: Document, defaults: dict[str, Any], source: str) -> Any:
    """Validate with values taken from the file or folder name; a bad one is blamed on the
    name, with a hint to rename, not on an unrelated line of the file."""
    try:
        return parse(model, doc, defaults)
    except HandoutsError as exc:
        problems = []
        for p in exc.problems:
            if p.key in defaults and p.key not in doc.data:
                p = Problem(
                    doc.display,
                    f"the {source} name gives the {p.key} '{defaults[p.key]}', which {p.message}",
                    hint=f"rename the {source} using lower-case words and dashes, "
                    f"or set `{p.key}:` in the file",
                )
            problems.append(p)
        raise HandoutsError(problems) from None


def _check_handout(h: Handout, doc: Document, lang_from_name: str) -> list[Problem]:
    problems: list[Problem] = []
    if lang_from_name and h.language != lang_from_name:
        problems.append(
            doc.problem(
                ("language",),
                f"the file name says '{lang_from_name}' but the file says '{h.language}'",
                "make them agree",
            )
        )
    ref_ids: set[str] = set()
    for i, ref in enumerate(h.references):
        if ref.id in ref_ids:
            problems.append(
                doc.problem(
                    ("references", i, "id"),
                    f"reference id '{ref.id}' is used twice",
                    "give each reference its own id",
                )
            )
        ref_ids.add(ref.id)
    cited: list[tuple[KeyPath, list[str]]] = [
        (("notices", i, "sources"), n.sources) for i, n in enumerate(h.notices)
    ] + [(("questions", i, "sources"), q.sources) for i, q in enumerate(h.questions)]
    for key, sources in cited:
        for j, source in enumerate(sources):
            if source not in ref_ids:
                hint = did_you_mean(source, ref_ids) or "add it under `references:`"
                problems.append(doc.problem((*key, j), f"no reference has the id '{source}'", hint))
    texts: list[tuple[KeyPath, str]] = [
        (("notices", i, "text"), n.text) for i, n in enumerate(h.notices)
    ] + [(("questions", i, "answer"), q.answer) for i, q in enumerate(h.questions)]
    if h.closing and h.closing.text:
        texts.append((("closing", "text"), h.closing.text))
    for key, text in texts:
        mark = doc.mark(key)
        for issue in markup.check(text):
            line = mark.line + issue.line + (1 if mark.block else 0)
            problems.append(
                Problem(doc.display, issue.message, line, None, format_key(key), issue.hint)
            )
    return problems


# ---------------------------------------------------------------- brands


def _load_brand(
    path: Path,
    root: Path,
    handout_ids: set[str],
    layouts: tuple[str, ...],
    families: tuple[str, ...],
) -> LoadedBrand:
    doc = load_yaml(path, _display(path, root))
    folder = path.parent
    brand: Brand = _parse_with_defaults(Brand, doc, {"id": folder.name}, "folder")
    problems: list[Problem] = []
    logo: Path | None = None
    if brand.logo:
        logo, problem = _resolve_logo(brand.logo, folder, Path(doc.display).parent)
        if problem:
            problems.append(doc.problem(("logo",), problem[0], problem[1]))
    if brand.font not in families:
        hint = did_you_mean(brand.font, families) or "available: " + ", ".join(families)
        problems.append(doc.problem(("font",), f"font '{brand.font}' is not in fonts/", hint))
    for i, layout in enumerate(brand.layouts):
        if layout not in layouts:
            hint = did_you_mean(layout, layouts) or "available: " + ", ".join(layouts)
            problems.append(doc.problem(("layouts", i), f"unknown layout '{layout}'", hint))
    if isinstance(brand.handouts, list):
        for i, hid in enumerate(brand.handouts):
            if hid not in handout_ids:
                hint = did_you_mean(hid, handout_ids) or "check content/handouts/"
                problems.append(
                    doc.problem(("handouts", i), f"no handout has the id '{hid}'", hint)
                )
    if problems:
        raise HandoutsError(problems)
    return LoadedBrand(brand, path, doc.display, folder.resolve(), logo, doc.values)


def _resolve_logo(
    name: str, folder: Path, shown: Path
) -> tuple[Path | None, tuple[str, str] | None]:
    real_folder = Path(os.path.realpath(folder))
    candidate = Path(os.path.realpath(folder / name))
    if Path(name).is_absolute() or not candidate.is_relative_to(real_folder):
        return None, (
            f"the logo '{name}' is outside the brand's folder",
            "put the logo file next to brand.yaml and give just its name",
        )
    if not os.path.exists(candidate):  # a FIFO exists: image_problem says what it is
        return None, (
            f"the logo file '{name}' does not exist",
            f"put it in {shown.as_posix()}/ or fix the name",
        )
    if problem := image_problem(candidate):
        hint = (
            "save it smaller: about 1500 pixels across is plenty"
            if "too large" in problem or "pixels" in problem
            else "export the logo again as a plain SVG or PNG"
        )
        return None, (f"the logo '{name}' {problem}", hint)
    return candidate, None
