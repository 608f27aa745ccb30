"""The shape every check has: a function taking one ``CheckContext`` and returning Findings,
registered for what it looks at (one handout, one brand, or the whole project). A new check is
a new function with ``@check("handout")``; ``run_checks`` needs no change."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from ..project import LoadedBrand, LoadedHandout, Project
from .report import Finding, HandoutReadability
from .text import Locator

Scope = Literal["handout", "brand", "project"]
CheckFunction = Callable[["CheckContext"], Iterable[Finding]]

_REGISTRY: dict[Scope, list[CheckFunction]] = {"handout": [], "brand": [], "project": []}


def check(scope: Scope) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check function for ``scope``."""

    def register(function: CheckFunction) -> CheckFunction:
        _REGISTRY[scope].append(function)
        return function

    return register


def registered(scope: Scope) -> list[CheckFunction]:
    return list(_REGISTRY[scope])


@dataclass
class CheckContext:
    """What one check looks at, and what it may need to know around it (worked out once)."""

    project: Project
    today: dt.date
    strict: bool
    handout: LoadedHandout | None = None
    brand: LoadedBrand | None = None
    readability: list[HandoutReadability] = field(default_factory=list)  # figures, for reports

    @property
    def h(self) -> LoadedHandout:
        assert self.handout is not None, "a handout check was given no handout"
        return self.handout

    @property
    def b(self) -> LoadedBrand:
        assert self.brand is not None, "a brand check was given no brand"
        return self.brand

    @cached_property
    def brands(self) -> list[LoadedBrand]:
        """The brands that print the handout (or the brand itself)."""
        if self.handout is not None:
            return self.project.brands_printing(self.handout)
        return [self.brand] if self.brand is not None else list(self.project.brands)

    @cached_property
    def layouts(self) -> list[str]:
        """The layouts those brands print."""
        return self.project.layouts_of(self.brands)

    @cached_property
    def locator(self) -> Locator:
        target = self.handout if self.handout is not None else self.brand
        assert target is not None
        return Locator(target)

    @property
    def severe(self) -> Literal["error", "warning"]:
        """What a finding that must not be printed as it is becomes: an error under strict."""
        return "error" if self.strict else "warning"
