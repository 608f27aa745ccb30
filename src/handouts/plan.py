"""The build plan: one Job per (brand, handout, language, layout, format) the brands ask for,
each keyed by a SHA-256 of every input that can change its output, and one Blocked entry per
document that cannot be made because a file it depends on has errors."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath
from typing import Any

from . import __version__, formats, review
from .assets import font_families
from .errors import HandoutsError, Problem
from .files import read_file
from .models import LayoutSpec, did_you_mean
from .project import SETTINGS, Broken, LoadedBrand, LoadedHandout, Project

# Bump when the meaning of a key changes (e.g. a new input is hashed).
KEY_SCHEMA = 3
_MAX_INPUT = 64 * 1024 * 1024  # more than any font, logo or template may be


@dataclass(frozen=True)
class Job:
    brand: LoadedBrand
    handout: LoadedHandout
    layout: str
    template_dirs: tuple[Path, ...]
    font_dirs: tuple[Path, ...]
    fmt: str = "pdf"  # the name of an output format (formats.get)
    spec: LayoutSpec = field(default_factory=LayoutSpec)
    max_pages: int | None = None
    inputs: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    sources: tuple[str, ...] = field(default=(), compare=False, hash=False)
    # The handout's sign-off (review.DocumentStatus): DRAFT or not, an out-of-date translation.
    signoff: Any = field(default=None, compare=False, hash=False)

    @property
    def format(self) -> formats.Format:
        return formats.get(self.fmt)

    @property
    def print_ready(self) -> bool:
        return self.format.print_ready

    @property
    def label(self) -> str:
        """``brand/handout.lang.layout``: what the summary calls the document."""
        h = self.handout
        return names(self.brand.id, h.id, h.language, self.layout, self.format)[0]

    @property
    def output(self) -> PurePosixPath:
        """The document's path inside the output folder (unique within a plan)."""
        h = self.handout
        return PurePosixPath(names(self.brand.id, h.id, h.language, self.layout, self.format)[1])

    @property
    def key(self) -> str:
        digest = hashlib.sha256()
        for name, value in sorted(self.inputs.items()):
            digest.update(f"{name}={value}\n".encode())
        return digest.hexdigest()


def names(brand: str, handout: str, lang: str, layout: str, fmt: formats.Format) -> tuple[str, str]:
    """A document's label and its path in the output folder: ``brand/handout.lang.layout``
    plus the format's suffix (a format made once per language has no layout in its name)."""
    stem = f"{brand}/{handout}.{lang}" + (f".{layout}" if fmt.per_layout else "")
    return stem + (
        fmt.label_suffix or ("" if fmt.per_layout else f".{fmt.name}")
    ), stem + fmt.suffix


@dataclass(frozen=True)
class Blocked:
    """A document that is not made because a file it depends on has errors."""

    label: str
    output: str
    error: str


@dataclass(frozen=True)
class Plan:
    jobs: tuple[Job, ...]
    blocked: tuple[Blocked, ...] = ()

    def __len__(self) -> int:
        return len(self.jobs)

    def __iter__(self) -> Iterator[Job]:
        return iter(self.jobs)


@dataclass(frozen=True)
class Filters:
    brands: Sequence[str] = ()
    handouts: Sequence[str] = ()
    layouts: Sequence[str] = ()
    languages: Sequence[str] = ()
    print_ready: bool = False  # also build print-shop versions for every brand


# ---------------------------------------------------------------- input hashes


class _Hasher:
    """Content hashes (never mtimes), each file read once per plan."""

    def __init__(self) -> None:
        self._files: dict[Path, str] = {}
        self._trees: dict[tuple[tuple[Path, ...], frozenset[str]], str] = {}

    def file(self, path: Path, root: Path | None = None) -> str:
        """The SHA-256 of a file, read like every project file is (bounded, a regular file,
        inside ``root`` or its own folder); one that cannot be read hashes as such, so its
        document is never taken for up to date (the renderer then says what is wrong)."""
        if path not in self._files:
            try:
                data = read_file(path, limit=_MAX_INPUT, roots=(root or path.parent,))
                self._files[path] = hashlib.sha256(data).hexdigest()
            except HandoutsError:
                self._files[path] = "unreadable"
        return self._files[path]

    def files(self, paths: Iterable[Path], root: Path | None = None) -> str:
        digest = hashlib.sha256()
        for path in sorted(paths):
            name = path.relative_to(root).as_posix() if root else path.name
            digest.update(f"{name}\0{self.file(path, root)}\n".encode())
        return digest.hexdigest()

    def tree(self, folders: tuple[Path, ...], skip: frozenset[str] = frozenset()) -> str:
        """Every file of every folder, by relative path (an override changes the hash), but
        for the top-level folders named in ``skip``."""
        if (folders, skip) not in self._trees:
            digest = hashlib.sha256()
            for folder in folders:
                files = [
                    p
                    for p in folder.rglob("*")
                    if (p.is_file() or p.is_symlink())
                    and "__pycache__" not in p.parts
                    and p.relative_to(folder).parts[0] not in skip
                ]
                digest.update(f"{folder.name}:{self.files(files, folder)}\n".encode())
            self._trees[(folders, skip)] = digest.hexdigest()
        return self._trees[(folders, skip)]


@cache
def _versions() -> str:
    try:
        weasy = version("weasyprint")
    except PackageNotFoundError:  # pragma: no cover - weasyprint is a dependency
        weasy = "?"
    return f"handouts {__version__}; weasyprint {weasy}; key schema {KEY_SCHEMA}"


def _inputs(
    hasher: _Hasher,
    project: Project,
    brand: LoadedBrand,
    handout: LoadedHandout,
    layout: str,
    fmt: formats.Format,
    options: str,
    signoff: review.DocumentStatus,
) -> tuple[dict[str, str], tuple[str, ...]]:
    faces = font_families(project.font_dirs).get(brand.brand.font, ())
    brand_files = [brand.path, *([brand.logo] if brand.logo else [])]
    settings = project.root / SETTINGS
    inputs = {
        "content": hasher.file(handout.path),
        "brand": hasher.files(brand_files),
        "templates": hasher.tree(project.template_dirs, fmt.unused_templates),
        "fonts": hasher.files(f.path for f in faces),
        "settings": hasher.file(settings) if settings.is_file() else "none",
        "review": review.input_key(signoff),
        "tool": _versions(),
        "options": f"layout={layout}; {options}",
    }
    sources = [handout.path, *brand_files]
    return inputs, tuple(_relative(p, project.root) for p in sources)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


# ---------------------------------------------------------------- the plan


def _check_filter(values: Iterable[str], known: set[str], option: str) -> list[Problem]:
    problems = []
    for value in values:
        if value not in known:
            hint = did_you_mean(value, known) or "known: " + ", ".join(sorted(known))
            problems.append(Problem(f"--{option}", f"nothing is called '{value}'", hint=hint))
    return problems


def _max_pages(spec: LayoutSpec, handout_max: int | None, brand_max: int | None) -> int | None:
    """The layout's page limit, changed by the handout (a longer translation may need more),
    then lowered by the brand; a layout that grows has none, a folded one keeps its own."""
    if spec.max_pages is None:
        return None
    limit = spec.max_pages if spec.panels_per_page else handout_max or spec.max_pages
    return min(limit, brand_max) if brand_max else limit


def check_filters(project: Project, filters: Filters) -> None:
    """Raise HandoutsError for a filter value that names nothing (rather than build nothing);
    names of files with errors count, so that their documents are reported as failed."""
    brand_ids = {b.id for b in project.brands} | set(project.broken_of("brand"))
    languages = {h.language for h in project.handouts} | {
        b.language for b in project.broken if b.language
    }
    problems = (
        _check_filter(filters.brands, brand_ids, "brand")
        + _check_filter(filters.handouts, set(project.handout_ids(with_broken=True)), "handout")
        + _check_filter(filters.layouts, set(project.layouts), "layout")
        + _check_filter(filters.languages, languages, "lang")
    )
    if problems:
        raise HandoutsError(problems)


def make_plan(
    project: Project, filters: Filters = Filters(), fmt: str | Sequence[str] = "pdf"
) -> Plan:
    """Every document the brands ask for, narrowed by ``filters``, in each of the formats
    ``fmt`` (print-ready versions are added for brands that ask, or with the filter)."""
    check_filters(project, filters)
    names = [fmt] if isinstance(fmt, str) else list(fmt)
    wanted_formats = [formats.get(name) for name in names]
    jobs: list[Job] = []
    blocked: list[Blocked] = []
    hasher = _Hasher()
    planner = _Planner(project, filters)
    signoffs: dict[tuple[str, str], review.DocumentStatus] = {}
    for brand in project.brands:
        if not planner.wants("brands", brand.id):
            continue
        for fmt_obj in wanted_formats:
            chosen = [fmt_obj]
            if fmt_obj.name == "pdf" and (brand.brand.print_ready or filters.print_ready):
                chosen.append(formats.get("print"))
            for f in chosen:
                for doc in planner.documents(brand, f):
                    if isinstance(doc, Blocked):
                        blocked.append(doc)
                        continue
                    handout, layout = doc
                    spec = project.specs.get(layout, LayoutSpec())
                    max_pages = _max_pages(spec, handout.handout.max_pages, brand.brand.max_pages)
                    options = f"format={f.name}; max_pages={max_pages}"
                    key = (handout.id, handout.language)
                    if key not in signoffs:
                        signoffs[key] = review.status(project, handout)
                    inputs, sources = _inputs(
                        hasher, project, brand, handout, layout, f, options, signoffs[key]
                    )
                    jobs.append(
                        Job(
                            brand,
                            handout,
                            layout,
                            project.template_dirs,
                            project.font_dirs,
                            f.name,
                            spec,
                            max_pages,
                            inputs,
                            sources,
                            signoffs[key],
                        )
                    )
    blocked += planner.broken_brands()
    return Plan(tuple(jobs), tuple(blocked))


class _Planner:
    """Which documents one brand asks for, and which of them a broken file blocks."""

    def __init__(self, project: Project, filters: Filters) -> None:
        self.project = project
        self.filters = filters
        self.broken_handouts = project.broken_of("handout")
        self.broken_layouts = project.broken_of("layout")
        self.settings = project.broken_of("settings").get("settings")

    def wants(self, kind: str, value: str) -> bool:
        chosen = getattr(self.filters, kind)
        return not chosen or value in chosen

    def documents(
        self, brand: LoadedBrand, f: formats.Format
    ) -> Iterable[tuple[LoadedHandout, str] | Blocked]:
        b = brand.brand
        layouts = b.layouts if f.per_layout else [f.name]
        for i, hid in enumerate(self.project.wanted_by(brand)):
            if not self.wants("handouts", hid):
                continue
            versions = self.project.handout_versions(hid)
            for lang in b.languages:
                if not self.wants("languages", lang):
                    continue
                for layout in layouts:
                    if f.per_layout and not self.wants("layouts", layout):
                        continue
                    label, output = names(brand.id, hid, lang, layout, f)
                    broken = self._broken(brand, i, hid, lang, layout, versions)
                    if broken is not None:
                        yield Blocked(label, output, str(broken))
                    elif lang in versions:
                        yield versions[lang], layout

    def _broken(
        self,
        brand: LoadedBrand,
        index: int,
        hid: str,
        lang: str,
        layout: str,
        versions: dict[str, LoadedHandout],
    ) -> Problem | None:
        """Why a broken file stops this document, or None."""
        if self.settings:
            return _see_above(self.settings[0], "the project settings have errors")
        if lang not in versions:
            files = [b for b in self.broken_handouts.get(hid, ()) if b.language == lang]
            if files:
                if brand.brand.handouts == "all":
                    return _see_above(files[0], f"handout '{hid}' has errors")
                return brand.problem(
                    ("handouts", index),
                    f"handout '{hid}' has errors (see above)",
                    f"fix {files[0].display}; this document is then built too",
                )
            return None
        if layout in self.broken_layouts:
            return _see_above(self.broken_layouts[layout][0], f"layout '{layout}' has errors")
        return None

    def broken_brands(self) -> list[Blocked]:
        """One entry per brand file with errors: what it would have made is unknown."""
        return [
            Blocked(name, f"{name}/", str(_see_above(files[0], f"brand '{name}' has errors")))
            for name, files in self.project.broken_of("brand").items()
            if self.wants("brands", name)
        ]


def _see_above(broken: Broken, message: str) -> Problem:
    return Problem(
        broken.display,
        f"{message} (see above)",
        hint="fix them, then build again",
    )
