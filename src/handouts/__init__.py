"""handouts: structured patient-education FAQ content → clinic-branded PDF handouts.

The public API is re-exported here lazily, so that ``handouts --help`` stays instant.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "HandoutsError": "errors",
    "Problem": "errors",
    "Project": "project",
    "load_project": "project",
    "Filters": "plan",
    "Job": "plan",
    "make_plan": "plan",
    "build_project": "build",
    "Report": "build",
    "Result": "build",
    "run_checks": "checks",
    "CheckReport": "checks",
}

__all__ = [*sorted(_EXPORTS), "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'handouts' has no attribute {name!r}")
