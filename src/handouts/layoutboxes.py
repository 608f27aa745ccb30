"""The one place that reads WeasyPrint's laid-out boxes, turned into a small plain tree.

WeasyPrint's public API stops at ``Document.pages``; the boxes behind each page are internal
and change between versions. Preflight needs them (which element a line belongs to, which
panel or column holds it), so everything it reads is copied here into ``Node`` objects that
belong to us, and tests/test_preflight.py fails loudly when WeasyPrint changes what this
module relies on. Coordinates are PDF points from the top-left corner of the trimmed page.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

PT_PER_PX = 0.75  # WeasyPrint lays out in CSS pixels (1/96 in); PDF points are 1/72 in


@dataclass(frozen=True, slots=True)
class Rect:
    """An axis-aligned rectangle in points: left, top, right, bottom."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def overlap(self, other: Rect) -> tuple[float, float]:
        """How far the two overlap across and down (negative: a gap)."""
        return (
            min(self.x1, other.x1) - max(self.x0, other.x0),
            min(self.y1, other.y1) - max(self.y0, other.y0),
        )

    def outside(self, frame: Rect) -> tuple[float, float, float, float]:
        """How far this rectangle reaches past each side of ``frame`` (left, top, right,
        bottom; zero or less when inside)."""
        return (frame.x0 - self.x0, frame.y0 - self.y0, self.x1 - frame.x1, self.y1 - frame.y1)

    def union(self, other: Rect) -> Rect:
        return Rect(
            min(self.x0, other.x0),
            min(self.y0, other.y0),
            max(self.x1, other.x1),
            max(self.y1, other.y1),
        )

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (round(self.x0, 2), round(self.y0, 2), round(self.x1, 2), round(self.y1, 2))


@dataclass(eq=False, slots=True)
class Node:
    """One laid-out box. ``kind`` is one of: page-margin, block, column, line, text, image,
    inline. ``element`` identifies the HTML element it comes from (the same number on every
    page and column a split element reaches; 0 for boxes WeasyPrint made up)."""

    kind: str
    tag: str
    classes: tuple[str, ...]
    attrs: dict[str, str]
    element: int
    border: Rect
    padding: Rect
    content: Rect
    font_pt: float
    text: str = ""
    painted: bool = False  # draws a background or a border
    position: str = "static"  # static | relative | absolute | fixed | float | running
    clips: bool = False  # overflow other than visible
    avoid_break_inside: bool = False
    parent: Node | None = field(default=None, repr=False)
    children: list[Node] = field(default_factory=list, repr=False)

    def walk(self) -> Iterator[Node]:
        """This node and every node below it, in document order."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def ancestors(self) -> Iterator[Node]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def text_content(self, limit: int = 60) -> str:
        parts: list[str] = []
        size = 0
        for node in self.walk():
            if node.kind == "text" and node.text:
                parts.append(node.text)
                size += len(node.text)
                if size > limit:
                    break
        return " ".join(" ".join(parts).split())


@dataclass(slots=True)
class LaidOutPage:
    number: int  # 1-based
    width: float
    height: float
    bleed: float  # the largest bleed, in points (0 unless a print-ready file)
    area: Rect  # the page area inside the page margins
    body: list[Node]  # the boxes of the page area (the root element's box)
    margins: list[Node]  # page-margin boxes (running header and footer, page number)


class _Reader:
    """Copies one page's boxes; element numbers are shared across the pages of a document."""

    def __init__(self) -> None:
        self.elements: dict[int, int] = {}
        self.keep: list[Any] = []  # keep elements alive so their id() stays unique

    def element_number(self, element: Any) -> int:
        if element is None:
            return 0
        key = id(element)
        if key not in self.elements:
            self.elements[key] = len(self.elements) + 1
            self.keep.append(element)
        return self.elements[key]

    def node(self, box: Any, parent: Node | None) -> Node | None:
        box = getattr(box, "_box", box)  # an absolutely positioned box's placeholder
        name = type(box).__name__
        style = box.style
        element = box.element
        if name == "MarginBox":
            kind = "page-margin"
        elif name == "TextBox":
            kind = "text"
        elif name == "LineBox":
            kind = "line"
        elif "Replaced" in name:
            kind = "image"
        elif name.startswith("Inline") and name not in ("InlineBlockBox",):
            kind = "inline"
        elif getattr(box, "is_column", False):
            kind = "column"
        else:
            kind = "block"
        if box.width is None or box.height is None or isinstance(box.width, str):
            return None  # never laid out (e.g. an empty margin box)
        attrs: dict[str, str] = {}
        classes: tuple[str, ...] = ()
        tag = ""
        if element is not None and hasattr(element, "get"):
            tag = str(box.element_tag or "")
            if "}" in tag:
                tag = tag.rsplit("}", 1)[1]
            classes = tuple((element.get("class") or "").split())
            for key, value in element.attrib.items():
                if key.startswith("data-") or key in ("id", "alt"):
                    attrs[key] = str(value)
        position = "static"
        pos = style["position"]
        if isinstance(pos, tuple):  # running(name)
            position = "running"
        elif pos in ("absolute", "fixed", "relative"):
            position = pos
        elif style["float"] != "none":
            position = "float"
        painted = False
        if kind in ("block", "column", "image", "inline", "page-margin"):
            painted = getattr(box, "background", None) is not None or any(
                style[f"border_{side}_style"] not in ("none", "hidden")
                and (getattr(box, f"border_{side}_width", 0) or 0) > 0
                for side in ("top", "right", "bottom", "left")
            )
        node = Node(
            kind=kind,
            tag=tag,
            classes=classes,
            attrs=attrs,
            element=self.element_number(element if kind not in ("column", "line") else None),
            border=_rect(
                box.border_box_x(), box.border_box_y(), box.border_width(), box.border_height()
            ),
            padding=_rect(
                box.padding_box_x(), box.padding_box_y(), box.padding_width(), box.padding_height()
            ),
            content=_rect(box.content_box_x(), box.content_box_y(), box.width, box.height),
            font_pt=float(style["font_size"]) * PT_PER_PX,
            text=str(getattr(box, "text", "")) if kind == "text" else "",
            painted=painted and style["visibility"] == "visible",
            position=position,
            clips=style["overflow"] != "visible" and kind != "page-margin",
            avoid_break_inside=style["break_inside"] in ("avoid", "avoid-page", "avoid-column"),
            parent=parent,
        )
        if kind == "column":
            node.element = parent.element if parent is not None else 0
        for child in getattr(box, "children", ()) or ():
            copied = self.node(child, node)
            if copied is not None:
                node.children.append(copied)
        return node


def _rect(x: float, y: float, width: float, height: float) -> Rect:
    return Rect(
        x * PT_PER_PX,
        y * PT_PER_PX,
        (x + width) * PT_PER_PX,
        (y + height) * PT_PER_PX,
    )


def read_pages(document: Any) -> list[LaidOutPage]:
    """The laid-out pages of a rendered WeasyPrint ``Document`` as plain trees."""
    reader = _Reader()
    pages = []
    for number, page in enumerate(document.pages, start=1):
        page_box = page._page_box
        area = _rect(
            page_box.content_box_x(), page_box.content_box_y(), page_box.width, page_box.height
        )
        body: list[Node] = []
        margins: list[Node] = []
        for child in page_box.children:
            node = reader.node(child, None)
            if node is None:
                continue
            (margins if node.kind == "page-margin" else body).append(node)
        pages.append(
            LaidOutPage(
                number=number,
                width=page.width * PT_PER_PX,
                height=page.height * PT_PER_PX,
                bleed=max(page.bleed.values()) * PT_PER_PX,
                area=area,
                body=body,
                margins=margins,
            )
        )
    return pages
