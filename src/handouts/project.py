"""A project on disk: its handouts, brands, templates and fonts, loaded and cross-checked.

Every file is loaded on its own: a file with errors is reported (every problem in it at once)
and left out with what depends on it, and the rest of the project stays usable. Each left-out
file is remembered as ``Broken``, so that what depends on it can say why it is not built
instead of reporting a false "no handout has the id".
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from . import markup
from .assets import builtin_dir, family_problem, font_families, image_problem
from .errors import HandoutsError, Problem
from .models import Brand, Handout, LayoutSpec, Settings, did_you_mean, parse
from .yamlio import Document, KeyPath, Mark, format_key, load_yaml, located_problem

SETTINGS = "handouts.yaml"  # optional project settings at the project's root
DEFAULT_FONT = "Atkinson Hyperlegible"


@dataclass(frozen=True)
class Broken:
    """A file that did not load; everything that depends on it is skipped and counted."""

    kind: Literal["handout", "brand", "settings", "layout"]
    name: str  # the handout id or brand id (from the file or folder name), or the layout
    display: str  # the file as shown to users
    language: str | None = None  # for handouts: from the file name


@dataclass(frozen=True)
class LoadedHandout:
    handout: Handout
    path: Path
    display: str
    marks: dict[KeyPath, Mark]

    @property
    def id(self) -> str:
        assert self.handout.id
        return self.handout.id

    @property
    def language(self) -> str:
        assert self.handout.language
        return self.handout.language

    def problem(self, key: KeyPath, message: str, hint: str = "") -> Problem:
        return located_problem(self.display, self.marks, key, message, hint)

    # The handout as the checks see it, computed once here rather than in each check.

    @cached_property
    def cited(self) -> frozenset[str]:
        """The ids of the references some notice or question cites (only those are printed)."""
        doc = self.handout
        return frozenset(s for item in (*doc.notices, *doc.questions) for s in item.sources)

    @cached_property
    def prose(self) -> tuple[tuple[KeyPath, str], ...]:
        """The running text, as Markdown: notices, answers and the closing text."""
        doc = self.handout
        texts: list[tuple[KeyPath, str]] = [
            (("notices", i, "text"), n.text) for i, n in enumerate(doc.notices)
        ]
        texts += [(("questions", i, "answer"), q.answer) for i, q in enumerate(doc.questions)]
        if doc.closing and doc.closing.text:
            texts.append((("closing", "text"), doc.closing.text))
        return tuple(texts)

    @cached_property
    def headings(self) -> tuple[tuple[KeyPath, str], ...]:
        """Title, subtitle, questions and the closing heading."""
        doc = self.handout
        texts: list[tuple[KeyPath, str | None]] = [
            (("title",), doc.title),
            (("subtitle",), doc.subtitle),
        ]
        texts += [(("questions", i, "question"), q.question) for i, q in enumerate(doc.questions)]
        if doc.closing:
            texts.append((("closing", "heading"), doc.closing.heading))
        return tuple((k, t) for k, t in texts if t)

    @cached_property
    def printed_texts(self) -> tuple[tuple[KeyPath, str], ...]:
        """Everything of the handout that gets printed, as plain text, with its key."""
        doc = self.handout
        prose = dict(self.prose)
        texts: list[tuple[KeyPath, str | None]] = [
            (("title",), doc.title),
            (("subtitle",), doc.subtitle),
        ]
        if doc.review:
            texts += [(("review", "reviewed_by"), doc.review.reviewed_by)]
            texts += [(("review", "version"), str(doc.review.version))]
        if doc.translation:
            texts += [(("translation", "translated_by"), doc.translation.translated_by)]
            texts += [(("translation", "reviewed_by"), doc.translation.reviewed_by)]
        for i, _ in enumerate(doc.notices):
            texts.append((("notices", i, "text"), markup.plain(prose[("notices", i, "text")])))
        for i, q in enumerate(doc.questions):
            texts.append((("questions", i, "question"), q.question))
            texts.append((("questions", i, "answer"), markup.plain(q.answer)))
        for i, ref in enumerate(doc.references):
            if ref.id not in self.cited:
                continue  # never printed
            for name in ("title", "authors", "journal", "publisher", "volume"):
                texts.append((("references", i, name), getattr(ref, name)))
            texts.append((("references", i, "url"), ref.link))
        if doc.closing:
            texts.append((("closing", "heading"), doc.closing.heading))
            texts.append((("closing", "text"), markup.plain(doc.closing.text or "")))
        return tuple((k, t) for k, t in texts if t)


@dataclass(frozen=True)
class LoadedBrand:
    brand: Brand
    path: Path
    display: str
    folder: Path
    logo: Path | None
    marks: dict[KeyPath, Mark]

    def problem(self, key: KeyPath, message: str, hint: str = "") -> Problem:
        return located_problem(self.display, self.marks, key, message, hint)

    @property
    def id(self) -> str:
        assert self.brand.id
        return self.brand.id


@dataclass(frozen=True)
class Project:
    root: Path
    handouts: tuple[LoadedHandout, ...]
    brands: tuple[LoadedBrand, ...]
    template_dirs: tuple[Path, ...]
    font_dirs: tuple[Path, ...]
    layouts: tuple[str, ...]
    specs: dict[str, LayoutSpec]
    settings: Settings = field(default_factory=Settings)
    problems: tuple[Problem, ...] = ()  # every problem in every file, in file order
    broken: tuple[Broken, ...] = ()  # the files those problems left out

    def handout_versions(self, handout_id: str) -> dict[str, LoadedHandout]:
        return {h.language: h for h in self.handouts if h.id == handout_id}

    def broken_of(self, kind: str) -> dict[str, list[Broken]]:
        found: dict[str, list[Broken]] = {}
        for b in self.broken:
            if b.kind == kind:
                found.setdefault(b.name, []).append(b)
        return found

    def handout_ids(self, *, with_broken: bool = False) -> list[str]:
        """Every handout id, sorted; with ``with_broken``, also those of files with errors."""
        ids = {h.id for h in self.handouts}
        if with_broken:
            ids |= set(self.broken_of("handout"))
        return sorted(ids)

    def wanted_by(self, brand: LoadedBrand) -> list[str]:
        """The handout ids a brand asks for (`all`, or its list), files with errors included:
        this is the one place that decides which handouts a brand prints."""
        if brand.brand.handouts == "all":
            return self.handout_ids(with_broken=True)
        return list(brand.brand.handouts)

    def brands_printing(self, handout: LoadedHandout) -> list[LoadedBrand]:
        """The brands that print ``handout`` in its language."""
        return [
            b
            for b in self.brands
            if handout.id in self.wanted_by(b) and handout.language in b.brand.languages
        ]

    def layouts_of(self, brands: Iterable[LoadedBrand]) -> list[str]:
        """The layouts those brands use, in the project's order."""
        wanted = {layout for b in brands for layout in b.brand.layouts}
        return [name for name in self.layouts if name in wanted and name in self.specs]

    def raise_for_problems(self) -> Project:
        """All or nothing: raise HandoutsError listing every problem, else return self."""
        if self.problems:
            raise HandoutsError(self.problems)
        return self


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _layouts(template_dirs: Iterable[Path]) -> tuple[str, ...]:
    names = {p.parent.name for d in template_dirs for p in d.glob("*/page.html")}
    names.discard("base")
    return tuple(sorted(names))


def layout_file(template_dirs: tuple[Path, ...], name: str) -> Path | None:
    """The layout.yaml in use for layout ``name``: the project's own first, else built-in."""
    return next(
        (d / name / "layout.yaml" for d in template_dirs if (d / name / "layout.yaml").is_file()),
        None,
    )


def _load_specs(
    template_dirs: tuple[Path, ...], layouts: tuple[str, ...], root: Path, out: _Collected
) -> dict[str, LayoutSpec]:
    """Each layout's layout.yaml, or the defaults; a layout whose file has errors is left out."""
    specs: dict[str, LayoutSpec] = {}
    for name in layouts:
        path = layout_file(template_dirs, name)
        if path is None:
            specs[name] = LayoutSpec()
            continue
        display = _display(path, root)
        try:
            specs[name] = parse(LayoutSpec, load_yaml(path, display))
        except HandoutsError as exc:
            out.fail(Broken("layout", name, display), exc.problems)
    return specs


class _Collected:
    """Problems and left-out files, gathered while loading."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.broken: list[Broken] = []

    def fail(self, broken: Broken, problems: Iterable[Problem]) -> None:
        self.broken.append(broken)
        self.problems.extend(problems)


def load_project(root: Path | str, *, keep_going: bool = False) -> Project:
    """Load and cross-check everything under ``root``.

    With ``keep_going`` every file is loaded on its own and the project comes back with its
    ``problems`` and ``broken`` files listed (what front ends use: one bad file never stops
    the rest); without it any problem raises HandoutsError listing them all. A missing
    project folder raises either way.
    """
    root = Path(root).resolve()
    content = root / "content"
    if not root.is_dir():
        raise HandoutsError(
            Problem(str(root), "this folder does not exist", hint="check the path given with -C")
        )
    if not content.is_dir():
        raise HandoutsError(
            Problem(
                _display(root, Path.cwd()),
                "no content/ folder here",
                hint="run the command inside a handouts project, or point at one with -C DIR",
            )
        )
    template_dirs = tuple(d for d in (root / "templates", builtin_dir("templates")) if d.is_dir())
    font_dirs = tuple(d for d in (root / "fonts", builtin_dir("fonts")) if d.is_dir())
    layouts = _layouts(template_dirs)
    out = _Collected()
    specs = _load_specs(template_dirs, layouts, root, out)
    settings = Settings()
    if os.path.lexists(root / SETTINGS):
        try:
            settings = parse(Settings, load_yaml(root / SETTINGS, SETTINGS))
        except HandoutsError as exc:
            out.fail(Broken("settings", "settings", SETTINGS), exc.problems)

    handouts = _load_handouts(content / "handouts", root, out)
    families = tuple(font_families(font_dirs))
    good_ids = {h.id for h in handouts}
    broken_ids = {b.name for b in out.broken if b.kind == "handout"}
    brands = _load_brands(content / "brands", root, good_ids, broken_ids, layouts, families, out)
    if not handouts and not broken_ids:
        out.problems.append(
            Problem(
                _display(content / "handouts", root),
                "no handouts found",
                hint="add a file such as content/handouts/my-topic.yaml",
            )
        )
    if not brands and not any(b.kind == "brand" for b in out.broken):
        out.problems.append(
            Problem(
                _display(content / "brands", root),
                "no brands found",
                hint="add a folder such as content/brands/my-clinic/ with a brand.yaml",
            )
        )
    project = Project(
        root,
        tuple(handouts),
        tuple(brands),
        template_dirs,
        font_dirs,
        layouts,
        specs,
        settings,
        tuple(out.problems),
        tuple(out.broken),
    )
    return project if keep_going else project.raise_for_problems()


# ---------------------------------------------------------------- handouts


def _name_parts(path: Path) -> tuple[str, str]:
    """The id and language a handout file's name gives: ``x.es.yaml`` → (x, es)."""
    stem, _, lang = path.stem.partition(".")
    return stem, lang or "en"


def _load_handouts(folder: Path, root: Path, out: _Collected) -> list[LoadedHandout]:
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    loaded: list[LoadedHandout] = []
    seen: dict[tuple[str, str], LoadedHandout] = {}
    for path in files:
        display = _display(path, root)
        name, lang = _name_parts(path)
        try:
            h = _load_handout(path, display)
        except HandoutsError as exc:
            out.fail(Broken("handout", name, display, lang), exc.problems)
            continue
        other = seen.setdefault((h.id, h.language), h)
        if other is not h:
            problem = Problem(
                h.display,
                f"handout '{h.id}' in language '{h.language}' is also defined in {other.display}",
                1,
                1,
                "id",
                "give one of them another id or language",
            )
            out.fail(Broken("handout", h.id, display, h.language), [problem])
            continue
        loaded.append(h)
    return loaded


def _load_handout(path: Path, display: str) -> LoadedHandout:
    """One handout file; every problem in it is reported at once."""
    doc = load_yaml(path, display)
    stem, _, lang = path.stem.partition(".")
    defaults: dict[str, Any] = {"id": stem, "language": lang or "en"}
    problems: list[Problem] = []
    handout: Handout | None = None
    try:
        handout = _parse_with_defaults(Handout, doc, defaults, "file")
    except HandoutsError as exc:
        problems += exc.problems
    # These look at the file's data as written, so they are found even when a field elsewhere
    # in the file is wrong (a bad `url:` must not hide a bad link in an answer).
    problems += _handout_cross_checks(doc, handout, lang)
    if problems:
        raise HandoutsError(_in_file_order(problems))
    assert handout is not None
    return LoadedHandout(handout, path, doc.display, doc.values)


def _in_file_order(problems: list[Problem]) -> list[Problem]:
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (p.line or 0, p.col or 0))


def _parse_with_defaults(model: Any, doc: Document, defaults: dict[str, Any], source: str) -> Any:
    """Validate with values taken from the file or folder name; a bad one is blamed on the
    name, with a hint to rename, not on an unrelated line of the file."""
    try:
        return parse(model, doc, defaults)
    except HandoutsError as exc:
        problems = []
        for p in exc.problems:
            if p.key in defaults and p.key not in doc.data:
                p = Problem(
                    doc.display,
                    f"the {source} name gives the {p.key} '{defaults[p.key]}', which {p.message}",
                    hint=f"rename the {source} using lower-case words and dashes, "
                    f"or set `{p.key}:` in the file",
                )
            problems.append(p)
        raise HandoutsError(problems) from None


def _items(data: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    """The mappings of the list at ``key`` of ``data`` (whatever else is there, the model
    reports)."""
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _handout_cross_checks(
    doc: Document, handout: Handout | None, lang_from_name: str
) -> list[Problem]:
    """References cited but not defined, ids used twice, and links inside the Markdown; read
    from the data as written, so a model error elsewhere in the file hides none of them."""
    problems: list[Problem] = []
    data = doc.data
    if handout is not None and lang_from_name and handout.language != lang_from_name:
        problems.append(
            doc.problem(
                ("language",),
                f"the file name says '{lang_from_name}' but the file says '{handout.language}'",
                "make them agree",
            )
        )
    ref_ids: set[str] = set()
    for i, ref in _items(data, "references"):
        ref_id = ref.get("id")
        if not isinstance(ref_id, str):
            continue
        if ref_id in ref_ids:
            problems.append(
                doc.problem(
                    ("references", i, "id"),
                    f"reference id '{ref_id}' is used twice",
                    "give each reference its own id",
                )
            )
        ref_ids.add(ref_id)
    for section in ("notices", "questions"):
        for i, item in _items(data, section):
            sources = item.get("sources")
            if not isinstance(sources, list):
                continue
            for j, source in enumerate(sources):
                if isinstance(source, str) and source not in ref_ids:
                    hint = did_you_mean(source, ref_ids) or "add it under `references:`"
                    problems.append(
                        doc.problem(
                            (section, i, "sources", j), f"no reference has the id '{source}'", hint
                        )
                    )
    texts: list[tuple[KeyPath, Any]] = [
        (("notices", i, "text"), n.get("text")) for i, n in _items(data, "notices")
    ] + [(("questions", i, "answer"), q.get("answer")) for i, q in _items(data, "questions")]
    closing = data.get("closing") if isinstance(data, dict) else None
    if isinstance(closing, dict):
        texts.append((("closing", "text"), closing.get("text")))
    for key, text in texts:
        if not isinstance(text, str):
            continue
        mark = doc.mark(key)
        for issue in markup.check(text):
            line = mark.line + issue.line + (1 if mark.block else 0)
            problems.append(
                Problem(doc.display, issue.message, line, None, format_key(key), issue.hint)
            )
    return problems


# ---------------------------------------------------------------- brands


def _load_brands(
    folder: Path,
    root: Path,
    good_ids: set[str],
    broken_ids: set[str],
    layouts: tuple[str, ...],
    families: tuple[str, ...],
    out: _Collected,
) -> list[LoadedBrand]:
    loaded: list[LoadedBrand] = []
    seen: dict[str, LoadedBrand] = {}
    for sub in sorted(p for p in folder.glob("*") if p.is_dir()):
        path = sub / "brand.yaml"
        display = _display(path, root)
        if not os.path.lexists(path):
            if any(sub.iterdir()):
                out.problems.append(
                    Problem(
                        _display(sub, root),
                        "this brand folder has no brand.yaml",
                        hint="add one (handouts new brand writes a starter), rename brand.yml "
                        "to brand.yaml, or remove the folder",
                    )
                )
            continue
        try:
            b = _load_brand(path, display, good_ids, broken_ids, layouts, families)
        except HandoutsError as exc:
            out.fail(Broken("brand", sub.name, display), exc.problems)
            continue
        other = seen.setdefault(b.id, b)
        if other is not b:
            problem = Problem(
                b.display,
                f"brand id '{b.id}' is also used by {other.display}",
                1,
                1,
                "id",
                "use a unique id",
            )
            out.fail(Broken("brand", b.id, display), [problem])
            continue
        loaded.append(b)
    return loaded


def _load_brand(
    path: Path,
    display: str,
    good_ids: set[str],
    broken_ids: set[str],
    layouts: tuple[str, ...],
    families: tuple[str, ...],
) -> LoadedBrand:
    """One brand file; every problem in it is reported at once."""
    doc = load_yaml(path, display)
    folder = path.parent
    problems: list[Problem] = []
    brand: Brand | None = None
    try:
        brand = _parse_with_defaults(Brand, doc, {"id": folder.name}, "folder")
    except HandoutsError as exc:
        problems += exc.problems
    data = doc.data if isinstance(doc.data, dict) else {}
    logo: Path | None = None
    name = data.get("logo")
    if isinstance(name, str) and name.strip():
        logo, problem = _resolve_logo(name.strip(), folder, Path(doc.display).parent)
        if problem:
            problems.append(doc.problem(("logo",), problem[0], problem[1]))
    font = data.get("font", DEFAULT_FONT)
    # A name the model refuses (family_problem) is reported by the model, once.
    if isinstance(font, str) and font not in families and not family_problem(font):
        hint = did_you_mean(font, families) or "available: " + ", ".join(families)
        problems.append(doc.problem(("font",), f"font '{font}' is not in fonts/", hint))
    for i, layout in _strings(data.get("layouts")):
        if layout not in layouts:
            hint = did_you_mean(layout, layouts) or "available: " + ", ".join(layouts)
            problems.append(doc.problem(("layouts", i), f"unknown layout '{layout}'", hint))
    for i, hid in _strings(data.get("handouts")):
        # A handout whose file has errors is reported there; its documents fail with a
        # pointer to it (plan.py), rather than a false "no handout has the id" here.
        if hid not in good_ids and hid not in broken_ids:
            hint = did_you_mean(hid, good_ids | broken_ids) or "check content/handouts/"
            problems.append(doc.problem(("handouts", i), f"no handout has the id '{hid}'", hint))
    if problems:
        raise HandoutsError(_in_file_order(problems))
    assert brand is not None
    return LoadedBrand(brand, path, doc.display, folder.resolve(), logo, doc.values)


def _strings(value: Any) -> list[tuple[int, str]]:
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, str)]


def _resolve_logo(
    name: str, folder: Path, shown: Path
) -> tuple[Path | None, tuple[str, str] | None]:
    real_folder = Path(os.path.realpath(folder))
    candidate = Path(os.path.realpath(folder / name))
    if Path(name).is_absolute() or not candidate.is_relative_to(real_folder):
        return None, (
            f"the logo '{name}' is outside the brand's folder",
            "put the logo file next to brand.yaml and give just its name",
        )
    if not os.path.exists(candidate):  # a FIFO exists: image_problem says what it is
        return None, (
            f"the logo file '{name}' does not exist",
            f"put it in {shown.as_posix()}/ or fix the name",
        )
    if problem := image_problem(candidate):
        hint = (
            "save it smaller: about 1500 pixels across is plenty"
            if "too large" in problem or "pixels" in problem
            else "export the logo again as a plain SVG or PNG"
        )
        return None, (f"the logo '{name}' {problem}", hint)
    return candidate, None
