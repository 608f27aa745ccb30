"""Output formats: each a small object saying what it is called, the suffix of its files,
whether an up-to-date file may be skipped, whether the gallery shows a thumbnail of it, and
how it renders one job. The build loop knows only this interface, so a new format (a web
page, an email body) plugs in without editing it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from ..plan import Job


@dataclass
class Output:
    """What rendering one job produced: plain data, so it crosses process boundaries."""

    files: dict[str, bytes]  # path inside the output folder → bytes; the document itself first
    pages: int = 0
    body_pt: float = 0.0  # the body size the document was fitted at
    warnings: list[str] = field(default_factory=list)
    thumbnail: bytes | None = None  # page 1 as PNG, for the gallery
    details: dict[str, Any] = field(default_factory=dict)  # more facts for the manifest


class Format:
    """One kind of output. Subclasses set the class attributes and implement ``render``."""

    name: ClassVar[str]
    suffix: ClassVar[str]  # added to ``brand/handout.lang.layout``
    label_suffix: ClassVar[str] = ""  # added to the label shown in summaries
    description: ClassVar[str] = ""
    incremental: ClassVar[bool] = True  # skipped when its inputs and file are unchanged
    recorded: ClassVar[bool] = True  # kept in the manifest (and so pruned, audited)
    thumbnail: ClassVar[bool] = False  # shown in the gallery with a page-1 picture
    per_layout: ClassVar[bool] = True  # one per layout; else one per brand, handout and language
    needs_renderer: ClassVar[bool] = True  # needs WeasyPrint loaded in the worker
    print_ready: ClassVar[bool] = False  # bleed and crop marks
    selectable: ClassVar[bool] = True  # offered by `build --format`
    # Template folders this format never reads: editing them does not rebuild its files.
    unused_templates: ClassVar[frozenset[str]] = frozenset(
        {"email", "gallery", "scaffold", "serve", "web"}
    )

    def render(self, job: Job, renderer: Any, page_cap: int) -> Output:
        raise NotImplementedError

    def __reduce__(self) -> tuple[Any, ...]:
        # Formats are singletons: send the name across processes, not the object.
        return (get, (self.name,))


_REGISTRY: dict[str, Format] = {}


def register(cls: type[Format]) -> type[Format]:
    """Class decorator: make a format available by its name."""
    _REGISTRY[cls.name] = cls()
    return cls


def get(name: str) -> Format:
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown output format {name!r}") from None


def selectable() -> list[str]:
    """The formats `build --format` offers, in registration order."""
    _load_builtin()
    return [name for name, f in _REGISTRY.items() if f.selectable]


def _load_builtin() -> None:
    if not _REGISTRY:
        from . import html, pdf, web  # noqa: F401  (registering is their import's effect)
