"""The import graph: front ends on top of the API, the API on top of the stages, and nothing
below importing upward (lazy imports inside functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "handouts"

# Highest first. A module may import from its own layer and the layers below it.
LAYERS: list[tuple[str, set[str]]] = [
    ("front ends", {"cli", "console", "clidoc", "__main__", "serve"}),
    ("services", {"send", "importers"}),  # features on top of the API: sending, importing
    ("api", {"api"}),
    (
        "orchestration",
        {"build", "prune", "noop", "workers", "lock", "gallery", "manifest", "checks", "scaffold"}
        | {"history"},
    ),
    (
        "stages",
        {"formats", "render", "context", "plan", "project", "fetcher", "webpage"}
        | {"review", "preflight", "layoutboxes"},
    ),
    (
        "foundations",
        {
            "models", "yamlio", "markup", "qr", "assets", "files", "errors", "defaults", "i18n",
            "results", "__init__",
        }
        | {"fingerprint", "yamledit"},
    ),
]  # fmt: skip
RENDERING = {"render", "fetcher"}  # the only modules that may import WeasyPrint


def _rank(module: str) -> int:
    for rank, (_, names) in enumerate(LAYERS):
        if module in names:
            return rank
    raise AssertionError(f"{module} is in no layer of tests/test_architecture.py: add it")


def _top(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return parts[0]


def _imports(path: Path) -> list[tuple[str, int]]:
    """(our top-level module, line) for every import of ours in ``path``; 'weasyprint' too."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    depth = len(path.relative_to(SRC).parts) - 1
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                names = [node.module or ""]
            elif node.level > depth + 1:
                continue
            else:
                base = list(path.relative_to(SRC).parts[: depth + 1 - node.level])
                if node.module:
                    names = [".".join([*base, node.module])]
                else:
                    names = [".".join([*base, a.name]) for a in node.names]
            for name in names:
                name = name.removeprefix("handouts.") if node.level == 0 else name
                if node.level == 0 and not (node.module or "").startswith(("handouts", "weasy")):
                    continue
                top = name.split(".")[0]
                exists = (SRC / f"{top}.py").is_file() or (SRC / top).is_dir()
                found.append((top if exists else "__init__", node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(("handouts.", "weasyprint")):
                    top = alias.name.removeprefix("handouts.").split(".")[0]
                    found.append((top, node.lineno))
    return found


def test_nothing_imports_upward() -> None:
    wrong = []
    for path in sorted(SRC.rglob("*.py")):
        me = _top(path)
        for name, line in _imports(path):
            if name == "weasyprint":
                if me not in RENDERING:
                    wrong.append(f"{path.relative_to(SRC)}:{line} imports WeasyPrint")
                continue
            if name == me or name == "handouts":
                continue
            if _rank(name) < _rank(me):
                wrong.append(
                    f"{path.relative_to(SRC)}:{line} ({LAYERS[_rank(me)][0]}) imports {name} "
                    f"({LAYERS[_rank(name)][0]})"
                )
    assert wrong == []


def test_the_cli_reaches_the_library_only_through_the_api() -> None:
    allowed = {"api", "console", "errors", "defaults", "noop", "results", "checks", "__init__"}
    allowed |= {"send", "importers"}
    allowed |= {"scaffold", "clidoc", "i18n"}
    allowed |= {"serve"}  # the web app: another front end, imported only by `handouts serve`
    used = {name for name, _ in _imports(SRC / "cli.py")} - {"cli"}
    assert used <= allowed, used - allowed


def test_the_web_app_reaches_the_library_through_the_api_and_no_private_name() -> None:
    """serve/ is a front end: it calls the library through api.py (and sending through send/),
    and uses otherwise only helpers that do no work of their own. It never borrows a private
    name (a loader's internals, a worker's set-up): what it needs is in the API."""
    allowed = {"api", "send", "errors", "i18n", "checks"}  # as the CLI
    allowed |= {"project"}  # its public types only (LoadedHandout, LoadedBrand, Project)
    allowed |= {"files", "manifest"}  # reading what a build wrote, confined to the output
    allowed |= {"assets"}  # the logo rules the CLI applies, the built-in fonts
    allowed |= {"render", "context"}  # the one Jinja environment; the brand's derived colours
    used: dict[str, list[str]] = {}
    private = []
    for path in sorted((SRC / "serve").rglob("*.py")):
        for name, line in _imports(path):
            if name not in ("serve", "handouts"):
                used.setdefault(name, []).append(f"{path.relative_to(SRC)}:{line}")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.level > 1 or node.level == 0):
                if node.level == 0 and not (node.module or "").startswith("handouts"):
                    continue
                private += [
                    f"{path.relative_to(SRC)}:{node.lineno} imports {a.name}"
                    for a in node.names
                    if a.name.startswith("_") and a.name != "__version__"
                ]
    assert {k: v for k, v in used.items() if k not in allowed} == {}
    assert private == []
