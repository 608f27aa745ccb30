"""The `--format web` page in a real browser: axe-core finds no serious or critical problem in
any brand's page in either language, it reads on a small phone without sideways scrolling,
and its title, one heading per question and the clinic's logo are there. A screenshot of each
page at each width is left beside it in the test's folder, to look at."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser import axe_violations
from handouts import api

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def web_pages(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("web")
    report = api.build(
        api.open_project(REPO), api.BuildRequest(formats=["web"], out=out, workers=1)
    )
    assert not report.failed
    pages = sorted(out.glob("*/*.html"))
    assert len(pages) == 4, pages
    return pages


@pytest.mark.parametrize("width", [1280, 360])
def test_every_web_page_passes_axe_and_fits_the_screen(browser, web_pages, width) -> None:
    context = browser.new_context(viewport={"width": width, "height": 800}, bypass_csp=True)
    try:
        page = context.new_page()
        for path in web_pages:
            page.goto(path.as_uri())
            assert page.evaluate("document.documentElement.lang") in ("en", "es")
            assert page.locator("h1").count() == 1
            assert page.locator("h2").count() >= 5, path  # one per question
            logo = page.locator("img").first
            assert logo.get_attribute("alt"), path
            assert page.evaluate("document.images[0].naturalWidth") > 0, path
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 1, (path, width, overflow)
            assert axe_violations(page) == [], (path, width)
            page.screenshot(path=str(path.with_suffix(f".{width}.png")), full_page=True)
    finally:
        context.close()
