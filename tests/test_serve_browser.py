"""The web app in a real browser: Debian's chromium driven by Playwright (never a downloaded
browser). Open the library, open a document, edit an answer and see the refreshed preview
(and the new words in the PDF), make a mistake and see it next to its field, pick a colour that
fails contrast and see the proposed shade, run axe-core on every page, and use it all by
keyboard alone.

Skipped, with the reason in the summary, when /usr/bin/chromium is missing (`.ci/run`
installs it, and sets HANDOUTS_BROWSER_TESTS=required so that CI fails instead of skipping).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

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
WAIT_MS = 180_000  # generous: a preview renders on a loaded 2-core machine
REQUIRED = os.environ.get("HANDOUTS_BROWSER_TESTS") == "required"

if not CHROMIUM.exists() and not REQUIRED:
    pytest.skip(
        f"browser tests skipped: Debian's chromium is not installed ({CHROMIUM}); "
        "install it with `apt-get install chromium` (CI does)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")
pytest.importorskip("starlette")

from handouts import api  # noqa: E402
from handouts.checks import contrast  # noqa: E402
from handouts.serve.thread import ServerThread  # noqa: E402

from conftest import REPO, copy_repo_project, pdf_text  # noqa: E402

pytestmark = pytest.mark.xdist_group("browser")

DOC = "riverside/exosome-therapy.en.leaflet.pdf"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """The example content, each brand printing the leaflet only (4 documents), built, and
    served with the warm preview worker and the file watcher."""
    root = copy_repo_project(tmp_path_factory.mktemp("browser") / "project")
    for brand in (root / "content/brands").glob("*/brand.yaml"):
        text = brand.read_text(encoding="utf-8")
        brand.write_text(
            text.replace("layouts: [leaflet, large-print, trifold]", "layouts: [leaflet]"),
            encoding="utf-8",
        )
    report = api.build(api.open_project(root).raise_for_problems(), api.BuildRequest(workers=2))
    assert not report.failed, report.failed
    with ServerThread(root, warm=True, watch=True) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail(f"HANDOUTS_BROWSER_TESTS=required but {CHROMIUM} is missing")
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


class Console:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def __call__(self, message: object) -> None:
        if getattr(message, "type", "") in ("error", "warning"):
            self.errors.append(str(getattr(message, "text", message)))


def open_page(browser, site: ServerThread, width: int = 1280, **options):
    context = browser.new_context(viewport={"width": width, "height": 900}, **options)
    context.set_default_timeout(60_000)
    page = context.new_page()
    console = Console()
    page.on("console", console)
    page.goto(site.login_url)
    return context, page, console


@pytest.fixture
def page(browser, site) -> Iterator[object]:
    context, tab, console = open_page(browser, site)
    tab.console_errors = console.errors
    yield tab
    context.close()


def csp_errors(errors: list[str]) -> list[str]:
    return [e for e in errors if "Content Security Policy" in e or "Refused to" in e]


def images_loaded(page, selector: str = "#pages img") -> None:
    page.wait_for_function(
        """(selector) => {
            const images = [...document.querySelectorAll(selector)];
            return images.length > 0 && images.every((i) => i.complete && i.naturalWidth > 0);
        }""",
        arg=selector,
        timeout=WAIT_MS,
    )


def file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- pages


def test_the_token_link_logs_in_and_the_library_lists_every_document(page, site) -> None:
    assert page.url == site.url + "/"  # the token is gone from the address
    assert page.inner_text("h1") == "Library"
    assert page.locator(".cards > li").count() == 4
    page.select_option("#f-brand", "riverside")
    page.wait_for_function("() => document.querySelectorAll('.cards > li').length === 2")
    assert "brand=riverside" in page.url  # the filter is in the address, to share or reload
    page.fill("#f-q", "terapia")
    page.wait_for_function("() => document.querySelectorAll('.cards > li').length === 1")
    assert page.inner_text(".card-title") == "Terapia con exosomas"
    images_loaded(page, ".card img")
    assert csp_errors(page.console_errors) == []


def test_opening_a_document_shows_its_pages_and_its_pdf(page, site) -> None:
    page.click(".card-title a[href='/doc/riverside/exosome-therapy/en/leaflet']")
    page.wait_for_url("**/doc/**")
    images_loaded(page)
    assert page.locator("#pages figure").count() == 2
    href = page.get_attribute("a:has-text('Download PDF')", "href")
    pdf = page.request.get(site.url + href)
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    assert page.locator(".findings li").count() > 0
    assert page.locator("button:has-text('Approve for patients')").is_disabled()
    assert csp_errors(page.console_errors) == []


def test_editing_an_answer_refreshes_the_preview_and_the_pdf(page, site) -> None:
    root = site.app.backend.root
    pdf = root / "output" / DOC
    before = file_sha(pdf)
    page.goto(site.url + "/edit/exosome-therapy/en?preview=riverside/leaflet")
    images_loaded(page)
    old = page.get_attribute("#pages", "data-sha")
    words = "Quokka lanterns glow softly in the clinic garden."
    page.fill("#f-questions-2-answer", words)
    page.click("#handout-form .form-bar button.primary >> nth=0")
    page.wait_for_selector("text=Saved at")
    # The server rebuilds the leaflet in its warm worker and says so by server-sent event;
    # the page then fetches the new page images by itself.
    page.wait_for_function(
        "(old) => { const p = document.querySelector('#pages');"
        " return p && p.dataset.sha && p.dataset.sha !== old; }",
        arg=old,
        timeout=WAIT_MS,
    )
    images_loaded(page)
    assert file_sha(pdf) != before
    assert file_sha(pdf).startswith(page.get_attribute("#pages", "data-sha"))
    assert words in " ".join(pdf_text(pdf.read_bytes()).split())
    assert page.locator("#external-change").is_hidden()  # our own save is not "elsewhere"
    assert csp_errors(page.console_errors) == []


def test_a_mistake_is_shown_next_to_its_field(page, site) -> None:
    path = site.app.backend.root / "content/handouts/exosome-therapy.yaml"
    before = path.read_bytes()
    page.goto(site.url + "/edit/exosome-therapy/en")
    page.fill("#f-questions-1-answer", "")
    page.fill("#f-questions-3-answer", "See [our page](javascript:alert(1)).")
    page.click("#handout-form .form-bar button.primary >> nth=0")
    error = page.locator("#f-questions-1-answer-error-1")
    error.wait_for()
    assert "must not be empty" in error.inner_text()
    link = page.locator("#f-questions-3-answer-error-1").inner_text()
    assert "javascript:alert(1)" in link and "is not allowed" in link
    assert page.get_attribute("#f-questions-1-answer", "aria-invalid") == "true"
    assert "f-questions-1-answer-error-1" in page.get_attribute(
        "#f-questions-1-answer", "aria-describedby"
    )
    page.wait_for_function("() => document.activeElement.id === 'error-summary'")
    assert path.read_bytes() == before  # nothing written
    assert page.locator("#error-summary a[href='#f-questions-1-answer']").count() == 1


def test_a_colour_that_fails_contrast_gets_the_proposed_darker_shade(page, site) -> None:
    project = api.open_project(site.app.backend.root)
    brand = next(b for b in project.brands if b.id == "riverside")
    pairs = [
        p for p in contrast.printed_pairs(project, brand.brand.layouts) if p.colour == "primary"
    ]
    expected = contrast.nearest_passing("#88CCDD", "primary", pairs, brand.brand.colors.accent)
    assert expected
    page.goto(site.url + "/brand/riverside")
    page.fill("#f-colors-primary", "#88CCDD")
    page.wait_for_selector(f".proposed:has-text('{expected}')")
    assert page.locator("text=Too little contrast").count() > 0
    assert page.locator("#pick-primary").input_value() == "#88ccdd"  # the picker follows
    page.click(f"button:has-text('Use {expected}')")
    page.wait_for_function("() => document.querySelectorAll('.bad').length === 0")
    assert page.input_value("#f-colors-primary") == expected
    assert page.evaluate("document.activeElement.id") == "f-colors-primary"


# ---------------------------------------------------------------- accessibility


PAGES = [
    "/",
    "/?brand=harbour&language=es",
    "/doc/riverside/exosome-therapy/en/leaflet",
    "/edit/exosome-therapy/en?preview=harbour/leaflet",
    "/edit/exosome-therapy/es/yaml",
    "/brands",
    "/brand/harbour",
    "/build",
    "/check",
    "/doc/nothing/here/en/leaflet",
]


def axe_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_axe_finds_no_serious_or_critical_violations_on_any_page(browser, site) -> None:
    context, page, _ = open_page(browser, site, bypass_csp=True)  # to inject axe only
    found = {}
    try:
        for url in PAGES:
            page.goto(site.url + url)
            page.wait_for_load_state("networkidle")
            found[url] = axe_violations(page)
        # the editor showing errors, and the brand page showing a failing colour
        page.goto(site.url + "/edit/exosome-therapy/en")
        page.fill("#f-title", "")
        page.click("#handout-form .form-bar button.primary >> nth=0")
        page.wait_for_selector("#error-summary")
        found["editor with errors"] = axe_violations(page)
        page.goto(site.url + "/brand/harbour")
        page.fill("#f-colors-primary", "#A0B8FF")
        page.wait_for_selector(".proposed")
        found["brand with a failing colour"] = axe_violations(page)
    finally:
        context.close()
    assert {url: v for url, v in found.items() if v} == {}


def test_no_page_breaks_its_content_security_policy_or_scrolls_sideways_on_a_phone(
    browser, site
) -> None:
    for width in (1280, 390):
        context, page, console = open_page(browser, site, width=width)
        try:
            for url in PAGES:
                page.goto(site.url + url)
                page.wait_for_load_state("networkidle")
                overflow = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 1, (url, width, overflow)
        finally:
            context.close()
        assert csp_errors(console.errors) == [], width


def focus_info(page) -> dict:
    return page.evaluate(
        """() => {
            const e = document.activeElement;
            const s = getComputedStyle(e);
            const r = e.getBoundingClientRect();
            return {tag: e.tagName, id: e.id, text: (e.innerText || e.value || '').slice(0, 40),
                    outline: s.outlineStyle, width: parseFloat(s.outlineWidth),
                    visible: r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < innerHeight};
        }"""
    )


def test_the_app_is_usable_by_keyboard_alone(page, site) -> None:
    page.goto(site.url + "/")
    page.keyboard.press("Tab")
    first = focus_info(page)
    assert first["text"] == "Skip to main content" and first["visible"]
    assert first["outline"] != "none" and first["width"] >= 2
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    assert focus_info(page)["id"] == "f-q"  # straight to the search, past the menu
    page.keyboard.type("terapia")
    page.wait_for_function("() => document.querySelectorAll('.cards > li').length === 2")
    # Tab on to the first document's title and open it with Enter
    for _ in range(12):
        page.keyboard.press("Tab")
        info = focus_info(page)
        assert info["outline"] != "none" and info["width"] >= 2 and info["visible"], info
        if info["tag"] == "A" and info["text"] == "Terapia con exosomas":
            break
    else:
        raise AssertionError("the first document's link was not reached by Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/doc/**")
    # in the editor, every control on the way to Save shows where the focus is
    page.goto(site.url + "/edit/exosome-therapy/es")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # skip link
    for _ in range(8):
        page.keyboard.press("Tab")
        info = focus_info(page)
        assert info["outline"] != "none" and info["width"] >= 2 and info["visible"], info
        if info["tag"] == "BUTTON" and info["text"] == "Save":
            break
    else:
        raise AssertionError("the Save button was not reached by Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Saved at")


def test_screenshot_script_runs(browser, site, tmp_path: Path) -> None:
    """docs/make_screenshots.py draws the README's pictures from this same browser."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("shots", REPO / "docs/make_screenshots.py")
    assert spec and spec.loader
    shots = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shots)
    written = shots.take(site, tmp_path, browser)
    assert {p.name for p in written} >= {"serve-library.png", "serve-editor.png"}
    for path in written:
        assert path.read_bytes().startswith(b"\x89PNG") and path.stat().st_size > 20_000
