"""The build plan: one Job per (brand, handout, language, layout) a brand asks for, each keyed
by a SHA-256 of every input that can change its output."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath

from . import __version__
from .assets import font_families
from .errors import HandoutsError, Problem
from .models import LayoutSpec, did_you_mean
from .project import LoadedBrand, LoadedHandout, Project

# Bump when the meaning of a key changes (e.g. a new input is hashed).
KEY_SCHEMA = 1


@dataclass(frozen=True)
class Job:
    brand: LoadedBrand
    handout: LoadedHandout
    layout: str
    template_dirs: tuple[Path, ...]
    font_dirs: tuple[Path, ...]
    fmt: str = "pdf"
    spec: LayoutSpec = field(default_factory=LayoutSpec)
    max_pages: int | None = None
    print_ready: bool = False
    inputs: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    sources: tuple[str, ...] = field(default=(), compare=False, hash=False)

    @property
    def label(self) -> str:
        """``brand/handout.lang.layout``, also the output path without its suffix."""
        h = self.handout
        print_ready = ".print" if self.print_ready else ""
        return f"{self.brand.id}/{h.id}.{h.language}.{self.layout}{print_ready}"

    @property
    def output(self) -> PurePosixPath:
        return PurePosixPath(f"{self.label}.{self.fmt}")

    @property
    def key(self) -> str:
        digest = hashlib.sha256()
        for name, value in sorted(self.inputs.items()):
            digest.update(f"{name}={value}\n".encode())
        return digest.hexdigest()


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
        self._trees: dict[tuple[Path, ...], str] = {}

    def file(self, path: Path) -> str:
        if path not in self._files:
            self._files[path] = hashlib.sha256(path.read_bytes()).hexdigest()
        return self._files[path]

    def files(self, paths: Iterable[Path], root: Path | None = None) -> str:
        digest = hashlib.sha256()
        for path in sorted(paths):
            name = path.relative_to(root).as_posix() if root else path.name
            digest.update(f"{name}\0{self.file(path)}\n".encode())
        return digest.hexdigest()

    def tree(self, folders: tuple[Path, ...]) -> str:
        """Every file of every folder, by relative path: an override changes the hash."""
        if folders not in self._trees:
            digest = hashlib.sha256()
            for folder in folders:
                files = [
                    p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                ]
                digest.update(f"{folder.name}:{self.files(files, folder)}\n".encode())
            self._trees[folders] = digest.hexdigest()
        return self._trees[folders]


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
    options: str,
) -> tuple[dict[str, str], tuple[str, ...]]:
    faces = font_families(project.font_dirs).get(brand.brand.font, ())
    brand_files = [brand.path, *([brand.logo] if brand.logo else [])]
    inputs = {
        "content": hasher.file(handout.path),
        "brand": hasher.files(brand_files),
        "templates": hasher.tree(project.template_dirs),
        "fonts": hasher.files(f.path for f in faces),
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


def make_plan(project: Project, filters: Filters = Filters(), fmt: str = "pdf") -> list[Job]:
    """Every job the brands ask for, narrowed by ``filters``; an unknown filter value is an
    error rather than an empty build."""
    problems = (
        _check_filter(filters.brands, {b.id for b in project.brands}, "brand")
        + _check_filter(filters.handouts, {h.id for h in project.handouts}, "handout")
        + _check_filter(filters.layouts, set(project.layouts), "layout")
        + _check_filter(filters.languages, {h.language for h in project.handouts}, "lang")
    )
    if problems:
        raise HandoutsError(problems)
    jobs: list[Job] = []
    hasher = _Hasher()
    handout_ids = sorted({h.id for h in project.handouts})
    for brand in project.brands:
        b = brand.brand
        if filters.brands and brand.id not in filters.brands:
            continue
        wanted = handout_ids if b.handouts == "all" else list(b.handouts)
        for hid in wanted:
            if filters.handouts and hid not in filters.handouts:
                continue
            versions = project.handout_versions(hid)
            for lang in b.languages:
                if (filters.languages and lang not in filters.languages) or lang not in versions:
                    continue
                for layout in b.layouts:
                    if filters.layouts and layout not in filters.layouts:
                        continue
                    spec = project.specs[layout]
                    max_pages = _max_pages(spec, versions[lang].handout.max_pages, b.max_pages)
                    for print_ready in (
                        (False, True) if b.print_ready or filters.print_ready else (False,)
                    ):
                        options = f"format={fmt}; max_pages={max_pages}; print_ready={print_ready}"
                        inputs, sources = _inputs(
                            hasher, project, brand, versions[lang], layout, options
                        )
                        jobs.append(
                            Job(
                                brand,
                                versions[lang],
                                layout,
                                project.template_dirs,
                                project.font_dirs,
                                fmt,
                                spec,
                                max_pages,
                                print_ready,
                                inputs,
                                sources,
                            )
                        )
    return jobs
