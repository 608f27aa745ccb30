"""Which brands and layouts print a handout: what a handout's findings can block."""

from __future__ import annotations

from ..project import LoadedBrand, LoadedHandout, Project


def brands_for(project: Project, handout: LoadedHandout) -> list[LoadedBrand]:
    """The brands that print ``handout`` in its language."""
    return [
        b
        for b in project.brands
        if (b.brand.handouts == "all" or handout.id in b.brand.handouts)
        and handout.language in b.brand.languages
    ]


def layouts_for(project: Project, brands: list[LoadedBrand]) -> list[str]:
    """The layouts those brands use, in the project's order."""
    wanted = {layout for b in brands for layout in b.brand.layouts}
    return [name for name in project.layouts if name in wanted and name in project.specs]
