"""What a build returns: plain data that front ends show and that crosses process boundaries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Result:
    """What happened to one document."""

    label: str  # brand/handout.lang.layout, as summaries show it
    output: str  # path inside the output folder (unique within a build)
    status: str  # built | skipped | failed | planned
    seconds: float = 0.0
    reason: str = ""  # why it was (re)built, or why not
    pages: int = 0
    bytes: int = 0
    sha256: str = ""
    body_pt: float = 0.0  # the body size chosen to fit the layout's pages
    warnings: list[str] = field(default_factory=list)
    error: str = ""
    # Produced in a worker, written by the parent, then dropped:
    files: dict[str, bytes] | None = field(default=None, repr=False)
    thumbnail: bytes | None = field(default=None, repr=False)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status != "failed"


@dataclass
class Report:
    """The outcome of one build."""

    results: list[Result]
    seconds: float
    interrupted: bool = False
    pruned: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # outputs no longer in the plan (kept)
    kept: list[str] = field(default_factory=list)  # stale outputs a person changed: not removed
    notes: list[str] = field(default_factory=list)  # things the user should know (plain words)
    check_warnings: list[Any] = field(default_factory=list)  # findings about these documents
    readability: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def warned(self) -> list[Result]:
        return [r for r in self.results if r.warnings]

    def ok(self, strict: bool = False) -> bool:
        return not self.failed and not self.interrupted and not (strict and self.warned)
