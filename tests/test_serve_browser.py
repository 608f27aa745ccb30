"""The web app in a real browser: Debian's chromium driven by Playwright (never a downloaded
browser; tests/browser.py starts it). Open the library, open a document, edit an answer and
see the refreshed preview (and the new words in the PDF), make a mistake and see it next to its
field, pick a colour that fails contrast and see the proposed shade, approve a changed handout
and see the DRAFT mark go, send a leaflet to a real SMTP server on loopback, run axe-core on
every page and form, and use it all by keyboard alone.

Skipped, with the reason in the summary, when chromium or Playwright is missing (`.ci/run`
installs chromium, and sets HANDOUTS_BROWSER_TESTS=required so that CI fails instead).
"""

from __future__ import annotations

import hashlib
import socket
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("starlette")

from browser import axe_violations
from handouts import api
from handouts.checks import contrast
from handouts.serve.thread import ServerThread
from test_send import Recorder, _BoundController  # the send tests' SMTP server

from conftest import BRAND, HANDOUT, LOGO_SVG, REPO, copy_repo_project, pdf_text

pytestmark = pytest.mark.xdist_group("browser")

WAIT_MS = 180_000  # generous: a preview renders on a loaded 2-core machine
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
    assert page.locator("#approve button:has-text('Approve this text')").is_enabled()
    assert page.get_attribute("a:has-text('Send to a patient')", "href").endswith("/send")
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
    # the list is swapped in when the last search has come back (an earlier one, sent on a
    # pause in the typing, must not replace it under the focus)
    page.wait_for_function(
        """() => location.search.includes('q=terapia')
            && document.querySelectorAll('.cards > li').length === 2
            && !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"""
    )
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
    names = {"serve-library.png", "serve-editor.png", "serve-approve.png", "serve-send.png"}
    assert {p.name for p in written} >= names
    for path in written:
        assert path.read_bytes().startswith(b"\x89PNG") and path.stat().st_size > 20_000


# ---------------------------------------------------------------- approve and send


PATIENT = "maria.lopez@example.com"
MAIL_BRAND = BRAND + "email:\n  from_address: handouts@clinic.example.com\n"


@pytest.fixture(scope="module")
def mail_server() -> Iterator[Recorder]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd, as in tests/test_send.py)."""
    recorder = Recorder()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    controller = _BoundController(recorder, sock)
    controller.start()
    recorder.port = sock.getsockname()[1]  # type: ignore[attr-defined]
    yield recorder
    controller.stop()


@pytest.fixture(scope="module")
def clinic(
    tmp_path_factory: pytest.TempPathFactory, mail_server: Recorder
) -> Iterator[ServerThread]:
    """A clinic that must approve what it prints (require_approval) and sends by email:
    "sample" was approved, then an answer changed (a DRAFT); "second" is approved. Built,
    and served with the warm preview worker."""
    root = tmp_path_factory.mktemp("clinic") / "project"
    files = {
        "content/handouts/sample.yaml": HANDOUT,
        "content/handouts/second.yaml": HANDOUT.replace("id: sample", "id: second").replace(
            "Sample Handout", "Knee Care"
        ),
        "content/brands/test/brand.yaml": MAIL_BRAND,
        "content/brands/test/logo.svg": LOGO_SVG,
        "handouts.yaml": textwrap.dedent(f"""\
            example: true
            require_approval: true
            smtp:
              host: 127.0.0.1
              port: {mail_server.port}
              security: none
              rate: 6000
            """),
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    api.approve(api.open_project(root), "sample", by="Dr A. Rivera, GP")
    api.approve(api.open_project(root), "second", by="Dr A. Rivera, GP")
    handout = root / "content/handouts/sample.yaml"
    handout.write_text(handout.read_text().replace("Yes.", "Yes, for most people."))
    report = api.build(api.open_project(root).raise_for_problems(), api.BuildRequest(workers=1))
    assert not report.failed, report.failed
    with ServerThread(root, warm=True, watch=False) as server:
        yield server


@pytest.fixture
def clinic_page(browser, clinic) -> Iterator[object]:
    context, tab, console = open_page(browser, clinic)
    tab.console_errors = console.errors
    yield tab
    context.close()


def test_approving_a_changed_handout_removes_the_draft_mark(clinic_page, clinic) -> None:
    page = clinic_page
    pdf = clinic.app.backend.root / "output/test/sample.en.leaflet.pdf"
    assert "DRAFT" in pdf_text(pdf.read_bytes())
    page.goto(clinic.url + "/doc/test/sample/en/leaflet")
    images_loaded(page)
    old = page.get_attribute("#pages", "data-sha")
    assert "Changed since it was approved on" in page.inner_text(".facts")
    assert "question 2" in page.inner_text(".facts")
    page.fill("#f-approve-by", "Dr B. Okafor, nurse practitioner")
    page.fill("#f-approve-note", "Checked the new answer.")
    page.click("#approve button:has-text('Approve this text')")
    page.wait_for_url("**approved=1**")
    assert "Approved. The sign-off is recorded" in page.inner_text("main")
    # rebuilt in the warm worker; the page fetches the new page images by itself
    page.wait_for_function(
        "(old) => { const p = document.querySelector('#pages');"
        " return p && p.dataset.sha && p.dataset.sha !== old && !p.dataset.building; }",
        arg=old,
        timeout=WAIT_MS,
    )
    images_loaded(page)
    assert "DRAFT" not in pdf_text(pdf.read_bytes())
    assert file_sha(pdf).startswith(page.get_attribute("#pages", "data-sha"))
    assert "Approved (version 4" in page.inner_text(".facts")  # 3 was the first sign-off
    assert "Dr B. Okafor" in page.inner_text(".facts")
    assert csp_errors(page.console_errors) == []


def test_sending_from_the_app_reaches_the_mail_server(clinic_page, clinic, mail_server) -> None:
    page = clinic_page
    page.goto(clinic.url + "/doc/test/second/en/leaflet")
    page.click("a:has-text('Send to a patient')")
    page.fill("#f-send-to", PATIENT)
    page.click("button:has-text('Check the address')")
    page.wait_for_selector(".address-list")
    assert page.inner_text(".address-list").strip() == PATIENT  # read back in full
    assert "second (Test Clinic, leaflet)" in page.inner_text(".confirm-facts")
    page.check("#f-send-consent")
    page.click("button:has-text('Send 1 message')")
    page.wait_for_selector("text=1 sent.")
    assert PATIENT not in page.inner_text("main")  # the result shows it masked
    got = [r for r in mail_server.received if r.rcpt_tos == [PATIENT]]
    assert len(got) == 1
    attachment = next(got[0].message.iter_attachments())
    pdf = clinic.app.backend.root / "output/test/second.en.leaflet.pdf"
    assert attachment.get_content() == pdf.read_bytes()
    assert PATIENT not in (clinic.app.backend.root / "output/sent.jsonl").read_text()
    assert csp_errors(page.console_errors) == []


def test_axe_finds_nothing_serious_on_the_approve_and_send_forms(browser, clinic) -> None:
    context, page, _ = open_page(browser, clinic, bypass_csp=True)  # to inject axe only
    found = {}
    send = clinic.url + "/doc/test/second/en/leaflet/send"
    try:
        page.goto(clinic.url + "/doc/test/second/en/leaflet")
        found["document with the approve form"] = axe_violations(page)
        page.click("#approve button:has-text('Approve this text')")  # no name: an error
        page.wait_for_selector("#f-approve-by-error-1")
        found["approve form with its error"] = axe_violations(page)
        page.goto(send)
        found["send: the address"] = axe_violations(page)
        page.fill("#f-send-to", "x@@example")
        page.click("button:has-text('Check the address')")
        page.wait_for_selector("#f-send-to-error-1")
        found["send: a wrong address"] = axe_violations(page)
        page.fill("#f-send-to", "ana@gmial.com")
        page.click("button:has-text('Check the address')")
        page.wait_for_selector("#f-typo-1")
        found["send: a likely typo"] = axe_violations(page)
        page.check("#f-typo-1-skip")
        page.click("button:has-text('Change the addresses')")
        page.fill("#f-send-to", "ana@example.com")
        page.click("button:has-text('Check the address')")
        page.wait_for_selector(".address-list")
        page.click("button:has-text('Send 1 message')")  # consent not ticked: an error
        page.wait_for_selector("#f-send-consent-error-1")
        found["send: the confirmation with its error"] = axe_violations(page)
    finally:
        context.close()
    assert {name: v for name, v in found.items() if v} == {}


def test_the_new_pages_do_not_scroll_sideways_on_a_phone(browser, clinic) -> None:
    for width in (1280, 390):
        context, page, console = open_page(browser, clinic, width=width)
        try:
            for url in ("/doc/test/second/en/leaflet", "/doc/test/second/en/leaflet/send"):
                page.goto(clinic.url + url)
                page.wait_for_load_state("networkidle")
                overflow = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 1, (url, width, overflow)
            page.fill("#f-send-to", "a.very.long.address.for.a.small.phone@example.com")
            page.click("button:has-text('Check the address')")
            page.wait_for_selector(".address-list")
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 1, ("confirmation", width, overflow)
        finally:
            context.close()
        assert csp_errors(console.errors) == [], width


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until ``selector`` has the focus, checking that every stop shows it."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        info = focus_info(page)
        assert info["outline"] != "none" and info["width"] >= 2 and info["visible"], info
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} was not reached by Tab")


def test_approve_and_send_by_keyboard_alone(clinic_page, clinic, mail_server) -> None:
    page = clinic_page
    page.goto(clinic.url + "/doc/test/second/en/leaflet")
    tab_to(page, "#f-approve-by")
    page.keyboard.type("Dr C. Diaz, pharmacist")
    tab_to(page, "#approve button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**approved=1**")
    assert "Approved. The sign-off is recorded" in page.inner_text("main")
    assert "Dr C. Diaz" in page.inner_text(".facts")
    page.goto(clinic.url + "/doc/test/second/en/leaflet")  # from the top of the page
    tab_to(page, "a[href$='/send']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/send")
    tab_to(page, "#f-send-to")
    address = "kim.keys@example.com"
    page.keyboard.type(address)
    tab_to(page, "button[value=check]")
    page.keyboard.press("Enter")
    page.wait_for_selector(".address-list")
    tab_to(page, "#f-send-consent")
    page.keyboard.press("Space")
    assert page.is_checked("#f-send-consent")
    tab_to(page, "button[value=send]")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=1 sent.")
    assert [r.rcpt_tos for r in mail_server.received].count([address]) == 1
