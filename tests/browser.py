"""The one way every browser test starts its browser: Debian's chromium driven by Playwright
(never a downloaded browser), and axe-core for accessibility.

Without chromium or Playwright the tests are skipped, each saying why (``make test`` on a
machine without a browser). With ``HANDOUTS_BROWSER_TESTS=required`` (set by ``.ci/run``,
which installs chromium) they fail instead, so CI can never pass without them.

Used through the session-scoped ``browser`` fixture in conftest.py.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("HANDOUTS_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
REQUIRED = os.environ.get("HANDOUTS_BROWSER_TESTS") == "required"


def missing() -> str:
    """Why the browser tests cannot run here, or "" when they can."""
    if not CHROMIUM.exists():
        return (
            f"Debian's chromium is not installed ({CHROMIUM}); install it with "
            "`apt-get install chromium` (CI does)"
        )
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is missing (pip install -e '.[test]')"
    return ""


def require() -> None:
    """Skip the calling test when there is no browser; fail it when one is required."""
    reason = missing()
    if not reason:
        return
    if REQUIRED:
        pytest.fail(f"HANDOUTS_BROWSER_TESTS=required, but {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


@contextmanager
def launched() -> Iterator[Any]:
    """A Playwright browser on Debian's chromium, closed afterwards."""
    require()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def axe_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now (the page's
    context must bypass its Content-Security-Policy to take the script)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
