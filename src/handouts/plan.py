"""The build plan: one Job per (brand, handout, language, layout) a brand asks for."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from .errors import HandoutsError, Problem
from .models import _did_you_mean
from .project import LoadedBrand, LoadedHandout, Project


@dataclass(frozen=True)
class Job:
    brand: LoadedBrand
    handout: LoadedHandout
    layout: str
    template_dirs: tuple
    font_dirs: tuple

    @property
    def label(self) -> str:
        """``brand/handout.lang.layout``, also the output path without its suffix."""
        h = self.handout
        return f"{self.brand.id}/{h.id}.{h.language}.{self.layout}"

    def output(self, suffix: str = "pdf") -> PurePosixPath:
        return PurePosixPath(f"{self.label}.{suffix}")


@dataclass(frozen=True)
class Filters:
    brands: Sequence[str] = ()
    handouts: Sequence[str] = ()
    layouts: Sequence[str] = ()
    languages: Sequence[str] = ()


def _check_filter(values: Iterable[str], known: set[str], option: str) -> list[Problem]:
    problems = []
    for value in values:
        if value not in known:
            hint = _did_you_mean(value, known) or "known: " + ", ".join(sorted(known))
            problems.append(Problem(f"--{option}", f"nothing is called '{value}'", hint=hint))
    return problems


def make_plan(project: Project, filters: Filters = Filters()) -> list[Job]:
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
                    jobs.append(
                        Job(brand, versions[lang], layout, project.template_dirs, project.font_dirs)
                    )
    return jobs
