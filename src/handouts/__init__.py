"""handouts: structured patient-education FAQ content → clinic-branded PDF handouts.

The public API (``handouts.api``) is re-exported here lazily, so that ``handouts --help``
stays instant.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "HandoutsError": "errors",
    "Problem": "errors",
    "Project": "project",
    "open_project": "api",
    "BuildRequest": "api",
    "build": "api",
    "check": "api",
    "dry_run": "api",
    "plan": "api",
    "prune_outputs": "api",
    "Filters": "plan",
    "Job": "plan",
    "Plan": "plan",
    "Report": "results",
    "Result": "results",
    "CheckReport": "checks",
    "Limits": "workers",
}

__all__ = [*sorted(_EXPORTS), "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'handouts' has no attribute {name!r}")
