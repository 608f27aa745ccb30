"""Preflight: every rendered page checked as a print designer would, from the laid-out boxes.

Runs on the document the renderer has just laid out (through layoutboxes.py, never by
re-rendering) and returns findings: ink in the printer's dead zone, boxes spilling out of their
panel, text running into other text, nearly empty pages, headings and lead-ins stranded at
the foot of a column, short boxes split in two, type below the layout's floor, QR codes too
dense or a booking code smaller than a citation's. Each rule is set per layout in layout.yaml
(``preflight:``, see ``models.PreflightRules``). Findings are plain, picklable data.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from .errors import Problem, RenderError
from .layoutboxes import LaidOutPage, Node, Rect, read_pages
from .models import PreflightRules

MM = 72 / 25.4  # points per millimetre
TOLERANCE = 0.75  # points (about a quarter of a millimetre): rounding, not a defect
MAX_FINDINGS = 12  # per rule and document: the first ones say what is wrong
RULES = ("safe-area", "containment", "overlap", "page-fill", "keep-together", "type-floor", "qr")
_HEADING = re.compile(r"^h[1-6]$")

# What staff call the parts of a handout, by the class the built-in templates give them.
_NAMES = {
    "booking": "the booking card",
    "closing": "the closing panel",
    "notice": "the notice",
    "notice-sources": "the notice's sources",
    "language-assistance": "the language-help box",
    "running-footer": "the running footer",
    "brand-contact": "the header's phone number and web address",
    "brand-name": "the clinic's name",
    "brand-header": "the header",
    "title-block": "the title",
    "translation-note": "the translation note",
    "ref": "the reference",
    "sources": "the sources box",
    "qa": "the question",
    "toc": "the list of questions",
    "cover": "the front cover",
    "flap": "the fold-in flap",
    "back": "the back panel",
}


@dataclass(frozen=True, slots=True)
class PreflightFinding:
    """One thing preflight found on one page. ``bbox`` is in points from the page's top-left
    corner (x0, y0, x1, y1); ``crop`` names the PNG of the spot (errors only), relative to
    the output folder."""

    rule: str
    severity: str  # error | warning
    page: int  # 1-based
    element: str  # what staff would call it, and the element, e.g. 'the booking card (p...)'
    message: str
    hint: str
    bbox: tuple[float, float, float, float]
    crop: str = ""

    def __str__(self) -> str:
        text = f"page {self.page}, {self.element}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


class PreflightError(RenderError):
    """A document failed preflight. ``findings`` holds every finding (errors and warnings);
    ``files`` the PNG crops of the errors, by name relative to the output folder."""

    def __init__(
        self,
        label: str,
        findings: Iterable[PreflightFinding],
        files: dict[str, bytes] | None = None,
    ) -> None:
        self.label = label
        self.findings = tuple(findings)
        self.files = dict(files or {})
        errors = [f for f in self.findings if f.severity == "error"]
        problems = []
        for f in errors:
            hint = f.hint
            if f.crop:
                hint = f"{hint}; picture: {f.crop}" if hint else f"picture: {f.crop}"
            problems.append(
                Problem(f"{label}.pdf", f"page {f.page}, {f.element}: {f.message}", hint=hint)
            )
        super().__init__(problems)

    @property
    def errors(self) -> list[PreflightFinding]:
        return [f for f in self.findings if f.severity == "error"]

    def __reduce__(self) -> tuple[Any, ...]:  # cross process boundaries intact
        return (type(self), (self.label, self.findings, self.files))


# ---------------------------------------------------------------- running the rules


def run(
    document: Any, rules: PreflightRules, *, print_ready: bool = False
) -> list[PreflightFinding]:
    """Every finding on a rendered WeasyPrint document (errors first)."""
    return check(read_pages(document), rules, print_ready=print_ready)


def check(
    pages: list[LaidOutPage], rules: PreflightRules, *, print_ready: bool = False
) -> list[PreflightFinding]:
    doc = _Document(pages, rules, print_ready)
    findings: list[PreflightFinding] = []
    for rule, function in _CHECKS.items():
        level = rules.level(rule)
        if level == "off":
            continue
        found = function(doc)
        findings.extend(replace(f, severity=level) for f in found[:MAX_FINDINGS])
    findings.sort(key=lambda f: (f.severity != "error", f.page, RULES.index(f.rule)))
    return findings


@dataclass(slots=True)
class _Ink:
    node: Node
    rect: Rect
    page: LaidOutPage


class _Document:
    """The pages, with what the rules share worked out once."""

    def __init__(self, pages: list[LaidOutPage], rules: PreflightRules, print_ready: bool):
        self.pages = pages
        self.rules = rules
        self.print_ready = print_ready
        self.ink: list[list[_Ink]] = [list(_ink(page)) for page in pages]
        self.headings: dict[int, str] = {}  # element → the heading inside it (for names)
        for page in pages:
            for root in page.body:
                for node in root.walk():
                    if node.kind == "block" and _HEADING.match(node.tag) and node.parent:
                        for owner in (node.parent, *node.parent.ancestors()):
                            self.headings.setdefault(owner.element, node.text_content(50))
                            if owner.classes:
                                break

    def finding(
        self, rule: str, page: LaidOutPage, node: Node | None, rect: Rect, message: str, hint: str
    ) -> PreflightFinding:
        return PreflightFinding(
            rule, "error", page.number, self.name(node), message, hint, rect.as_tuple()
        )

    def name(self, node: Node | None) -> str:
        """'the booking card (p.booking-url "harbour.example/...")': the part, then the
        element itself when it is a smaller one inside it."""
        if node is None:
            return "the page"
        own = _element(node)
        for part in (node, *node.ancestors()):
            if part.kind == "page-margin":
                return "the page margin" + (f" ({own})" if own else "")
            label = next((_NAMES[c] for c in part.classes if c in _NAMES), None)
            if label is None:
                continue
            if part.classes and part.classes[0] in ("qa", "ref"):
                heading = self.headings.get(part.element) or _title(part) or part.text_content(50)
                if heading:
                    label += f" \u201c{_short(heading)}\u201d"
            return label if part is node else f"{label} ({own})"
        return own or "an element"


def _title(node: Node) -> str:
    """The title of a reference (its ref-title paragraph)."""
    for part in node.walk():
        if "ref-title" in part.classes:
            return part.text_content(50)
    return ""


def _element(node: Node) -> str:
    """``p.booking-url "harbour.example/ap..."`` for the element a box belongs to."""
    while node.kind in ("text", "line", "inline", "column") and node.parent is not None:
        node = node.parent
    if not node.tag:
        return ""
    text = node.text_content(40)
    selector = node.tag + "".join(f".{c}" for c in node.classes[:2])
    return f"{selector} \u201c{_short(text)}\u201d" if text else selector


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _ink(page: LaidOutPage) -> Iterator[_Ink]:
    """Everything that puts ink on the page: text, images, backgrounds and borders."""
    for root in (*page.body, *page.margins):
        for node in root.walk():
            rect = _ink_rect(node)
            if rect is not None:
                yield _Ink(node, rect, page)


def _ink_rect(node: Node) -> Rect | None:
    if node.kind == "text":
        if not node.text.strip():
            return None
        r = node.border
        inset = r.height * 0.12  # the line's ascent and descent, not the glyphs' ink
        return Rect(r.x0, r.y0 + inset, r.x1, r.y1 - inset)
    if node.kind == "image":
        return node.border
    if node.kind in ("block", "inline") and node.painted:
        return node.border
    return None


def _owner(node: Node) -> Node:
    """The block a line of text belongs to."""
    for part in node.ancestors():
        if part.kind in ("block", "page-margin", "image"):
            return part
    return node


def _part(node: Node) -> Node:
    """The named part of the handout a box belongs to (the booking card, a question...), else
    the block it belongs to."""
    for part in (node, *node.ancestors()):
        if any(c in _NAMES for c in part.classes):
            return part
    return _owner(node)


def _mm(points: float) -> str:
    return f"{points / MM:.1f} mm"


# ---------------------------------------------------------------- safe area


_SIDES = ("left", "top", "right", "bottom")


class _Worst:
    """The worst spot per (page, element), with everything of that element it covers."""

    def __init__(self) -> None:
        self.spots: dict[tuple[int, int], tuple[float, Any, _Ink, Rect]] = {}

    def add(self, item: _Ink, amount: float, detail: Any, *, smaller_is_worse: bool = False):
        key = (item.page.number, _owner(item.node).element or id(item.node))
        old = self.spots.get(key)
        if old is None:
            self.spots[key] = (amount, detail, item, item.rect)
            return
        worse = amount < old[0] if smaller_is_worse else amount > old[0]
        union = old[3].union(item.rect)
        self.spots[key] = (amount, detail, item, union) if worse else (*old[:3], union)

    def __iter__(self) -> Iterator[tuple[float, Any, _Ink, Rect]]:
        return iter(self.spots.values())


def _safe_area(doc: _Document) -> list[PreflightFinding]:
    margin = doc.rules.safe_area_mm * MM
    worst = _Worst()
    for items in doc.ink:
        for item in items:
            page = item.page
            safe = Rect(margin, margin, page.width - margin, page.height - margin)
            reach = item.rect.outside(safe)
            deepest = max(reach)
            if deepest <= TOLERANCE:
                continue
            if doc.print_ready and item.node.kind == "block" and _bleeds(item.rect, page):
                continue  # a background meant to run into the bleed
            worst.add(item, deepest, reach.index(deepest))
    findings = []
    for deepest, side, item, union in worst:
        gap = margin - deepest
        where = _SIDES[side]
        if gap < -TOLERANCE:
            message = f"runs {_mm(-gap)} past the {where} edge of the page and is cut off"
        else:
            message = (
                f"prints {_mm(max(gap, 0))} from the {where} edge of the page; printers "
                f"cannot print within {doc.rules.safe_area_mm:g} mm of the edge"
            )
        findings.append(
            doc.finding(
                "safe-area",
                item.page,
                item.node,
                union,
                message,
                "shorten the text, or make the page margin larger in the layout's stylesheet",
            )
        )
    return findings


def _bleeds(rect: Rect, page: LaidOutPage) -> bool:
    return (
        rect.x0 <= TOLERANCE
        or rect.y0 <= TOLERANCE
        or rect.x1 >= page.width - TOLERANCE
        or rect.y1 >= page.height - TOLERANCE
    )


# ---------------------------------------------------------------- containment


def _frame(node: Node) -> Node | None:
    """The box a node must stay inside: the nearest framed box (a background or a border),
    column, page margin or clipping box; None for the page area."""
    for part in node.ancestors():
        if part.kind in ("column", "page-margin") or part.clips:
            return part
        if part.kind == "block" and part.painted:
            return part
    return None


def _containment(doc: _Document) -> list[PreflightFinding]:
    worst = _Worst()
    for items in doc.ink:
        for item in items:
            node = item.node
            if node.position == "fixed" or any(a.position == "fixed" for a in node.ancestors()):
                continue
            frame = _frame(node)
            bleeds = doc.print_ready and node.kind == "block" and _bleeds(item.rect, item.page)
            if frame is None and bleeds:
                continue  # a background meant to run into the bleed
            bounds = item.page.area if frame is None else frame.padding
            reach = item.rect.outside(bounds)
            deepest = max(reach)
            if deepest > TOLERANCE:
                worst.add(item, deepest, (reach.index(deepest), frame))
    findings = []
    for deepest, (side, frame), item, union in worst:
        container = doc.name(frame) if frame is not None else "the page area"
        if frame is not None and frame.kind == "column":
            container = "its column"
        elif frame is not None and frame.kind == "page-margin":
            container = "the page margin"
        direction = {0: "left of", 1: "above", 2: "to the right of", 3: "below"}[side]
        cut = " and is cut off" if frame is not None and frame.clips else ""
        findings.append(
            doc.finding(
                "containment",
                item.page,
                item.node,
                union,
                f"reaches {_mm(deepest)} {direction} {container}{cut}",
                "shorten the text (a very long word or address cannot wrap), or give the box "
                "more room in the layout's stylesheet",
            )
        )
    return findings


# ---------------------------------------------------------------- overlap


def _overlap(doc: _Document) -> list[PreflightFinding]:
    allowed = set(doc.rules.overlap_allowed)
    findings: list[PreflightFinding] = []
    seen: set[tuple[int, int, int]] = set()
    for items in doc.ink:
        usable = [i for i in items if not _exempt(i.node, allowed) and i.node.kind != "page-margin"]
        usable.sort(key=lambda i: i.rect.y0)
        family = _Lineage()
        active: list[_Ink] = []
        for item in usable:
            active = [a for a in active if a.rect.y1 > item.rect.y0 + TOLERANCE]
            for other in active:
                dx, dy = item.rect.overlap(other.rect)
                if dx <= TOLERANCE or dy <= TOLERANCE:
                    continue
                a, b = item.node, other.node
                if id(b) in family(a) or id(a) in family(b):
                    continue  # a box and what it holds
                owner_a, owner_b = _owner(a), _owner(b)
                if owner_a is owner_b:
                    continue  # lines of one paragraph
                if (
                    a.kind == "text"
                    and b.kind == "text"
                    and (id(owner_b) in family(owner_a) or id(owner_a) in family(owner_b))
                ):
                    continue
                # One finding per pair of parts (the booking card and the language-help box),
                # however many of their lines touch.
                key = (item.page.number, *sorted((_part(a).element, _part(b).element)))
                if key in seen:
                    continue
                seen.add(key)
                findings.append(
                    doc.finding(
                        "overlap",
                        item.page,
                        a,
                        item.rect.union(other.rect),
                        f"overlaps {doc.name(b)} by {_mm(min(dx, dy))}",
                        "shorten one of them, or give them more room in the layout's stylesheet",
                    )
                )
            active.append(item)
    return findings


class _Lineage:
    """The ancestors of a node, as ids, worked out once per node."""

    def __init__(self) -> None:
        self.known: dict[int, set[int]] = {}

    def __call__(self, node: Node) -> set[int]:
        key = id(node)
        if key not in self.known:
            self.known[key] = {id(a) for a in node.ancestors()}
        return self.known[key]


def _exempt(node: Node, allowed: set[str]) -> bool:
    for part in (node, *node.ancestors()):
        if part.position == "fixed" or (allowed and allowed.intersection(part.classes)):
            return True
    return False


# ---------------------------------------------------------------- page fill


def _content_rects(page: LaidOutPage) -> list[Rect]:
    """Paragraphs (from their first line to their last, full width), images and boxes."""
    rects = []
    for root in page.body:
        for node in root.walk():
            if node.kind == "image" or (node.kind == "block" and node.painted):
                rects.append(node.border)
            elif node.kind in ("block", "column"):
                lines = [c for c in node.children if c.kind == "line" and c.text_content(1)]
                if lines:
                    top, bottom = lines[0].border.y0, lines[-1].border.y1
                    rects.append(Rect(node.content.x0, top, node.content.x1, bottom))
    return rects


def _covered(rects: list[Rect], area: Rect) -> float:
    """The area the rectangles cover inside ``area``, overlaps counted once."""
    clipped = []
    for r in rects:
        c = Rect(max(r.x0, area.x0), max(r.y0, area.y0), min(r.x1, area.x1), min(r.y1, area.y1))
        if c.width > 0 and c.height > 0:
            clipped.append(c)
    xs = sorted({x for c in clipped for x in (c.x0, c.x1)})
    total = 0.0
    for left, right in itertools.pairwise(xs):
        spans = sorted((c.y0, c.y1) for c in clipped if c.x0 <= left and c.x1 >= right)
        covered, end = 0.0, float("-inf")
        for y0, y1 in spans:
            if y1 <= end:
                continue
            covered += y1 - max(y0, end)
            end = y1
        total += covered * (right - left)
    return total


def page_fill(page: LaidOutPage) -> float:
    """The share of the page area that content covers (0 to 1)."""
    area = page.area.width * page.area.height
    return _covered(_content_rects(page), page.area) / area if area > 0 else 1.0


def page_reach(page: LaidOutPage) -> float:
    """How far down the page area its content reaches (0 to 1): for a page of columns, their
    mean, unless something under them reaches further. The fitter's estimate of how full the
    last page is."""
    area = page.area
    if area.height <= 0:
        return 1.0
    columns: list[float] = []
    below = area.y0
    for root in page.body:
        stack = [root]
        while stack:
            node = stack.pop()
            if node.kind == "column":
                bottoms = [n.border.y1 for n in node.walk() if _ink_rect(n) is not None]
                columns.append(max(bottoms, default=area.y0))
                continue
            if _ink_rect(node) is not None:
                below = max(below, node.border.y1)
            stack.extend(node.children)
    reach = max(below, sum(columns) / len(columns)) if columns else below
    return min(1.0, max(0.0, (reach - area.y0) / area.height))


def _page_fill(doc: _Document) -> list[PreflightFinding]:
    findings = []
    least = doc.rules.min_page_fill
    for page in doc.pages:
        fill = page_fill(page)
        if fill >= least:
            continue
        findings.append(
            doc.finding(
                "page-fill",
                page,
                None,
                page.area,
                f"is only {fill:.0%} filled (at least {least:.0%} is expected)",
                "the fitter could not avoid it: shorten or lengthen the handout a little, or "
                "allow one page fewer",
            )
        )
    return findings


# ---------------------------------------------------------------- keep together


def _region(node: Node) -> Node | None:
    """The column, panel or positioned box a block is laid out in; None for the page."""
    for part in node.ancestors():
        if part.kind == "column" or part.position in ("float", "absolute"):
            return part
    return None


def _leaves(doc: _Document) -> list[tuple[LaidOutPage, Node]]:
    """Blocks holding lines of text or an image, in reading order, across the document."""
    found = []
    for page in doc.pages:
        for root in page.body:
            for node in root.walk():
                if node.kind == "image" or (
                    node.kind == "block"
                    and any(c.kind == "line" and c.text_content(1) for c in node.children)
                ):
                    found.append((page, node))
    return found


def _keep_together(doc: _Document) -> list[PreflightFinding]:
    findings = []
    leaves = _leaves(doc)
    last_in: dict[tuple[int, int], int] = {}  # (page, region) → index of its last leaf
    for index, (page, node) in enumerate(leaves):
        region = _region(node)
        last_in[(page.number, id(region))] = index
    for index in sorted(last_in.values()):
        page, node = leaves[index]
        if node.kind != "block":
            continue
        region = _region(node)
        panel = region is not None and region.kind != "column"
        more = index < len(leaves) - 1
        if not (panel or more):
            continue  # the end of the document
        text = node.text_content(400)
        if _HEADING.match(node.tag):
            what = "a heading"
        elif text.rstrip().endswith(":"):
            what = "a lead-in ending in ':'"
        else:
            continue
        where = "panel" if panel else "column" if region is not None else "page"
        findings.append(
            doc.finding(
                "keep-together",
                page,
                node,
                node.border,
                f"is {what} left at the foot of its {where}, away from what it introduces",
                "the fitter could not move it: shorten or lengthen the text before it a "
                "little, or keep it with what follows in the layout's stylesheet "
                "(break-after: avoid)",
            )
        )
    findings.extend(_split_boxes(doc))
    return findings


def _split_boxes(doc: _Document) -> list[PreflightFinding]:
    limit = doc.rules.max_split_box
    parts: dict[int, list[tuple[LaidOutPage, Node, Node | None]]] = {}
    for page in doc.pages:
        for root in page.body:
            for node in root.walk():
                if node.kind != "block" or not node.element:
                    continue
                if node.position == "fixed":
                    continue  # repeated on every page by design, not split
                if node.painted or node.avoid_break_inside:
                    parts.setdefault(node.element, []).append((page, node, _region(node)))
    findings = []
    for fragments in parts.values():
        places = {(page.number, id(region)) for page, _node, region in fragments}
        if len(places) < 2:
            continue
        height = sum(_used_height(node) for _page, node, _region in fragments)
        page, node, _region_node = fragments[0]
        if height >= limit * page.area.height:
            findings.extend(_lonely_items(doc, fragments))
            continue
        pages = sorted({p.number for p, _n, _r in fragments})
        across = (
            f"pages {pages[0]} and {pages[-1]}"
            if len(pages) > 1
            else f"two columns of page {pages[0]}"
        )
        findings.append(
            doc.finding(
                "keep-together",
                page,
                node,
                node.border,
                f"is split across {across}, though it is only {_mm(height)} tall",
                "keep it in one piece in the layout's stylesheet (break-inside: avoid)",
            )
        )
    return findings


def _used_height(node: Node) -> float:
    """The height a fragment's content takes (a split box may be stretched to the foot of
    its page or column), with the box's own padding and border."""
    if not node.children:
        return node.border.height
    bottom = max(child.border.y1 for child in node.children)
    frame = (node.content.y0 - node.border.y0) * 2
    return max(0.0, bottom - node.content.y0) + frame


def _lonely_items(
    doc: _Document, fragments: list[tuple[LaidOutPage, Node, Node | None]]
) -> list[PreflightFinding]:
    """A long list of items (sources, references) split with one item alone on one side."""
    items = [
        [c.element for c in node.children if c.kind == "block" and c.element]
        for _page, node, _region in fragments
    ]
    total = len({e for part in items for e in part})
    if total < 3:
        return []
    for (page, node, _region), part in zip(fragments, items, strict=True):
        if len(part) == 1:
            return [
                doc.finding(
                    "keep-together",
                    page,
                    node,
                    node.border,
                    f"is split with only one of its {total} items on page {page.number}",
                    "keep at least two items together (break-after: avoid on the first item, "
                    "break-before: avoid on the last, in the layout's stylesheet)",
                )
            ]
    return []


# ---------------------------------------------------------------- type floors


def _floor(node: Node, floors: dict[str, float]) -> tuple[float, str]:
    for part in node.ancestors():
        if part.kind == "page-margin" and "@page" in floors:
            return floors["@page"], "@page"
        for cls in part.classes:
            if f".{cls}" in floors:
                return floors[f".{cls}"], f".{cls}"
        if part.tag and part.tag in floors:
            return floors[part.tag], part.tag
    return floors.get("*", 0.0), "*"


def _type_floor(doc: _Document) -> list[PreflightFinding]:
    floors = doc.rules.min_type_pt
    worst = _Worst()
    for items in doc.ink:
        for item in items:
            if item.node.kind != "text":
                continue
            floor, _key = _floor(item.node, floors)
            if item.node.font_pt < floor - 0.05:
                worst.add(item, item.node.font_pt, floor, smaller_is_worse=True)
    return [
        doc.finding(
            "type-floor",
            item.page,
            item.node,
            union,
            f"is set in {size:.1f} pt; this layout needs at least {floor:g} pt",
            "make its font-size larger in the layout's stylesheet",
        )
        for size, floor, item, union in worst
    ]


# ---------------------------------------------------------------- QR codes


def _qr(doc: _Document) -> list[PreflightFinding]:
    rules = doc.rules
    findings = []
    for items in doc.ink:
        codes = []
        for item in items:
            node = item.node
            modules = node.attrs.get("data-qr-modules")
            if node.kind != "image" or not modules or not modules.isdigit():
                continue
            count = int(modules)
            quiet = int(node.attrs.get("data-qr-quiet", "4") or 4)
            width = item.rect.width / MM
            symbol = width * (count - 2 * quiet) / count
            codes.append((item, node.attrs.get("data-qr", ""), width / count, symbol))
        for item, _kind, module, _symbol in codes:
            if module < rules.qr_min_module_mm - 0.005:
                findings.append(
                    doc.finding(
                        "qr",
                        item.page,
                        item.node,
                        item.rect,
                        f"QR code modules print {module:.2f} mm wide; at least "
                        f"{rules.qr_min_module_mm:g} mm is needed to scan reliably",
                        "give the reference a short_url, or allow a larger code (qr_max_mm)",
                    )
                )
        largest = max((symbol for *_x, symbol in codes), default=0.0)
        for item, kind, _module, symbol in codes:
            if kind != "booking":
                continue
            if symbol < rules.booking_qr_min_mm - 0.05:
                findings.append(
                    doc.finding(
                        "qr",
                        item.page,
                        item.node,
                        item.rect,
                        f"the booking code prints {symbol:.1f} mm wide; at least "
                        f"{rules.booking_qr_min_mm:g} mm is needed",
                        "make booking_qr_mm larger in layout.yaml",
                    )
                )
            elif symbol < largest - 0.05:
                findings.append(
                    doc.finding(
                        "qr",
                        item.page,
                        item.node,
                        item.rect,
                        f"the booking code ({symbol:.1f} mm) is smaller than another code on "
                        f"this page ({largest:.1f} mm); it should be the largest",
                        "make booking_qr_mm larger, or qr_module_mm smaller, in layout.yaml",
                    )
                )
    return findings


_CHECKS: dict[str, Callable[[_Document], list[PreflightFinding]]] = {
    "safe-area": _safe_area,
    "containment": _containment,
    "overlap": _overlap,
    "page-fill": _page_fill,
    "keep-together": _keep_together,
    "type-floor": _type_floor,
    "qr": _qr,
}


# ---------------------------------------------------------------- pictures for staff


def crop_name(label: str, page: int, index: int) -> str:
    return f"{label}.preflight-p{page}-{index}.png"


def with_crops(
    pdf: bytes, label: str, findings: list[PreflightFinding], *, bleed: float = 0.0, dpi: int = 100
) -> tuple[list[PreflightFinding], dict[str, bytes]]:
    """Draw each error's spot, framed in red, with some of the page around it. ``bleed`` (in
    points) is how far the PDF's page reaches past the trimmed page on each side."""
    import pypdfium2
    from PIL import ImageDraw

    files: dict[str, bytes] = {}
    out: list[PreflightFinding] = []
    counts: dict[int, int] = {}
    document = pypdfium2.PdfDocument(pdf)
    try:
        images: dict[int, Any] = {}
        for finding in findings:
            if finding.severity != "error" or not 1 <= finding.page <= len(document):
                out.append(finding)
                continue
            if finding.page not in images:
                images[finding.page] = (
                    document[finding.page - 1].render(scale=dpi / 72).to_pil().convert("RGB")
                )
            image = images[finding.page].copy()
            scale = dpi / 72
            x0, y0, x1, y1 = ((v + bleed) * scale for v in finding.bbox)
            ImageDraw.Draw(image).rectangle(
                (x0 - 3, y0 - 3, x1 + 3, y1 + 3), outline=(220, 0, 0), width=3
            )
            pad = 15 * MM * scale
            box = (
                int(max(0, x0 - pad)),
                int(max(0, y0 - pad)),
                int(min(image.width, x1 + pad)),
                int(min(image.height, y1 + pad)),
            )
            if box[2] <= box[0] or box[3] <= box[1]:
                box = (0, 0, image.width, image.height)
            counts[finding.page] = counts.get(finding.page, 0) + 1
            name = crop_name(label, finding.page, counts[finding.page])
            buffer = io.BytesIO()
            image.crop(box).save(buffer, format="PNG", optimize=True)
            files[name] = buffer.getvalue()
            out.append(replace(finding, crop=name))
    finally:
        document.close()
    return out, files
