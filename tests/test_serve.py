"""The web app (`handouts serve`) through Starlette's test client, and a real uvicorn server on
loopback where streaming matters: the security items of shared/design/security.md (33-35),
saving edits (round trip, atomic, backup, never a file that does not load), previews, builds
and the output folder's lock, with real renders and real PDFs."""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import email
import email.policy
import http.client
import json
import os
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("ruamel.yaml")

with warnings.catch_warnings():  # Starlette 1.x asks for httpx2; httpx works the same
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from handouts import api
from handouts.checks import contrast
from handouts.lock import output_lock
from handouts.serve import create_app, run, storage
from handouts.serve.security import CSP, DEFAULT_BODY_CAP, UPLOAD_BODY_CAP
from handouts.serve.thread import ServerThread
from test_send import Recorder, _BoundController  # the send tests' SMTP server

from conftest import BRAND, HANDOUT, REPO, build_project, pdf_text, run_cli

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TOKEN = "test-token-0123456789abcdef"
BASE = "http://127.0.0.1:8000"
WAIT_S = 180  # generous: the suite must pass on a loaded 2-core machine

COMMENTED = HANDOUT.replace(
    "questions:\n", "# The questions, in the order patients ask them.\nquestions:\n"
).replace("  - question: Is it safe?\n", "  # Keep this one short.\n  - question: Is it safe?\n")


class Served:
    """A test client logged in to an app on a project made for the test."""

    def __init__(self, app, client: TestClient, root: Path) -> None:
        self.app, self.client, self.root = app, client, root
        self.csrf = app.settings.csrf_token()

    @property
    def backend(self):
        return self.app.backend

    def post(self, url: str, data: dict | None = None, **kw):
        return self.client.post(url, data={**(data or {}), "csrf": self.csrf}, **kw)

    def hx(self, url: str, data: dict | None = None, target: str = ""):
        headers = {"HX-Request": "true", "X-CSRF-Token": self.csrf}
        if target:
            headers["HX-Target"] = target
        return self.client.post(url, data=data or {}, headers=headers)


@pytest.fixture
def serve(make_project) -> Iterator[Callable[..., Served]]:
    stack = contextlib.ExitStack()

    def start(files: dict | None = None, *, login: bool = True, **options) -> Served:
        root = make_project(files)
        options.setdefault("warm", False)
        options.setdefault("watch", False)
        app = create_app(root, token=TOKEN, port=8000, **options)
        client = stack.enter_context(TestClient(app.asgi, base_url=BASE))
        if login:
            assert client.get(f"/?token={TOKEN}").status_code == 200
        return Served(app, client, root)

    yield start
    stack.close()


def wait_until(condition: Callable[[], object], what: str, timeout: float = WAIT_S) -> object:
    """Poll ``condition`` until it is true (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def pdf_path(root: Path, name: str = "test/sample.en.leaflet.pdf") -> Path:
    return root / "output" / name


def sha_of(path: Path) -> str | None:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def sha_field(html: str, name: str = "sha") -> str:
    marker = f'name="{name}" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


# ---------------------------------------------------------------- who may connect (33)


def test_a_token_is_required_then_kept_in_a_strict_http_only_cookie(serve) -> None:
    s = serve(login=False)
    c = s.client
    assert c.get("/").status_code == 401
    assert "?token=" in c.get("/").text
    assert c.get("/?token=wrong-token-0000000000").status_code == 403
    first = c.get(f"/doc/test/sample/en/leaflet?token={TOKEN}&x=1", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/doc/test/sample/en/leaflet?x=1"  # token not kept
    cookie = first.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert TOKEN not in cookie  # the cookie carries a value derived from it
    assert c.get("/").status_code == 200
    c.cookies.clear()
    assert c.get("/").status_code == 401
    assert c.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_the_cookie_name_carries_the_port(make_project) -> None:
    """Cookies ignore ports: two apps on one machine must not log each other out."""
    root = make_project()
    one = create_app(root, token=TOKEN, port=8000, warm=False, watch=False)
    two = create_app(root, token=TOKEN, port=8001, warm=False, watch=False)
    assert one.settings.cookie_name != two.settings.cookie_name


def test_unknown_host_names_are_refused(serve) -> None:
    """DNS rebinding: a page of evil.example that resolves to 127.0.0.1 sends its own name."""
    s = serve()
    assert s.client.get("/", headers={"host": "evil.example:8000"}).status_code == 400
    assert s.client.get("/", headers={"host": "evil.example"}).status_code == 400
    for host in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000"):
        assert s.client.get("/", headers={"host": host}).status_code == 200, host


def test_every_interface_allows_addresses_typed_as_digits_but_no_other_names(
    make_project,
) -> None:
    app = create_app(make_project(), token=TOKEN, bind="0.0.0.0", warm=False, watch=False)
    assert app.settings.host_allowed("192.168.1.20:8000")
    assert not app.settings.host_allowed("rebind.evil.example:8000")
    named = create_app(
        make_project(),
        token=TOKEN,
        bind="0.0.0.0",
        extra_hosts=("clinic-pc",),
        warm=False,
        watch=False,
    )
    assert named.settings.host_allowed("clinic-pc:8000")


def test_serving_beyond_this_computer_needs_a_chosen_token(make_project, monkeypatch) -> None:
    root = make_project()
    monkeypatch.delenv("HANDOUTS_TOKEN", raising=False)
    ran = run_cli("serve", "-C", str(root), "--host", "0.0.0.0", "--port", "0")
    assert ran.code == 1
    assert "without a token you chose" in ran.stderr and "HANDOUTS_TOKEN" in ran.stderr
    monkeypatch.setenv("HANDOUTS_TOKEN", "short")
    ran = run_cli("serve", "-C", str(root), "--host", "0.0.0.0", "--port", "0")
    assert ran.code == 1 and "too short" in ran.stderr


def test_a_port_in_use_is_a_plain_error(make_project) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        messages: list[str] = []
        with pytest.raises(Exception) as caught:
            run(make_project(), port=port, say=messages.append)
    assert f"port {port} is already in use" in str(caught.value)
    assert not messages  # nothing printed as if it were serving


# ---------------------------------------------------------------- CSRF (33)


def post_routes(app) -> list[str]:
    """Every POST route, with its parameters filled with names the test project has."""
    values = {
        "brand": "test",
        "handout": "sample",
        "lang": "en",
        "layout": "leaflet",
    }
    urls = []
    for route in app.starlette.routes:
        if "POST" in (getattr(route, "methods", None) or ()):
            urls.append(route.path.format(**values))
    return urls


def test_every_post_needs_the_csrf_token(serve) -> None:
    s = serve()
    urls = post_routes(s.app)
    assert len(urls) >= 10, urls
    for url in urls:
        for data, headers in (
            ({}, {}),
            ({"csrf": "forged"}, {}),
            ({}, {"X-CSRF-Token": "forged"}),
        ):
            r = s.client.post(url, data=data, headers=headers, follow_redirects=False)
            assert r.status_code == 403, (url, data, headers, r.status_code)
            assert "security code" in r.text
        # JSON or text bodies carry no form token: refused too
        r = s.client.post(url, content=b"{}", headers={"content-type": "application/json"})
        assert r.status_code == 403, url


def test_a_valid_token_passes_as_a_form_field_or_as_htmx_s_header(serve) -> None:
    s = serve()
    assert s.post("/brand/test/contrast", {"primary": "#0B5E6B", "accent": "#E3A72F"}).is_success
    assert s.hx("/brand/test/contrast", {"primary": "#0B5E6B", "accent": "#E3A72F"}).is_success


def test_cross_site_requests_are_refused_even_with_the_token(serve) -> None:
    s = serve()
    data = {"primary": "#0B5E6B", "accent": "#E3A72F", "csrf": s.csrf}
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://evil.example"}):
        r = s.client.post("/brand/test/contrast", data=data, headers=headers)
        assert r.status_code == 403, headers
    same = {"Origin": BASE, "Sec-Fetch-Site": "same-origin"}
    assert s.client.post("/brand/test/contrast", data=data, headers=same).is_success


def test_the_multipart_upload_form_needs_its_token_too(serve) -> None:
    s = serve()
    files = {"logo": ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml")}
    r = s.client.post("/brand/test/logo", files=files, data={"csrf": "forged"})
    assert r.status_code == 403
    r = s.client.post("/brand/test/logo", files=files, data={"csrf": s.csrf})
    assert r.status_code in (200, 303)


# ---------------------------------------------------------------- what a page may run (34)


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts = 0
        self.styles: list[str] = []
        self.handlers: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.inline_scripts += 1
        if tag == "style":
            self.styles.append("<style>")
        for name, value in attrs:
            if name == "style":
                self.styles.append(str(value))
            if name.startswith("on"):
                self.handlers.append(name)
            if name in ("src", "href", "action") and value and "//" in value.split("?")[0]:
                self.external.append(value)


PAGES = [
    "/",
    "/doc/test/sample/en/leaflet",
    "/edit/sample/en",
    "/edit/sample/en/yaml",
    "/brands",
    "/brand/test",
    "/brand/test/yaml",
    "/build",
    "/check",
    "/doc/nothing/here/en/leaflet",
]


def test_pages_have_no_inline_script_or_style_and_load_nothing_from_elsewhere(serve) -> None:
    s = serve()
    for url in PAGES:
        r = s.client.get(url)
        found = _Markup()
        found.feed(r.text)
        assert found.inline_scripts == 0, url
        assert found.styles == [], (url, found.styles)
        assert found.handlers == [], (url, found.handlers)
        assert found.external == [], (url, found.external)


def test_security_headers_on_every_response(serve) -> None:
    s = serve()
    responses = [s.client.get(u) for u in PAGES] + [
        s.client.get("/static/app.css"),
        s.client.get("/static/vendor/htmx.min.js"),
        s.client.get("/", headers={"host": "evil.example"}),
    ]
    s.client.cookies.clear()
    responses.append(s.client.get("/"))
    for r in responses:
        h = r.headers
        assert h["content-security-policy"] == CSP
        assert "default-src 'self'" in CSP and "frame-ancestors 'none'" in CSP
        assert "'unsafe-inline'" not in CSP and "'unsafe-eval'" not in CSP
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "no-referrer"
        assert h["x-frame-options"] == "DENY"


def test_htmx_is_vendored_with_its_licence_and_configured_for_the_csp(serve) -> None:
    s = serve()
    assert s.client.get("/static/vendor/htmx.min.js").status_code == 200
    licence = s.client.get("/static/vendor/htmx.LICENSE").text
    assert "Zero-Clause BSD" in licence
    page = s.client.get("/").text
    # htmx would otherwise add an inline <style> and evaluate attributes
    assert '"includeIndicatorStyles": false' in page and '"allowEval": false' in page


def test_content_is_escaped_as_in_the_pdfs(serve) -> None:
    hostile = "Ask <script>alert(1)</script> & {{ 7*7 }}"
    files = {"content/handouts/sample.yaml": HANDOUT.replace("Sample Handout", f'"{hostile}"')}
    s = serve(files)
    escaped = "Ask &lt;script&gt;alert(1)&lt;/script&gt; &amp; {{ 7*7 }}"
    for url in ("/", "/doc/test/sample/en/leaflet", "/edit/sample/en", "/edit/sample/en/yaml"):
        text = s.client.get(url).text
        assert "<script>alert(1)" not in text, url
        assert escaped in text, url


# ---------------------------------------------------------------- paths from requests (35)


@pytest.mark.parametrize(
    "url",
    [
        "/doc/..%2F..%2Fetc/passwd/en/leaflet",
        "/doc/test/..%2Fsample/en/leaflet/pdf",
        "/doc/test/sample/en/..%2F..%2Fmanifest.json/pdf",
        "/doc/test/sample/en/leaflet/page-0.png",
        "/doc/TEST/sample/en/leaflet",
        "/edit/..%2F..%2Fsecret/en",
        "/edit/sample/..%2Fen/yaml",
        "/brand/..%2Fsecret",
        "/brand/..%2F..%2Fsecret/logo",
        "/static/..%2Fbackend.py",
        "/static/fonts/..%2F..%2Fcli.py",
        "/swatch/FFFFFF/..%2Fx.svg",
    ],
)
def test_request_paths_never_reach_a_file_outside_the_project(serve, url: str) -> None:
    s = serve()
    r = s.client.get(url)
    assert r.status_code == 404, (url, r.status_code)
    assert "def " not in r.text and "root:" not in r.text


def test_a_handout_linked_from_outside_the_project_is_not_edited(serve, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(HANDOUT.replace("id: sample", "id: linked"), encoding="utf-8")
    s = serve()
    (s.root / "content/handouts/linked.yaml").symlink_to(outside)
    s.backend.invalidate()
    before = outside.read_bytes()
    r = s.client.get("/edit/linked/en")
    assert r.status_code == 403 and "outside the project" in r.text
    r = s.post("/edit/linked/en/yaml", {"text": "title: changed\n", "sha": "x"})
    assert r.status_code == 403
    assert outside.read_bytes() == before


def test_upload_size_is_capped_before_the_body_is_read(serve) -> None:
    s = serve()
    big = b"0" * (UPLOAD_BODY_CAP + 1)
    files = {"logo": ("logo.png", big, "image/png")}
    r = s.client.post("/brand/test/logo", files=files, data={"csrf": s.csrf})
    assert r.status_code == 413
    r = s.client.post("/edit/sample/en/yaml", data={"csrf": s.csrf, "text": "x" * DEFAULT_BODY_CAP})
    assert r.status_code == 413


def test_a_streamed_upload_is_stopped_at_the_cap(make_project) -> None:
    """No Content-Length, chunked: the server answers 413 once the cap is passed and never
    reads the rest (the client is still sending when the answer comes)."""
    with ServerThread(make_project(), token=TOKEN, warm=False, watch=False) as server:
        app = server.app
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        head = (
            "POST /brand/test/logo HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{server.port}\r\n"
            f"Cookie: {app.settings.cookie_name}={app.settings.session_value()}\r\n"
            f"X-CSRF-Token: {app.settings.csrf_token()}\r\n"
            "Content-Type: application/octet-stream\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        )
        answer = bytearray()
        answered = threading.Event()

        def read() -> None:
            with contextlib.suppress(OSError):
                while chunk := sock.recv(65536):
                    answer.extend(chunk)
                    if b"\r\n\r\n" in answer:
                        break
            answered.set()

        reader = threading.Thread(target=read)
        reader.start()
        sock.sendall(head.encode())
        chunk = b"a" * 65536
        sent, total = 0, 64 * 1024 * 1024
        sock.settimeout(5)  # a server that stopped reading makes sending block
        while sent < total and not answered.is_set():
            try:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            except OSError:  # closed by the server after its answer, or it stopped reading
                break
            sent += len(chunk)
        answered.wait(WAIT_S)
        sock.close()
        reader.join()
    assert bytes(answer).startswith(b"HTTP/1.1 413"), bytes(answer[:80])
    assert sent < total  # it did not take in 64 MB


# ---------------------------------------------------------------- library and documents


TWO = {
    "content/brands/test/brand.yaml": BRAND + "languages: [en, es]\n",
    "content/handouts/second.yaml": HANDOUT.replace("id: sample", "id: second").replace(
        "Sample Handout", "Knee Care"
    ),
    "content/handouts/sample.es.yaml": HANDOUT.replace("language: en", "language: es").replace(
        "Sample Handout", "Folleto de prueba"
    ),
}


def test_library_lists_every_document_with_filters_and_search(serve) -> None:
    s = serve(TWO)
    text = s.client.get("/").text
    assert "3 documents" in text
    assert "Knee Care" in text and "Sample Handout" in text and "Folleto de prueba" in text
    assert "Grade " in text and "Changed" in text and "not built yet" in text
    assert "2 documents" in s.client.get("/?language=en").text
    only = s.client.get("/?q=knee")
    assert "1 document " in only.text and "Sample Handout" not in only.text
    assert "1 document " in s.client.get("/?q=FOLLETO&language=es").text
    assert "0 documents" in s.client.get("/?brand=test&layout=trifold").text
    # an unknown or hostile filter value is ignored, not echoed
    odd = s.client.get("/?brand=<b>x</b>&layout=../../x").text
    assert "<b>x</b>" not in odd and "3 documents" in odd
    fragment = s.client.get("/?q=knee", headers={"HX-Request": "true", "HX-Target": "results"})
    assert fragment.text.lstrip().startswith('<section id="results"')
    assert "<html" not in fragment.text


def test_status_follows_builds_and_edits(serve) -> None:
    s = serve()
    assert "Changed" in s.client.get("/").text
    build_project(s.root)
    s.backend.invalidate()
    page = s.client.get("/").text
    assert "Up to date" in page and "thumb.png?v=" in page
    handout = s.root / "content/handouts/sample.yaml"
    handout.write_text(handout.read_text().replace("Yes.", "Yes, it is."), encoding="utf-8")
    s.backend.invalidate()
    assert "content changed" in s.client.get("/").text


JARGON = {"content/handouts/sample.yaml": HANDOUT.replace("Yes.", "Yes. We utilize gloves.")}


def test_document_page_shows_pages_pdf_and_findings(serve) -> None:
    s = serve(JARGON)
    empty = s.client.get("/doc/test/sample/en/leaflet").text
    assert "has not been built yet" in empty
    build_project(s.root)
    s.backend.invalidate()
    page = s.client.get("/doc/test/sample/en/leaflet").text
    assert 'id="page-1"' in page and "/page-1.png?v=" in page
    png = s.client.get("/doc/test/sample/en/leaflet/page-1.png")
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
    import io

    from PIL import Image

    width, height = Image.open(io.BytesIO(png.content)).size
    assert abs(width - round(8.5 * 110)) <= 2 and abs(height - (11 * 110)) <= 2  # Letter
    assert s.client.get("/doc/test/sample/en/leaflet/page-99.png").status_code == 404
    pdf = s.client.get("/doc/test/sample/en/leaflet/pdf?download=1")
    assert pdf.headers["content-disposition"].startswith("attachment")
    assert pdf.content == pdf_path(s.root).read_bytes()
    assert (
        s.client.get("/doc/test/sample/en/leaflet/pdf")
        .headers["content-disposition"]
        .startswith("inline")
    )
    # findings carry the CLI's words, and a link to the field to fix
    (finding,) = api.check(api.open_project(s.root)).findings
    html = page.replace("&#39;", "'").replace("&#34;", '"')
    assert finding.problem.message in html and "utilize" in finding.problem.message
    assert 'href="/edit/sample/en#f-questions-2-answer"' in html  # "Fix it" opens the field


def test_preflight_findings_from_the_manifest_are_drawn_on_the_page(serve) -> None:
    """The print preflight will record findings with a page and a box: the page image gets a
    mark there. The manifest is data from disk, so a forged record is filtered."""
    s = serve()
    build_project(s.root)
    manifest = s.root / "output/manifest.json"
    data = json.loads(manifest.read_text())
    record = data["documents"]["test/sample.en.leaflet.pdf"]
    record["preflight"] = [
        {
            "severity": "error",
            "code": "preflight.safe-area",
            "message": "text in the dead zone",
            "hint": "move it in",
            "page": 1,
            "bbox": [10, 20, 110, 60],
        },
        {"severity": "warning", "message": "<script>x</script>", "page": 1, "bbox": [0, 0, 1e9, 1]},
        "not a finding",
    ]
    manifest.write_text(json.dumps(data))
    s.backend.invalidate()
    page = s.client.get("/doc/test/sample/en/leaflet").text
    assert "text in the dead zone" in page
    assert '<rect class="mark mark-error" x="10.0" y="20.0" width="100.0" height="40.0">' in page
    assert page.count('<rect class="mark') == 1  # the forged box is not drawn
    assert "&lt;script&gt;x&lt;/script&gt;" in page


# ---------------------------------------------------------------- editing a handout


def test_form_shows_the_handout_and_its_sources(serve) -> None:
    s = serve()
    page = s.client.get("/edit/sample/en").text
    for text in ("Sample Handout", "What is this?", "A short answer.", "Is it safe?"):
        assert text in page
    assert 'id="f-questions-1-answer"' in page and 'id="f-questions-2-question"' in page
    assert 'value="paper" checked' in page  # question 1 cites the paper
    assert "**bold**" in page  # the Markdown help line


def save_form(s: Served, **changes) -> dict:
    """The form's fields as the browser would post them, with ``changes``."""
    page = s.client.get("/edit/sample/en").text
    data = {
        "sha": sha_field(page),
        "preview": "test/leaflet",
        "title": "Sample Handout",
        "subtitle": "Questions and answers",
        "notice-0-kind": "warning",
        "notice-0-text": "This is a **test** notice.",
        "q-0-origin": "0",
        "q-0-question": "What is this?",
        "q-0-answer": "A short answer.\n\n- one\n- two",
        "q-0-sources": "paper",
        "q-1-origin": "1",
        "q-1-question": "Is it safe?",
        "q-1-answer": "Yes.",
        "closing-heading": "Want to learn more?",
        "closing-text": "Call us.",
        "action": "save",
    }
    data.update(changes)
    return data


def test_saving_an_answer_keeps_comments_and_everything_else(serve) -> None:
    s = serve({"content/handouts/sample.yaml": COMMENTED})
    path = s.root / "content/handouts/sample.yaml"
    before = path.read_text()
    r = s.post(
        "/edit/sample/en",
        save_form(s, **{"q-1-answer": "Yes, when a nurse helps."}),
        follow_redirects=False,
    )
    assert r.status_code == 303 and "saved=1" in r.headers["location"]
    after = path.read_text()
    changed = [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), n=0)
        if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
    ]
    assert changed == ["-    answer: Yes.", "+    answer: Yes, when a nurse helps."]
    assert (path.parent / "sample.yaml.bak").read_text() == before
    # saving the form unchanged writes nothing
    again = s.post("/edit/sample/en", save_form(s, **{"q-1-answer": "Yes, when a nurse helps."}))
    assert again.status_code == 200 and path.read_text() == after


def test_add_remove_and_reorder_questions(serve) -> None:
    s = serve({"content/handouts/sample.yaml": COMMENTED})
    path = s.root / "content/handouts/sample.yaml"
    added = s.post("/edit/sample/en", save_form(s, action="add")).text
    assert 'id="f-questions-3-question"' in added and "Not saved yet." in added
    assert path.read_text() == COMMENTED  # nothing saved by adding a row
    removed = s.post("/edit/sample/en", save_form(s, action="remove-1")).text
    assert "What is this?" not in removed and "Is it safe?" in removed
    moved = s.hx("/edit/sample/en", save_form(s, action="down-1"), target="handout-form").text
    assert moved.index("Is it safe?") < moved.index("What is this?")
    assert moved.lstrip().startswith('<form id="handout-form"')
    # save: question 2 first, a new third question with a source, comments kept
    data = save_form(
        s,
        **{
            "q-0-origin": "1",
            "q-0-question": "Is it safe?",
            "q-0-answer": "Yes.",
            "q-1-origin": "0",
            "q-1-question": "What is this?",
            "q-1-answer": "A short answer.\n\n- one\n- two",
            "q-1-sources": "paper",
            "q-2-origin": "",
            "q-2-question": "Who can help?",
            "q-2-answer": "Our nurses.\nCall us any day.",
            "q-2-sources": "paper",
            "q-0-sources": [],
        },
    )
    del data["q-0-sources"]
    r = s.post("/edit/sample/en", data, follow_redirects=False)
    assert r.status_code == 303, r.text
    text = path.read_text()
    assert text.index("Is it safe?") < text.index("What is this?") < text.index("Who can help?")
    assert "# The questions, in the order patients ask them." in text
    assert text.index("# Keep this one short.") < text.index("Is it safe?")  # moved with it
    assert "Our nurses.\n      Call us any day." in text
    loaded = api.open_project(s.root)
    assert not loaded.problems
    questions = loaded.handouts[0].handout.questions
    assert [q.question for q in questions] == ["Is it safe?", "What is this?", "Who can help?"]
    assert questions[2].sources == ["paper"]


def test_a_mistake_is_shown_next_to_its_field_in_the_cli_s_words(serve) -> None:
    s = serve()
    path = s.root / "content/handouts/sample.yaml"
    before = path.read_bytes()
    bad = "See [this](javascript:alert(1)) page."
    r = s.post("/edit/sample/en", save_form(s, **{"q-1-answer": bad}))
    assert r.status_code == 422
    assert path.read_bytes() == before  # a file that does not load is never written
    # the CLI's words for the same mistake
    broken = s.root.parent / "cli-copy"
    (broken / "content/handouts").mkdir(parents=True)
    (broken / "content/brands").symlink_to(s.root / "content/brands")
    (broken / "content/handouts/sample.yaml").write_text(
        HANDOUT.replace("answer: Yes.", f"answer: {bad}"), encoding="utf-8"
    )
    cli = run_cli("check", "-C", str(broken))
    message = next(
        p.message for p in api.open_project(broken).problems if p.key == "questions[2].answer"
    )
    assert message in cli.stderr
    html = r.text.replace("&#39;", "'").replace("&#34;", '"')
    label_at = html.index('<label for="f-questions-2-answer"')
    error_at = html.index('id="f-questions-2-answer-error-1"')
    field_at = html.index('id="f-questions-2-answer"')
    assert label_at < error_at < field_at  # between the label and the box
    assert message in html[error_at : html.index("</p>", error_at)]
    assert 'aria-invalid="true"' in html[field_at : field_at + 400]
    assert "Not saved" in html


def test_an_empty_answer_is_refused_with_the_loader_s_message(serve) -> None:
    s = serve()
    r = s.hx("/edit/sample/en", save_form(s, **{"q-0-answer": "   "}), target="handout-form")
    assert r.status_code == 200  # htmx swaps 200s only
    assert "must not be empty" in r.text
    assert 'id="f-questions-1-answer-error-1"' in r.text


def test_a_file_changed_elsewhere_is_not_overwritten(serve) -> None:
    s = serve()
    data = save_form(s, title="From the form")
    path = s.root / "content/handouts/sample.yaml"
    path.write_text(path.read_text().replace("Yes.", "Yes (edited in a text editor)."))
    edited = path.read_bytes()
    r = s.post("/edit/sample/en", data)
    assert r.status_code == 422 and "changed outside the app" in r.text
    assert path.read_bytes() == edited


def test_the_yaml_view_saves_only_a_file_that_loads(serve) -> None:
    s = serve()
    path = s.root / "content/handouts/sample.yaml"
    before = path.read_text()
    page = s.client.get("/edit/sample/en/yaml").text
    sha = sha_field(page)
    r = s.post("/edit/sample/en/yaml", {"text": before + "colour: blue\n", "sha": sha})
    assert r.status_code == 422 and "unknown key &#39;colour&#39;" in r.text
    assert path.read_text() == before
    r = s.post(
        "/edit/sample/en/yaml",
        {"text": before.replace("Yes.", "Sure."), "sha": sha},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "answer: Sure." in path.read_text()
    assert (path.parent / "sample.yaml.bak").read_text() == before


def test_a_broken_file_opens_in_the_yaml_view_with_its_problems(serve) -> None:
    s = serve({"content/handouts/sample.yaml": HANDOUT.replace("title:", "titel:")})
    r = s.client.get("/edit/sample/en")
    assert r.url.path == "/edit/sample/en/yaml"
    assert "unknown key &#39;titel&#39;" in r.text and "did you mean &#39;title&#39;?" in r.text
    assert "Line 3" in r.text


def test_storage_round_trip_is_byte_for_byte_on_every_example_file() -> None:
    for path in [
        *(REPO / "content").rglob("*.yaml"),
        *(REPO / "templates/scaffold").glob("*.yaml"),
    ]:
        text = path.read_text(encoding="utf-8")
        if "questions:" in text:
            import yaml

            data = yaml.safe_load(text)
            edit = storage.HandoutEdit(
                data["title"],
                data.get("subtitle"),
                [
                    storage.QuestionEdit(q["question"], q["answer"], q.get("sources", []), i)
                    for i, q in enumerate(data["questions"])
                ],
            )
            assert storage.edit_handout(text, edit) == text, path


def test_text_that_yaml_would_misread_is_quoted() -> None:
    for title in ("no", "Yes", "0123", "1.10", "2026-01-01", "null", " padded"):
        out = storage.edit_handout(
            HANDOUT, storage.HandoutEdit(title, None, [storage.QuestionEdit("Q?", "A.")])
        )
        import yaml

        assert yaml.safe_load(out)["title"] == title.strip(), title


# ---------------------------------------------------------------- previews and events


def read_events(
    server: ServerThread, query: str, wanted: Callable[[str, dict], bool], start: Callable[[], None]
) -> list[tuple[str, dict]]:
    """Open the event stream, call ``start``, and collect events until ``wanted`` says so."""
    app = server.app
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT_S)
    connection.request(
        "GET",
        f"/events{query}",
        headers={"Cookie": f"{app.settings.cookie_name}={app.settings.session_value()}"},
    )
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("content-type").startswith("text/event-stream")
    assert response.readline().startswith(b"retry:")  # the stream is open: now act
    response.readline()
    start()
    seen: list[tuple[str, dict]] = []
    event = ""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        line = response.readline().decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data = json.loads(line[6:])
            seen.append((event, data))
            if wanted(event, data):
                connection.close()
                return seen
    connection.close()
    raise AssertionError(f"no such event; saw {seen}")


def real_client(server: ServerThread, root: Path) -> Served:
    import httpx

    client = httpx.Client(base_url=server.url, timeout=WAIT_S, follow_redirects=True)
    assert client.get(f"/?token={TOKEN}").status_code == 200
    return Served(server.app, client, root)  # type: ignore[arg-type]


def test_saving_rebuilds_the_preview_and_says_so_by_server_sent_event(make_project) -> None:
    root = make_project()
    build_project(root)
    old = sha_of(pdf_path(root))
    with ServerThread(root, token=TOKEN, warm=True, watch=False) as server:
        s = real_client(server, root)

        def save() -> None:
            data = save_form(s, **{"q-1-answer": "Yes, with quokka lanterns."})
            assert s.post("/edit/sample/en", data).status_code == 200

        seen = read_events(
            server,
            "?doc=test/sample.en.leaflet.pdf",
            lambda e, d: e == "document" and d["status"] == "built",
            save,
        )
        s.client.close()
    names = [e for e, _ in seen]
    assert names.index("building") < names.index("document")
    built = seen[-1][1]
    assert built["doc"] == "test/sample.en.leaflet.pdf" and built["sha"] != old
    assert built["sha"] == sha_of(pdf_path(root))
    assert "quokka lanterns" in pdf_text(pdf_path(root).read_bytes())
    assert (
        "Up to date"
        in server.app.backend.document(
            server.app.backend.documents_of("sample", "en")[0]
        ).status_label
    )


def test_edits_made_elsewhere_are_noticed_and_previewed(make_project) -> None:
    root = make_project()
    build_project(root)
    handout = root / "content/handouts/sample.yaml"
    with ServerThread(root, token=TOKEN, warm=False, watch=True) as server:

        def edit_in_a_text_editor() -> None:
            handout.write_text(handout.read_text().replace("Yes.", "Yes, said the editor."))

        seen = read_events(
            server,
            "?doc=test/sample.en.leaflet.pdf",
            lambda e, d: e == "document" and d["status"] == "built",
            edit_in_a_text_editor,
        )
    files = [d for e, d in seen if e == "files"]
    assert files and "content/handouts/sample.yaml" in files[0]["changed"]
    assert "said the editor" in pdf_text(pdf_path(root).read_bytes())


def test_a_failed_preview_is_reported_with_its_error(serve) -> None:
    layout = "max_pages: 1\nbody_pt: 11.5\nmin_body_pt: 11.5\n"
    long = "A long answer that goes on. " * 400
    s = serve({"templates/leaflet/layout.yaml": layout})
    r = s.post("/edit/sample/en", save_form(s, **{"q-1-answer": long}), follow_redirects=False)
    assert r.status_code == 303
    wait_until(
        lambda: (
            "The last build of this leaflet failed"
            in s.client.get("/doc/test/sample/en/leaflet/pages").text
        ),
        "the failed build",
    )
    assert "Failed" in s.client.get("/").text


# ---------------------------------------------------------------- builds and the lock


def test_build_all_waits_for_a_cli_build_holding_the_output_lock(serve) -> None:
    s = serve()
    out = s.root / "output"
    release = threading.Event()
    holding = threading.Event()

    def cli_build() -> None:
        with output_lock(out):
            holding.set()
            release.wait(WAIT_S)

    holder = threading.Thread(target=cli_build)
    holder.start()
    try:
        holding.wait(WAIT_S)
        r = s.post("/build", follow_redirects=False)
        assert r.status_code == 303
        wait_until(
            lambda: (
                "Another build is writing to the output folder" in s.client.get("/build/panel").text
            ),
            "the app to say it waits",
        )
        assert not pdf_path(s.root).exists()
    finally:
        release.set()
        holder.join()
    wait_until(lambda: "1 built" in s.client.get("/build/panel").text, "the build to finish")
    assert pdf_path(s.root).is_file()
    assert "Up to date" in s.client.get("/").text


# ---------------------------------------------------------------- sign-off (approve)


DRAFTS = {"handouts.yaml": "example: true\nrequire_approval: true\n"}
PDF = "test/sample.en.leaflet.pdf"


def approve_form(s: Served, url: str = "/doc/test/sample/en/leaflet") -> dict:
    page = s.client.get(url).text
    return {"fingerprint": sha_field(page, "fingerprint"), "back": "test/leaflet"}


def test_approving_in_the_app_signs_off_the_text_and_the_draft_mark_goes(serve) -> None:
    s = serve(DRAFTS)
    build_project(s.root)
    s.backend.invalidate()
    assert "DRAFT" in pdf_text(pdf_path(s.root).read_bytes())
    page = s.client.get("/doc/test/sample/en/leaflet").text
    status = api.review_status(api.open_project(s.root))[0]
    assert status.draft and status.describe()[1:] in page  # the CLI's words, capitalised
    assert '<label for="f-approve-by">Name, role</label>' in page
    path = s.root / "content/handouts/sample.yaml"
    before = path.read_text()
    r = s.post(
        "/edit/sample/en/approve",
        {**approve_form(s), "by": "  Dr A.  Rivera, GP ", "note": "Checked the doses."},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/doc/test/sample/en/leaflet?approved=1#approve"
    after = path.read_text()
    today = dt.date.today()
    assert f"reviewed_on: {today}" in after and "reviewed_by: Dr A. Rivera, GP" in after
    assert "note: Checked the doses." in after
    assert (path.parent / "sample.yaml.bak").read_text() == before
    # the same sign-off as `handouts review approve`: the CLI now calls it approved
    ran = run_cli("review", "status", "-C", str(s.root))
    assert "sample (en)  approved" in ran.stdout, ran
    assert s.backend.changed_elsewhere([str(path)]) == []  # the watcher knows it is ours
    # the leaflet is made again, without the DRAFT mark
    wait_until(
        lambda: "DRAFT" not in pdf_text(pdf_path(s.root).read_bytes()), "the approved leaflet"
    )
    wait_until(lambda: not s.backend.building(s.backend.documents_of("sample", "en")[0]), "idle")
    shown = s.client.get("/doc/test/sample/en/leaflet?approved=1").text
    assert "Approved. The sign-off is recorded" in shown
    assert f"Approved (version 3, {today} by Dr A. Rivera, GP)" in shown
    assert "badge-draft" not in s.client.get("/").text


def test_approving_needs_a_name_next_to_its_field_and_writes_nothing(serve) -> None:
    s = serve()
    build_project(s.root)
    path = s.root / "content/handouts/sample.yaml"
    before = path.read_bytes()
    r = s.post("/edit/sample/en/approve", {**approve_form(s), "by": "   "})
    assert r.status_code == 422
    html = r.text
    label_at = html.index('<label for="f-approve-by"')
    error_at = html.index('id="f-approve-by-error-1"')
    field_at = html.index('id="f-approve-by"')
    assert label_at < error_at < field_at  # between the label and the box
    assert "say who approved the text" in html[error_at : html.index("</p>", error_at)]
    assert 'aria-invalid="true"' in html[field_at : field_at + 300]
    assert path.read_bytes() == before
    # a character that cannot be kept in the file: the loader's words, next to the field
    r = s.post("/edit/sample/en/approve", {**approve_form(s), "by": "Dr\x07 A. Rivera"})
    assert r.status_code == 422
    error_at = r.text.index('id="f-approve-by-error-1"')
    assert "invisible control character (U+0007 BEL)" in r.text[error_at : error_at + 400]
    assert 'id="f-approve-by-error-2"' not in r.text  # said once, not once per place
    assert path.read_bytes() == before


def test_only_the_text_printed_in_the_pages_shown_is_approved(serve) -> None:
    """The form carries the fingerprint its build recorded for the pages on the screen: a
    text changed since they were made (or never made into a leaflet) is never approved."""
    s = serve()
    path = s.root / "content/handouts/sample.yaml"
    unbuilt = s.client.get("/doc/test/sample/en/leaflet").text
    assert "This leaflet has not been built yet" in unbuilt
    r = s.post("/edit/sample/en/approve", {**approve_form(s), "by": "Dr A. Rivera, GP"})
    assert r.status_code == 422 and "its text cannot have been read" in r.text
    build_project(s.root)
    s.backend.invalidate()
    form = approve_form(s)
    record = json.loads((s.root / "output/manifest.json").read_text())["documents"][PDF]
    assert form["fingerprint"] == record["fingerprint"]
    path.write_text(path.read_text().replace("Yes.", "Yes, always."), encoding="utf-8")
    s.backend.invalidate()
    changed = path.read_bytes()
    page = s.client.get("/doc/test/sample/en/leaflet").text
    assert sha_field(page, "fingerprint") == form["fingerprint"]  # the pages are still old
    assert "These pages are from the last build" in page
    r = s.post("/edit/sample/en/approve", {**form, "by": "Dr A. Rivera, GP"})
    assert r.status_code == 422
    assert "the text was changed since the pages shown were made, so it was not" in r.text
    assert path.read_bytes() == changed
    forged = s.post("/edit/sample/en/approve", {**form, "fingerprint": "x", "by": "Dr B"})
    assert forged.status_code == 422 and path.read_bytes() == changed
    build_project(s.root)  # made again and read: now it can be approved
    s.backend.invalidate()
    # the pages update by themselves (a fragment), and the fingerprint comes with them
    fragment = s.client.get("/doc/test/sample/en/leaflet/pages").text
    assert 'form="approve-form"' in fragment
    assert sha_field(fragment, "fingerprint") != form["fingerprint"]
    r = s.post(
        "/edit/sample/en/approve",
        {**approve_form(s), "by": "Dr A. Rivera, GP"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "reviewed_by: Dr A. Rivera, GP" in path.read_text()


TRANSLATED = {
    "content/brands/test/brand.yaml": BRAND + "languages: [en, es]\n",
    "content/handouts/sample.es.yaml": HANDOUT.replace("language: en", "language: es")
    .replace("Sample Handout", "Folleto de prueba")
    .replace(
        "closing:",
        "translation:\n  source_language: en\n  translated_by: Test team\n"
        "  translated_on: 2026-10-02\nclosing:",
    ),
}


def test_review_state_is_shown_in_the_cli_s_words(serve) -> None:
    """Changed since approval (which questions), a translation out of date, overdue: on the
    library, the document and the editor, as `handouts review status` says it."""
    s = serve(TRANSLATED, today=dt.date(2028, 1, 1))
    project = api.open_project(s.root)
    api.approve(project, "sample", "en", by="Dr A", on=dt.date(2026, 11, 1))
    api.approve(api.open_project(s.root), "sample", "es", by="Dra B", on=dt.date(2026, 11, 1))
    path = s.root / "content/handouts/sample.yaml"
    path.write_text(path.read_text().replace("Yes.", "Yes, always."), encoding="utf-8")
    s.backend.invalidate()
    found = {st.language: st for st in api.review_status(api.open_project(s.root), s.backend.today)}
    en, es = found["en"].describe(), found["es"].describe()
    assert "changed since it was approved on 2026-11-01 (version 3): question 2" in en
    assert "overdue" in en and "translation out of date" in es
    library = s.client.get("/").text
    document = s.client.get("/doc/test/sample/es/leaflet").text
    editor = s.client.get("/edit/sample/en").text
    for html, text in ((library, en), (library, es), (document, es), (editor, en)):
        assert text[1:] in html.replace("&#39;", "'"), text


# ---------------------------------------------------------------- sending to a patient

PATIENT = "jane.doe@example.com"


@pytest.fixture
def mail_server() -> Iterator[Callable[[Recorder], int]]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd, as in tests/test_send.py): ``start(recorder)
    -> port``; stopped after the test."""
    started = []

    def start(recorder: Recorder) -> int:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        controller = _BoundController(recorder, sock)
        controller.start()
        started.append(controller)
        return sock.getsockname()[1]

    yield start
    for controller in started:
        controller.stop()


MAIL_BRAND = BRAND + "email:\n  from_address: handouts@clinic.example.com\n"


def mail_files(port: int | None, extra: str = "") -> dict:
    settings = "example: true\n" + extra
    if port is not None:
        settings += f"smtp:\n  host: 127.0.0.1\n  port: {port}\n  security: none\n  rate: 6000\n"
    return {"content/brands/test/brand.yaml": MAIL_BRAND, "handouts.yaml": settings}


SEND = "/doc/test/sample/en/leaflet/send"


def every_file_text(root: Path) -> str:
    chunks = []
    for path in root.rglob("*"):
        chunks.append(str(path))
        if path.is_file():
            chunks.append(path.read_bytes().decode("latin-1"))
    return "\n".join(chunks)


def test_sending_from_the_app_delivers_the_pdf_and_keeps_no_address(
    serve, mail_server, caplog
) -> None:
    caplog.set_level("DEBUG")
    server = Recorder()
    s = serve(mail_files(mail_server(server)))
    assert "Before you send" in s.client.get(SEND).text
    check = s.post(SEND, {"action": "check", "to": f"  {PATIENT}  \n\n"})
    assert check.status_code == 200, check.text
    confirm = check.text
    # the CLI's confirmation: the address in full, to read back; handout, language, attachment
    assert f'<span class="address">{PATIENT}</span>' in confirm
    assert "sample (Test Clinic, leaflet)" in confirm and "en (English)" in confirm
    kb = round(pdf_path(s.root).stat().st_size / 1024)  # built before the confirmation
    assert f"Sample Handout - Test Clinic.pdf ({kb} KB)" in confirm
    assert server.received == []
    # the consent box is required
    refused = s.post(SEND, {"action": "send", "to": PATIENT})
    assert refused.status_code == 422 and 'id="f-send-consent-error-1"' in refused.text
    assert server.received == []
    sent = s.post(SEND, {"action": "send", "to": PATIENT, "consent": "yes"})
    assert sent.status_code == 200, sent.text
    assert "1 sent." in sent.text and "j***@e***.com (line 1)" in sent.text
    assert PATIENT not in sent.text  # the result shows it masked, as the CLI does
    (got,) = server.received
    assert got.rcpt_tos == [PATIENT]
    attachment = next(got.message.iter_attachments())
    assert attachment.get_filename() == "Sample Handout - Test Clinic.pdf"
    assert attachment.get_content() == pdf_path(s.root).read_bytes()
    (line,) = (s.root / "output/sent.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert record["event"] == "sent" and record["recipient"].startswith("hmac-sha256:")
    assert PATIENT not in every_file_text(s.root) and PATIENT.split("@")[0] not in line
    # the same leaflet to the same address within a day: skipped, as the CLI does
    again = s.post(SEND, {"action": "check", "to": PATIENT}).text
    assert "Already sent to" in again and "so it is skipped" in again
    skipped = s.post(SEND, {"action": "send", "to": PATIENT, "consent": "yes"}).text
    assert "0 sent, 1 skipped." in skipped and "already sent" in skipped
    assert len(server.received) == 1
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]
    assert ours and not [m for m in ours if PATIENT in m]  # (mail.log: the test server's)


def test_a_likely_typo_is_asked_about_before_anything_is_sent(serve, mail_server) -> None:
    server = Recorder()
    s = serve(mail_files(mail_server(server)))
    typed = "jane.doe@gmial.com"
    asked = s.post(SEND, {"action": "check", "to": typed})
    assert asked.status_code == 200
    assert "ends in “gmial.com”. Did you mean “gmail.com”?" in asked.text
    assert "Yes: send to" in asked.text and server.received == []
    unanswered = s.post(SEND, {"action": "send", "to": typed, "consent": "yes"})
    assert unanswered.status_code == 422
    assert "choose what to do with this address" in unanswered.text
    assert server.received == []
    fixed = s.post(SEND, {"action": "check", "to": typed, "typo-1": "fix"}).text
    assert '<span class="address">jane.doe@gmail.com</span>' in fixed
    s.post(SEND, {"action": "send", "to": typed, "typo-1": "keep", "consent": "yes"})
    assert server.received[0].rcpt_tos == [typed]  # kept as typed, on purpose


def test_a_corrected_typo_that_matches_another_line_is_sent_once(serve, mail_server) -> None:
    server = Recorder()
    s = serve(mail_files(mail_server(server)))
    both = "ann@gmial.com\nann@gmail.com"
    confirm = s.post(SEND, {"action": "check", "to": both, "typo-1": "fix"}).text
    assert confirm.count('<span class="address">ann@gmail.com</span>') == 1
    assert "the same address as line 1; it is sent once" in confirm
    assert "Send 1 message" in confirm
    done = s.post(SEND, {"action": "send", "to": both, "typo-1": "fix", "consent": "yes"})
    assert "1 sent" in done.text
    assert [m.rcpt_tos for m in server.received] == [["ann@gmail.com"]]


def test_while_every_leaflet_is_being_built_sending_says_to_wait(serve, mail_server) -> None:
    """The library's build holds the output folder: the send page says so at once rather
    than loading until that build ends."""
    server = Recorder()
    s = serve(mail_files(mail_server(server)))
    s.backend.build_status.running = True  # as while "Build all" runs
    try:
        r = s.post(SEND, {"action": "check", "to": PATIENT})
    finally:
        s.backend.build_status.running = False
    assert r.status_code == 422
    assert "every leaflet is being built right now (Build all)" in r.text
    ok = s.post(SEND, {"action": "check", "to": PATIENT})
    assert ok.status_code == 200 and "Read the address back to the patient" in ok.text
    assert server.received == []


def test_a_leaflet_that_cannot_be_made_says_why_on_the_send_page(serve, mail_server) -> None:
    """The build's own problem is shown, and the leaflet is not built a second time as if the
    mail settings were at fault."""
    server = Recorder()
    files = mail_files(mail_server(server))
    files["content/brands/test/brand.yaml"] = MAIL_BRAND.replace("#0B5E6B", "#88CCDD")
    s = serve(files)
    for action in ("check", "send", "eml"):
        r = s.post(SEND, {"action": action, "to": PATIENT, "consent": "yes"})
        assert r.status_code == 422, (action, r.status_code)
        assert "could not be built, so nothing was sent" in r.text, action
        assert "is too light for text" in r.text and "Traceback" not in r.text
    assert server.received == []


@pytest.mark.parametrize(
    "typed",
    [
        f"{PATIENT}\rBcc: someone@example.org",
        f"{PATIENT}\x0bBcc: someone@example.org",
        "Jane <jane.doe@example.com>, someone@example.org",
    ],
)
def test_header_injection_is_refused_and_nothing_is_sent(serve, mail_server, typed) -> None:
    server = Recorder()
    s = serve(mail_files(mail_server(server)))
    for action in ("check", "send"):
        r = s.post(SEND, {"action": action, "to": typed, "consent": "yes"})
        assert r.status_code == 422, r.text
        assert 'id="f-send-to-error-1"' in r.text
    assert server.received == []
    assert not (s.root / "output/sent.jsonl").exists()


def test_a_draft_is_never_sent_from_the_app(serve, mail_server) -> None:
    server = Recorder()
    s = serve(mail_files(mail_server(server), "require_approval: true\n"))
    build_project(s.root)
    assert "This leaflet is a DRAFT" in s.client.get(SEND).text
    for action in ("check", "send"):
        r = s.post(SEND, {"action": action, "to": PATIENT, "consent": "yes"})
        assert r.status_code == 422
        assert "is a DRAFT, not approved for patients, so it was not sent" in r.text
        assert "Approve the text on the leaflet" in r.text
    assert server.received == []


def test_without_mail_settings_the_message_is_offered_as_an_eml_file(serve) -> None:
    s = serve(mail_files(None))
    confirm = s.post(SEND, {"action": "check", "to": PATIENT}).text
    assert "Sending by email is not set up on this computer" in confirm
    assert 'value="send"' not in confirm and 'value="eml"' in confirm
    r = s.post(SEND, {"action": "eml", "to": PATIENT, "consent": "yes"})
    assert r.status_code == 200
    assert r.headers["content-disposition"] == 'attachment; filename="sample.en.eml"'
    assert r.headers["cache-control"] == "no-store"
    message = email.message_from_bytes(r.content, policy=email.policy.default)
    assert message["To"] == PATIENT
    attachment = next(message.iter_attachments())
    assert attachment.get_content() == pdf_path(s.root).read_bytes()
    (record,) = [json.loads(x) for x in (s.root / "output/sent.jsonl").read_text().splitlines()]
    assert record["event"] == "eml" and PATIENT not in json.dumps(record)
    assert PATIENT not in every_file_text(s.root)  # the .eml was written, read, removed


def test_mail_server_refusals_and_missing_passwords_are_explained(
    serve, mail_server, monkeypatch
) -> None:
    server = Recorder(answers=["554 5.7.1 Message rejected for policy reasons"])
    s = serve(mail_files(mail_server(server)))
    r = s.post(SEND, {"action": "send", "to": PATIENT, "consent": "yes"})
    assert r.status_code == 502
    assert "Not everything was sent" in r.text
    assert "Stopped: the mail server answered 554 5.7.1 Message rejected" in r.text
    assert "0 sent, 1 failed." in r.text and PATIENT not in r.text
    monkeypatch.delenv("CLINIC_SMTP_PASSWORD", raising=False)
    settings = s.root / "handouts.yaml"
    settings.write_text(
        settings.read_text() + "  username: handouts\n  password_env: CLINIC_SMTP_PASSWORD\n",
        encoding="utf-8",
    )
    s.backend.invalidate()
    confirm = s.post(SEND, {"action": "check", "to": PATIENT}).text
    assert "the environment variable CLINIC_SMTP_PASSWORD is not set" in confirm
    assert 'value="send"' not in confirm and ".eml file" in confirm


# ---------------------------------------------------------------- the web page


def test_the_web_page_is_built_on_demand_and_served_under_its_own_policy(serve) -> None:
    import io
    import zipfile

    s = serve()
    page = s.client.get("/doc/test/sample/en/leaflet").text
    assert 'href="/web/test/sample.en.html"' in page
    r = s.client.get("/web/test/sample.en.html")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    built = s.root / "output/test/sample.en.html"
    assert r.content == built.read_bytes()  # built through the library, into output/
    assert '"@type": "FAQPage"' in r.text and "Sample Handout" in r.text
    policy = r.headers["content-security-policy"]
    assert "script-src" not in policy and "default-src 'none'" in policy
    logo = s.client.get("/web/test/test-logo.svg")
    assert logo.status_code == 200 and logo.content == (built.parent / "test-logo.svg").read_bytes()
    assert 'src="test-logo.svg"' in r.text  # found beside the page
    records = json.loads((s.root / "output/manifest.json").read_text())["documents"]
    assert records["test/sample.en.html"]["sha256"] == sha_of(built)
    zipped = zipfile.ZipFile(
        io.BytesIO(s.client.get("/web/test/sample.en.html?download=1").content)
    )
    assert sorted(zipped.namelist()) == ["sample.en.html", "test-logo.svg"]
    for url in ("/web/test/other-logo.svg", "/web/test/manifest.json", "/web/nope/sample.en.html"):
        assert s.client.get(url).status_code == 404, url


def test_the_web_page_of_a_handout_that_cannot_be_made_says_why(serve) -> None:
    s = serve({"content/brands/test/brand.yaml": BRAND.replace("#0B5E6B", "#88CCDD")})
    r = s.client.get("/web/test/sample.en.html")
    assert r.status_code == 422 and "The web page could not be made" in r.text
    assert "Traceback" not in r.text


# ---------------------------------------------------------------- the API the app stands on


def test_validate_file_says_what_loading_says_and_writes_nothing(serve) -> None:
    s = serve()
    project = api.open_project(s.root)
    handout = s.root / "content/handouts/sample.yaml"
    brand = s.root / "content/brands/test/brand.yaml"
    before = every_file_text(s.root)
    bad = HANDOUT.replace("answer: Yes.", "answer: See [x](javascript:alert(1)).")
    found = api.validate_file(project, handout, bad)
    handout.write_text(bad, encoding="utf-8")
    loaded = [p for p in api.open_project(s.root).problems if "sample.yaml" in str(p.path)]
    handout.write_text(HANDOUT, encoding="utf-8")
    assert found == loaded and found
    assert api.validate_file(project, handout, HANDOUT) == []
    wrong = api.validate_file(project, brand, BRAND.replace("logo.svg", "missing.svg"))
    assert [p.message for p in wrong] == ["the logo file 'missing.svg' does not exist"]
    assert wrong[0].path == "content/brands/test/brand.yaml" and wrong[0].line == 2
    assert api.validate_file(project, brand, BRAND) == []
    assert every_file_text(s.root) == before  # no file written, none left behind
    with pytest.raises(ValueError):
        api.validate_file(project, s.root / "handouts.yaml", "")


def test_a_handout_saved_under_another_id_is_refused(serve) -> None:
    s = serve()
    path = s.root / "content/handouts/sample.yaml"
    before = path.read_text()
    page = s.client.get("/edit/sample/en/yaml").text
    r = s.post(
        "/edit/sample/en/yaml",
        {"text": before.replace("id: sample", "id: other"), "sha": sha_field(page)},
    )
    assert r.status_code == 422
    assert "the id &#39;other&#39; differs from the file name &#39;sample.yaml&#39;" in r.text
    assert path.read_text() == before


def test_a_dry_run_gives_the_plan_it_used(make_project) -> None:
    project = api.open_project(make_project(TWO))
    preview = api.dry_run(project, api.BuildRequest())
    assert preview.plan.jobs == api.plan(project).jobs and len(preview.plan.jobs) == 3
    assert {r.output for r in preview.results} == {str(j.output) for j in preview.plan.jobs}


def test_the_warm_executor_is_set_up_as_a_build_s_workers() -> None:
    import signal

    from handouts.lock import session_tempdir

    pool = api.warm_executor()
    try:
        assert pool.submit(os.getenv, "TMPDIR").result(WAIT_S) == session_tempdir()
        assert pool.submit(signal.getsignal, signal.SIGINT).result(WAIT_S) == signal.SIG_IGN
        assert "weasyprint" in pool.submit(_loaded_modules).result(WAIT_S)  # preloaded
    finally:
        pool.shutdown()


def _loaded_modules() -> set[str]:
    import sys

    return set(sys.modules)


# ---------------------------------------------------------------- brands


def test_contrast_is_checked_live_with_the_proposed_darker_shade(serve) -> None:
    s = serve()
    r = s.hx("/brand/test/contrast", {"primary": "#88CCDD", "accent": "#E3A72F"})
    loaded = api.open_project(s.root)
    brand = loaded.brands[0]
    pairs = [
        p for p in contrast.printed_pairs(loaded, brand.brand.layouts) if p.colour == "primary"
    ]
    proposed = contrast.nearest_passing("#88CCDD", "primary", pairs, "#E3A72F")
    assert proposed and f'<strong class="proposed">{proposed}</strong>' in r.text
    assert "is too light for text" in r.text and "Too little contrast" in r.text
    ok = s.hx("/brand/test/contrast", {"primary": proposed, "accent": "#E3A72F"}).text
    assert "Too little contrast" not in ok and "proposed" not in ok
    bad = s.hx("/brand/test/contrast", {"primary": "red; x", "accent": "#E3A72F"}).text
    assert "must be a colour written as" in bad and "red; x" not in bad


def test_saving_brand_colours_and_contact_keeps_the_file_s_style(serve) -> None:
    s = serve()
    path = s.root / "content/brands/test/brand.yaml"
    before = path.read_text()
    page = s.client.get("/brand/test").text
    data = {
        "sha": sha_field(page),
        "name": "Test Clinic",
        "tagline": "",
        "primary": "#0A4F5A",
        "accent": "#E3A72F",
        "contact-phone": "(555) 010-0000",
        "contact-email": "",
        "contact-website": "https://test.example",
        "contact-booking_url": "https://test.example/book",
        "contact-address": "2 Test Street",
    }
    r = s.post("/brand/test", data, follow_redirects=False)
    assert r.status_code == 303
    after = path.read_text()
    assert 'primary: "#0A4F5A"' in after and "address: 2 Test Street" in after
    changed = [x for x in difflib.ndiff(before.splitlines(), after.splitlines()) if x[0] in "+-"]
    assert len(changed) == 4, changed
    data.update(sha=sha_of(path), primary="#88CCDD", **{"contact-website": "javascript:x"})
    r = s.post("/brand/test", data)
    assert r.status_code == 422 and path.read_text() == after
    html = r.text.replace("&#39;", "'")
    assert "is not allowed: use an https:// address" in html
    assert html.index("is not allowed") < html.index('id="f-contact-website"')


def test_logo_upload_uses_the_cli_s_rules(serve) -> None:
    s = serve()
    folder = s.root / "content/brands/test"
    hostile = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    r = s.client.post(
        "/brand/test/logo",
        data={"csrf": s.csrf},
        files={"logo": ("x.svg", hostile, "image/svg+xml")},
    )
    assert r.status_code == 422
    assert "must not contain &lt;image&gt;, &lt;use&gt;, &lt;script&gt;" in r.text
    assert b"script" not in (folder / "logo.svg").read_bytes()
    import struct
    import zlib

    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", 13)
        + b"IHDR"
        + struct.pack(">IIBBBBB", 50000, 50000, 8, 2, 0, 0, 0)
        + b"\0" * 4
        + zlib.compress(b"")
    )
    r = s.client.post(
        "/brand/test/logo", data={"csrf": s.csrf}, files={"logo": ("x.png", bomb, "image/png")}
    )
    assert r.status_code == 422 and "has too many pixels" in r.text
    assert not (folder / "logo.png").exists()
    good = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4"><rect width="4"/></svg>'
    r = s.client.post(
        "/brand/test/logo",
        data={"csrf": s.csrf},
        follow_redirects=False,
        files={"logo": ("../../evil.svg", good, "image/svg+xml")},
    )
    assert r.status_code == 303
    assert (folder / "logo.svg").read_bytes() == good  # named by the app, never by the upload
    assert (folder / "logo.svg.bak").is_file()
    assert not (s.root / "evil.svg").exists() and not (s.root.parent / "evil.svg").exists()


# ---------------------------------------------------------------- check page


def test_check_page_uses_the_cli_s_words(serve) -> None:
    s = serve(JARGON)
    page = s.client.get("/check").text.replace("&#39;", "'").replace("&#34;", '"')
    cli = run_cli("check", "-C", str(s.root))
    findings = api.check(api.open_project(s.root)).findings
    assert findings
    for f in findings:
        assert f.problem.message in page and f.problem.message in cli.stdout
    assert "Fix it" in page


def test_the_serve_command_has_help(make_project) -> None:
    ran = run_cli("serve", "--help")
    assert ran.code == 0 and "--port" in ran.stdout and "HANDOUTS_TOKEN" in ran.stdout


def test_environment_token_is_used_as_given(monkeypatch) -> None:
    from handouts.serve import token_from_environment

    monkeypatch.setenv("HANDOUTS_TOKEN", "a-long-token-chosen-by-staff-1")
    assert token_from_environment() == "a-long-token-chosen-by-staff-1"
    monkeypatch.delenv("HANDOUTS_TOKEN")
    assert token_from_environment() is None
    assert os.environ.get("HANDOUTS_TOKEN") is None


def test_a_vanished_project_is_a_plain_page_not_a_traceback(serve) -> None:
    s = serve()
    (s.root / "content").rename(s.root / "moved-away")
    s.backend.invalidate()
    r = s.client.get("/")
    assert r.status_code == 500
    assert "The project cannot be read" in r.text and "no content/ folder here" in r.text
    assert "Traceback" not in r.text


def test_the_watcher_ignores_the_app_s_own_saves_but_not_other_edits(serve) -> None:
    s = serve()
    path = s.root / "content/handouts/sample.yaml"
    r = s.post("/edit/sample/en", save_form(s, **{"q-1-answer": "Saved by the app."}))
    assert r.status_code == 200
    assert s.backend.changed_elsewhere([str(path)]) == []
    path.write_text(path.read_text().replace("Saved by the app.", "Saved by an editor."))
    assert s.backend.changed_elsewhere([str(path)]) == [str(path)]


def test_a_cli_build_is_seen_without_restarting_the_app(serve) -> None:
    s = serve()
    assert "Changed" in s.client.get("/").text
    ran = run_cli("build", "-C", str(s.root), "-j", "1", "-q")
    assert ran.code == 0, ran
    assert "Up to date" in s.client.get("/").text  # no invalidate(): the manifest changed


def test_a_killed_preview_worker_is_replaced(make_project) -> None:
    """The warm worker may die (out of memory, killed): the next preview starts a new one
    rather than leaving the page waiting."""
    import signal

    root = make_project()
    with ServerThread(root, token=TOKEN, warm=True, watch=False) as server:
        backend = server.app.backend
        key = backend.documents_of("sample", "en")[0]
        backend.preview([key]).result(WAIT_S)
        pool = backend._renderer._pool
        assert pool is not None
        for pid in list(pool._processes):
            os.kill(pid, signal.SIGKILL)
        wait_until(lambda: pool._broken, "the pool to notice its worker died")
        handout = root / "content/handouts/sample.yaml"
        handout.write_text(handout.read_text().replace("Yes.", "Yes, after a restart."))
        backend.invalidate()
        result = backend.preview([key]).result(WAIT_S)
    assert result is not None and result.status == "built", result
    assert "after a restart" in pdf_text(pdf_path(root).read_bytes())
