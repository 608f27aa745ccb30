"""Pictures of the web app for the README and docs/for-staff.md, taken from a real browser
(Debian's chromium, driven by Playwright): the library, the editor beside its live preview, a
leaflet's page with its sign-off form, and the confirmation before sending to a patient.

    .venv/bin/python docs/make_screenshots.py        # writes docs/images/serve-*.png

Builds the example content into a temporary copy, serves it on a free loopback port and
photographs it at 1280 x 800 (and the library at 390 px, as on a phone). The copy has mail
settings (never used: nothing is sent) so that the confirmation shows the Send button.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
sys.path.insert(0, str(ROOT / "tests"))
import browser as harness  # noqa: E402  the one way the project starts chromium (tests/browser.py)


def _loaded(page, selector: str) -> None:
    page.wait_for_function(
        """(selector) => [...document.querySelectorAll(selector)]
              .every((i) => i.complete && i.naturalWidth > 0)""",
        arg=selector,
        timeout=120_000,
    )


def take(server, out: Path, browser=None) -> list[Path]:
    """Photograph the app served by ``server`` (a handouts.serve.thread.ServerThread) into
    ``out`` with ``browser`` (a Playwright browser; launched here when None); returns the
    files written."""
    if browser is None:
        with harness.launched() as launched:
            return take(server, out, launched)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(server.login_url)
    for image in page.query_selector_all(".card img"):
        image.scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, 0)")
    _loaded(page, ".card img")
    written.append(out / "serve-library.png")
    page.screenshot(path=written[-1])
    handouts = server.app.backend.state().project.handouts
    handout = next((h for h in handouts if h.language == "en"), handouts[0])
    page.goto(f"{server.url}/edit/{handout.id}/{handout.language}")
    _loaded(page, "#pages img")
    page.evaluate("document.querySelector('#f-questions-2').scrollIntoView({block: 'start'})")
    page.focus("#f-questions-2-answer")
    written.append(out / "serve-editor.png")
    page.screenshot(path=written[-1])
    brand = next(k.brand for k in server.app.backend.documents_of(handout.id, handout.language))
    document = f"{server.url}/doc/{brand}/{handout.id}/{handout.language}/leaflet"
    page.goto(document)
    _loaded(page, "#pages img")
    page.evaluate("document.querySelector('.doc-side').scrollIntoView({block: 'start'})")
    page.fill("#f-approve-by", "Dr A. Rivera, medical director")
    written.append(out / "serve-approve.png")
    page.screenshot(path=written[-1])
    page.goto(document + "/send")
    page.fill("#f-send-to", "maria.lopez@example.com")
    page.click("button[value=check]")
    page.wait_for_selector(".confirm-facts")
    written.append(out / "serve-send.png")
    page.screenshot(path=written[-1])
    context.close()
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    page = phone.new_page()
    page.goto(server.login_url)
    _loaded(page, ".cards > li:first-child img")
    written.append(out / "serve-library-phone.png")
    page.screenshot(path=written[-1])
    phone.close()
    return written


def main() -> None:
    from handouts import api
    from handouts.serve.thread import ServerThread

    if harness.missing():
        sys.exit(f"make_screenshots: {harness.missing()}")
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / "clinic-leaflets"
        for name in ("content", "templates", "fonts"):
            if (ROOT / name).is_dir():
                shutil.copytree(ROOT / name, project / name)
        settings = (ROOT / "handouts.yaml").read_text(encoding="utf-8")
        (project / "handouts.yaml").write_text(
            settings + "smtp:\n  host: 127.0.0.1\n  port: 2525\n  security: none\n",
            encoding="utf-8",
        )
        report = api.build(api.open_project(project).raise_for_problems(), api.BuildRequest())
        if report.failed:
            sys.exit(f"make_screenshots: {report.failed[0].label}: {report.failed[0].error}")
        with ServerThread(project, warm=False, watch=False) as server:
            for path in take(server, IMAGES):
                print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
