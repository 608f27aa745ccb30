"""Brand accessibility: contrast of every brand colour that text is set in or on (WCAG 2.2,
1.4.3), with the nearest passing shade, and the smallest body size each layout may print at."""

from __future__ import annotations

import colorsys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from ..assets import builtin_dir
from ..context import theme_colors
from ..errors import HandoutsError, Problem
from ..models import LayoutSpec, parse
from ..project import Project, layout_file
from ..yamlio import load_yaml
from .registry import CheckContext, check
from .report import Finding

WHITE = "#FFFFFF"
BODY = "#1A1A1A"  # base.css: html { color }
GREY = "#555555"  # the lightest grey set as text on a tint (.ref-missing)
NORMAL_TEXT = 4.5  # WCAG 1.4.3 (AA)
LARGE_TEXT = 3.0  # ...for text of 18 pt (24 px), or 14 pt (18.66 px) bold, and larger


def required_ratio(size_pt: float, bold: bool) -> float:
    """The WCAG minimum for text of this size: large text needs 3:1, the rest 4.5:1."""
    return LARGE_TEXT if size_pt >= (14 if bold else 18) else NORMAL_TEXT


def luminance(colour: str) -> float:
    """WCAG relative luminance of ``#RRGGBB``."""
    channels = []
    for i in (1, 3, 5):
        c = int(colour[i : i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = channels
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours, from 1 to 21."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@dataclass(frozen=True, slots=True)
class Pair:
    """Text of one colour on a background of another, where the templates put it."""

    id: str  # what a layout.yaml lists under colour_pairs
    what: str
    colour: str  # the brand colour it depends on: "primary" or "accent"
    colours: Callable[[dict[str, str]], tuple[str, str]]  # theme → (text, background)
    needs: float


# Sizes are the built-in CSS's at the smallest body sizes (11 pt leaflet, 9 pt tri-fold).
# Question headings are 1.2-1.22 rem bold, 10.8-13.4 pt: not large text, so the primary colour
# must reach 4.5:1 on white even though the title (2.45 rem, about 27 pt) would need only 3:1.
PAIRS: tuple[Pair, ...] = (
    Pair(
        "title",
        "the title on white",
        "primary",
        lambda t: (t["primary"], WHITE),
        required_ratio(27, True),
    ),
    Pair(
        "headings",
        "question headings on white",
        "primary",
        lambda t: (t["primary"], WHITE),
        required_ratio(10.8, True),
    ),
    Pair(
        "closing-text",
        "white text on the closing block",
        "primary",
        lambda t: (WHITE, t["primary"]),
        required_ratio(10.5, False),  # contact lines: 0.96 rem
    ),
    Pair(
        "clinic-name",
        "the clinic's name (primary_dark) on white",
        "primary",
        lambda t: (t["primary_dark"], WHITE),
        required_ratio(8, True),  # also in the 8 pt running footer
    ),
    Pair(
        "sources-text",
        "body text on the sources box (primary_tint)",
        "primary",
        lambda t: (BODY, t["primary_tint"]),
        required_ratio(8.5, False),  # 0.77 rem
    ),
    Pair(
        "sources-grey",
        "grey notes on the sources box (primary_tint)",
        "primary",
        lambda t: (GREY, t["primary_tint"]),
        required_ratio(7.7, False),
    ),
    Pair(
        "notice-text",
        "notice text on the accent_tint",
        "accent",
        lambda t: (BODY, t["accent_tint"]),
        required_ratio(12, False),
    ),
    Pair(
        "notice-grey",
        "grey notes under the notice on the accent_tint",
        "accent",
        lambda t: (GREY, t["accent_tint"]),
        required_ratio(7.9, False),
    ),
)


def _failures(pairs: list[Pair], primary: str, accent: str) -> list[tuple[Pair, float]]:
    t = theme_colors(primary, accent)  # exactly the colours the templates get
    return [(p, r) for p in pairs if (r := contrast(*p.colours(t))) < p.needs]


def _hex(r: float, g: float, b: float) -> str:
    return "#" + "".join(f"{round(c * 255):02X}" for c in (r, g, b))


def nearest_passing(colour: str, role: str, pairs: list[Pair], other: str) -> str | None:
    """The nearest shade of ``colour`` (same hue and saturation in HLS) for which every pair
    passes: darker for the primary colour (text on white, white on it), lighter for the
    accent (dark text on its tint). None when no shade does."""
    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    h, lightness, s = colorsys.rgb_to_hls(r, g, b)
    step = -0.005 if role == "primary" else 0.005
    while 0 <= lightness + step <= 1:
        lightness += step
        candidate = _hex(*colorsys.hls_to_rgb(h, lightness, s))
        primary, accent = (candidate, other) if role == "primary" else (other, candidate)
        if not _failures(pairs, primary, accent):
            return candidate
    return None


PAIR_IDS = tuple(p.id for p in PAIRS)


def printed_pairs(project: Project, layouts: list[str]) -> list[Pair]:
    """The pairs the brand's layouts print, as each layout.yaml lists them under
    `colour_pairs` (a layout that lists none is held to every pair)."""
    wanted: set[str] = set()
    for name in layouts:
        spec = project.specs.get(name)
        listed = spec.colour_pairs if spec is not None else None
        wanted |= set(PAIR_IDS if listed is None else listed)
    return [p for p in PAIRS if p.id in wanted]


@check("brand")
def brand_contrast(ctx: CheckContext) -> list[Finding]:
    """One error per brand colour that some text cannot be read in or on."""
    project, brand = ctx.project, ctx.b
    colors = brand.brand.colors
    pairs = printed_pairs(project, brand.brand.layouts)
    findings = []
    for role, colour, other in (
        ("primary", colors.primary, colors.accent),
        ("accent", colors.accent, colors.primary),
    ):
        own = [p for p in pairs if p.colour == role]
        failed = _failures(own, colors.primary, colors.accent)
        if not failed:
            continue
        listed = "; ".join(f"{p.what} {ratio:.1f}:1 (needs {p.needs:g}:1)" for p, ratio in failed)
        direction = "light" if role == "primary" else "dark"
        suggestion = nearest_passing(colour, role, own, other)
        hint = (
            f'use "{suggestion}", the nearest {"darker" if role == "primary" else "lighter"} '
            "shade of the same hue that passes"
            if suggestion
            else "choose a colour with more contrast"
        )
        problem = brand.problem(
            ("colors", role),
            f"the {role} colour {colour} is too {direction} for text: {listed}",
            hint,
        )
        findings.append(Finding("error", "contrast.text", problem, brands=(brand.id,)))
    return findings


# ---------------------------------------------------------------- body size

DEFAULT_FLOOR_PT = 11.0  # a layout whose layout.yaml sets no body_floor_pt


@cache
def _builtin_floor(name: str) -> float | None:
    """The floor the built-in layout of that name promises (a project that overrides the
    layout may raise it, never lower it)."""
    path = builtin_dir("templates") / name / "layout.yaml"
    if not path.is_file():
        return None
    try:
        return parse(LayoutSpec, load_yaml(path)).body_floor_pt
    except HandoutsError:  # pragma: no cover - the built-in files are tested
        return None


def body_floor(name: str, spec: LayoutSpec) -> float:
    """The smallest body size layout ``name`` may print at."""
    own = spec.body_floor_pt if spec.body_floor_pt is not None else DEFAULT_FLOOR_PT
    builtin = _builtin_floor(name)
    return max(own, builtin) if builtin is not None else own


@check("project")
def body_sizes(ctx: CheckContext) -> list[Finding]:
    """An error for each layout whose body type may shrink below its floor."""
    project = ctx.project
    findings = []
    for name, spec in project.specs.items():
        floor = body_floor(name, spec)
        smallest = min(spec.body_pt, spec.min_body_pt or spec.body_pt)
        if smallest >= floor:
            continue
        field = "min_body_pt" if spec.min_body_pt is not None else "body_pt"
        problem = _layout_problem(
            project,
            name,
            field,
            f"body text may be set at {smallest:g} pt, below this layout's floor of {floor:g} pt",
            f"set {field}: {floor:g} (or more)",
        )
        findings.append(Finding("error", "layout.body-size", problem, layouts=(name,)))
    return findings


def _layout_problem(project: Project, name: str, field: str, message: str, hint: str) -> Problem:
    """A Problem at ``field`` of the layout.yaml in use (the project's own, else built-in)."""
    path = layout_file(project.template_dirs, name)
    if path is None:
        return Problem(f"templates/{name}/layout.yaml", message, hint=hint)
    shown = str(path.relative_to(project.root)) if path.is_relative_to(project.root) else str(path)
    return load_yaml(path, shown).problem((field,), message, hint)
