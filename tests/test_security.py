"""Threats from shared/design/security.md (items 1-5, 8-11, 19 and 20), each shown to hold by a
real build: real templates, real WeasyPrint renders, real PDFs, no mocks.

Items 6-7 (runaway documents, image bombs) and 12-15 (YAML) live in other test files.
"""

from __future__ import annotations

import contextlib
import http.server
import io
import math
import re
import threading
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path

import pypdf
import pytest
import zxingcpp

from handouts.errors import HandoutsError
from handouts.plan import make_plan
from handouts.project import load_project
from handouts.qr import MIN_MODULE_MM, QUIET_ZONE, QRTooDense, make_qr
from handouts.render import template_env
from handouts.results import Report, Result

from conftest import (
    BRAND,
    HANDOUT,
    LOGO_SVG,
    REPO,
    build_project,
    decode_qr_codes,
    normalise,
    page_images,
    pdf_text,
    run_cli,
)

MARKER = "S3CRET-9f4c2e-MARKER"
PASSWD_MARKER = "root:x:0:0"
SECRET_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 40" width="300" height="40">'
    f'<text x="2" y="30" font-size="20">{MARKER}</text><!-- {MARKER} --></svg>'
)
SECRET_CSS = f'body::before {{ content: "{MARKER}"; }} /* {MARKER} */\n'
LAYOUT_TEMPLATE = "templates/leaflet/page.html"


def header_template(html: str) -> str:
    """A custom leaflet template: the built-in page with ``html`` as its header."""
    return '{% extends "base/page.html" %}{% block header %}' + html + "{% endblock %}"


def yaml_line(text: str, needle: str) -> int:
    """1-based line of the first line of ``text`` that contains ``needle``."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def run_build(root: Path, out: Path | None = None) -> tuple[Report, Path]:
    out = out or root.parent / "out"
    report = build_project(root, out)
    return report, out


def only(report: Report) -> Result:
    assert len(report.results) == 1, report.results
    return report.results[0]


def _output_blobs(out: Path) -> Iterator[tuple[Path, bytes]]:
    """Every output file's bytes; for PDFs also each inflated stream and the extracted text."""
    for path in sorted(out.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        yield path, data
        if data.startswith(b"%PDF"):
            for match in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
                with contextlib.suppress(zlib.error):
                    yield path, zlib.decompressobj().decompress(match.group(1))
            yield path, pdf_text(data).encode()


def _local_markers() -> list[str]:
    markers = [MARKER, PASSWD_MARKER]
    with contextlib.suppress(OSError):
        hostname = Path("/etc/hostname").read_text().strip()
        if len(hostname) >= 8:
            markers.append(hostname)
    return markers


def assert_no_leak(out: Path) -> None:
    markers = _local_markers()
    for path, blob in _output_blobs(out):
        for marker in markers:
            assert marker.encode() not in blob, f"{marker!r} leaked into {path}"


def pdfs(out: Path) -> list[Path]:
    return sorted(out.rglob("*.pdf"))


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder next to the project (outside every allowed root) holding secrets."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text(MARKER + "\n")
    (folder / "secret.svg").write_text(SECRET_SVG)
    (folder / "secret.css").write_text(SECRET_CSS)
    return folder


# ================================================================ 1. local file reads

# id -> (header html, the URL the error must name). "{out}" is the outside folder's URL,
# "{outpath}" its path, "{brand}" the brand folder's URL (the render's base URL) and "{brands}"
# its parent, content/brands/, where the project keeps a second secret for `../` to reach.
LEAKS = {
    "file-etc-hostname": ('<img src="file:///etc/hostname">', "file:///etc/hostname"),
    "file-secret-svg": ('<img src="{out}/secret.svg">', "{out}/secret.svg"),
    "file-secret-txt": ('<img src="{out}/secret.txt">', "{out}/secret.txt"),
    "file-localhost": (
        '<img src="file://localhost{outpath}/secret.svg">',
        "file://localhost{outpath}/secret.svg",
    ),
    "file-other-host": ('<img src="file://fileserver/etc/passwd">', "file://fileserver/etc/passwd"),
    "dotdot-svg": ('<img src="../secret.svg">', "{brands}/secret.svg"),
    "dotdot-txt": ('<img src="../secret.txt">', "{brands}/secret.txt"),
    "dotdot-encoded-svg": ('<img src="..%2fsecret.svg">', "{brand}/..%2fsecret.svg"),
    "dotdot-encoded-txt": ('<img src="..%2fsecret.txt">', "{brand}/..%2fsecret.txt"),
    "dotdot-encoded-upper": ('<img src="..%2Fsecret.svg">', "{brand}/..%2Fsecret.svg"),
    "base-href": ('<base href="{out}/"><img src="secret.svg">', "{out}/secret.svg"),
    "base-href-tmp": (
        '<base href="file:///tmp/"><img src="{rel}/secret.svg">',
        "file:///tmp/{rel}/secret.svg",
    ),
    "font-face-passwd": (
        "<style>@font-face{font-family:Leak;src:url(file:///etc/passwd)} h1{font-family:Leak}"
        "</style>",
        "file:///etc/passwd",
    ),
    "font-face-secret": (
        "<style>@font-face{font-family:Leak;src:url({out}/secret.txt)}</style>",
        "{out}/secret.txt",
    ),
    "css-background": (
        '<div style="background-image:url({out}/secret.svg)">x</div>',
        "{out}/secret.svg",
    ),
    "css-import": ('<style>@import url("{out}/secret.css");</style>', "{out}/secret.css"),
    "link-stylesheet": ('<link rel="stylesheet" href="{out}/secret.css">', "{out}/secret.css"),
    "object": (
        '<object data="{out}/secret.svg" type="image/svg+xml"></object>',
        "{out}/secret.svg",
    ),
    "symlink-file-in-brand": ('<img src="peek.svg">', "{brand}/peek.svg"),
    "symlink-dir-in-brand": ('<img src="up/secret.svg">', "{brand}/up/secret.svg"),
}


def _fill(text: str, outside: Path, brand: Path | None = None) -> str:
    tmp = Path("/tmp")
    rel = outside.relative_to(tmp).as_posix() if outside.is_relative_to(tmp) else ""
    if brand is not None:
        text = text.replace("{brands}", brand.parent.as_uri()).replace("{brand}", brand.as_uri())
    return (
        text.replace("{out}", outside.as_uri())
        .replace("{outpath}", outside.as_posix())
        .replace("{rel}", rel)
    )


def assert_names_url(message: str, url: str, prefix: str = "") -> None:
    """The message quotes ``url`` ('<url>'); a long one may be cut, ending in '...'."""
    shown = re.findall(prefix + r"'([^']*)'", message)
    assert shown, message
    assert any(
        s == url or (s.endswith("...") and url.startswith(s[:-3]) and len(s) >= 60) for s in shown
    ), (url, message)


def assert_names_blocked_url(message: str, url: str) -> None:
    assert_names_url(message, url, prefix="blocked ")


@pytest.mark.parametrize("case", list(LEAKS))
def test_local_file_reads_fail_the_document(make_project, outside: Path, case: str) -> None:
    if case == "base-href-tmp" and not outside.is_relative_to("/tmp"):
        pytest.skip("the temporary folder is not under /tmp")
    root = make_project(
        {"content/brands/secret.svg": SECRET_SVG, "content/brands/secret.txt": MARKER}
    )
    brand = root.resolve() / "content/brands/test"
    (brand / "peek.svg").symlink_to(outside / "secret.svg")
    (brand / "up").symlink_to(outside, target_is_directory=True)
    html, blocked = (_fill(x, outside, brand) for x in LEAKS[case])
    (root / LAYOUT_TEMPLATE).parent.mkdir(parents=True)
    (root / LAYOUT_TEMPLATE).write_text(header_template(html))

    report, out = run_build(root)

    result = only(report)
    assert not result.ok
    assert_names_blocked_url(result.error, blocked)
    assert not (out / result.output).exists()
    assert pdfs(out) == []
    assert_no_leak(out)


def test_leak_check_sees_a_secret_when_it_is_allowed(make_project) -> None:
    # Control: the secret SVG, put inside the brand folder, does reach the PDF (as text) and
    # assert_no_leak notices. So the leak checks above are not vacuous.
    root = make_project(
        {
            LAYOUT_TEMPLATE: header_template('<img src="inside.svg">'),
            "content/brands/test/inside.svg": SECRET_SVG,
        }
    )
    report, out = run_build(root)
    assert only(report).ok, only(report).error
    with pytest.raises(AssertionError, match="leaked into"):
        assert_no_leak(out)


def test_local_file_read_via_cli_exits_1_naming_the_url(
    make_project, outside: Path, tmp_path: Path
) -> None:
    root = make_project(
        {LAYOUT_TEMPLATE: header_template(f'<base href="{outside.as_uri()}/"><img src="x.svg">')}
    )
    (outside / "x.svg").write_text(SECRET_SVG)
    out = tmp_path / "cli-out"
    ran = run_cli("build", "-C", str(root), "--out", str(out), "--jobs", "1")
    assert ran.code == 1, ran
    assert_names_blocked_url(ran.stderr, f"{outside.as_uri()}/x.svg")
    assert "FAILED" in ran.stderr
    assert "test/sample.en.leaflet" in ran.stderr
    assert "Traceback" not in ran.stdout + ran.stderr
    assert pdfs(out) == []
    assert_no_leak(out)


SVG_LOGO_ATTACKS = {
    "image-href": '<image href="file:///etc/passwd" width="10" height="10"/>',
    "image-xlink": '<image xlink:href="file:///etc/passwd" width="10" height="10"/>',
    "image-uppercase": '<IMAGE HREF="file:///etc/passwd"/>',
    "namespaced-image": '<svg:image href="file:///etc/passwd"/>',
    "use-external": '<use href="file:///etc/passwd#x"/>',
    "fe-image": '<filter id="f"><feImage href="file:///etc/passwd"/></filter>',
    "style-import": "<style>@import url(file:///etc/passwd);</style>",
    "style-font-face": "<style>@font-face{font-family:x;src:url(file:///etc/passwd)}</style>",
}


@pytest.mark.parametrize("case", list(SVG_LOGO_ATTACKS))
def test_svg_logo_with_external_reference_is_rejected_at_load(make_project, case: str) -> None:
    svg = LOGO_SVG.replace(
        "<svg ",
        '<svg xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:svg="http://www.w3.org/2000/svg" ',
    ).replace("</svg>", SVG_LOGO_ATTACKS[case] + "</svg>")
    root = make_project({"content/brands/test/logo.svg": svg})
    with pytest.raises(HandoutsError) as caught:
        load_project(root)
    message = str(caught.value)
    assert f"content/brands/test/brand.yaml:{yaml_line(BRAND, 'logo:')}" in message
    assert "logo 'logo.svg'" in message


def test_svg_logo_with_doctype_entity_is_rejected_at_load(make_project) -> None:
    svg = (
        '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY leak SYSTEM "file:///etc/passwd">]>'
        + LOGO_SVG.replace("</svg>", "<text>&leak;</text></svg>")
    )
    root = make_project({"content/brands/test/logo.svg": svg})
    with pytest.raises(HandoutsError, match="DOCTYPE"):
        load_project(root)


@pytest.mark.parametrize("how", ["symlink", "dotdot", "absolute"])
def test_logo_outside_the_brand_folder_is_rejected_at_load(
    make_project, outside: Path, how: str
) -> None:
    # The target is a perfectly valid SVG: only its place makes it unacceptable.
    name = {"symlink": "logo.svg", "dotdot": "../../../../outside/secret.svg"}.get(
        how, str(outside / "secret.svg")
    )
    root = make_project({"content/brands/test/brand.yaml": BRAND.replace("logo.svg", name)})
    if how == "symlink":
        logo = root / "content/brands/test/logo.svg"
        logo.unlink()
        logo.symlink_to(outside / "secret.svg")
    else:
        assert (root / "content/brands/test" / name).resolve() == outside / "secret.svg"
    with pytest.raises(HandoutsError) as caught:
        load_project(root)
    message = str(caught.value)
    assert "outside the brand's folder" in message
    assert f"brand.yaml:{yaml_line(BRAND, 'logo:')}" in message
    ran = run_cli("build", "-C", str(root), "--jobs", "1")
    assert ran.code == 1
    assert "outside the brand's folder" in ran.stderr


@pytest.mark.parametrize(
    "style",
    [
        pytest.param('@\\69mport "{out}/secret.css";', id="escaped-import"),
        pytest.param(
            '@font-face{{font-family:x;src:\\75 rl("{out}/secret.txt")}}', id="escaped-url"
        ),
    ],
)
def test_logo_that_slips_past_the_loader_still_cannot_read_files(
    make_project, outside: Path, style: str
) -> None:
    # CSS escapes hide `@import` / `url(` from byte patterns: the loader refuses escapes in a
    # logo, and the fetcher, the second line of defence, still stops such an SVG when a
    # template uses it directly.
    svg = LOGO_SVG.replace("</svg>", f"<style>{style.format(out=outside.as_uri())}</style></svg>")
    with pytest.raises(HandoutsError, match="must not contain CSS escapes"):
        load_project(make_project({"content/brands/test/logo.svg": svg}))
    root = make_project(
        {
            "content/brands/test/other.svg": svg,
            LAYOUT_TEMPLATE: header_template('<img src="other.svg" alt="x">'),
        }
    )
    report, out = run_build(root)
    result = only(report)
    assert not result.ok
    assert pdfs(out) == []
    assert_no_leak(out)


def test_inline_svg_image_outside_never_leaks(make_project, outside: Path) -> None:
    html = (
        '<svg width="300" height="40"><image href="{out}/secret.svg" width="300" height="40"/>'
        "</svg>"
    )
    root = make_project({LAYOUT_TEMPLATE: header_template(_fill(html, outside))})
    _, out = run_build(root)
    assert_no_leak(out)


def test_unchecked_svg_in_brand_folder_never_leaks(make_project, outside: Path) -> None:
    evil = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="40">'
        f'<image href="{outside.as_uri()}/secret.svg" width="300" height="40"/></svg>'
    )
    root = make_project(
        {
            LAYOUT_TEMPLATE: header_template('<img src="extra.svg">'),
            "content/brands/test/extra.svg": evil,
        }
    )
    _, out = run_build(root)
    assert_no_leak(out)


@pytest.mark.parametrize("where", ["inline-svg", "svg-file-in-brand-folder"])
def test_blocked_fetch_inside_svg_fails_the_document(
    make_project, outside: Path, where: str
) -> None:
    image = f'<image href="{outside.as_uri()}/secret.svg" width="300" height="40"/>'
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="300" height="40">{image}</svg>'
    files = {LAYOUT_TEMPLATE: header_template(svg)}
    if where != "inline-svg":
        files = {
            LAYOUT_TEMPLATE: header_template('<img src="extra.svg">'),
            "content/brands/test/extra.svg": svg,
        }
    report, out = run_build(make_project(files))
    result = only(report)
    assert not result.ok
    assert "secret.svg" in result.error
    assert pdfs(out) == []


@pytest.mark.parametrize(
    "src", ["data:image/png;base64,abc", "%00"], ids=["bad-base64", "nul-in-path"]
)
def test_broken_url_in_template_fails_only_its_document(make_project, src: str) -> None:
    root = make_project(
        {
            "templates/broken/page.html": header_template(f'<img src="{src}">'),
            "content/brands/test/brand.yaml": BRAND + "layouts: [leaflet, broken]\n",
        }
    )
    try:
        report, _ = run_build(root)
    except BaseException as exc:
        pytest.fail(f"the build crashed: {type(exc).__name__}: {exc}")
    by_layout = {r.label.rsplit(".", 1)[1]: r for r in report.results}
    assert by_layout["leaflet"].ok
    assert not by_layout["broken"].ok
    assert by_layout["broken"].error


def test_template_symlink_out_of_the_templates_folder_is_refused(
    make_project, outside: Path
) -> None:
    # Not a WeasyPrint fetch, but the same threat: a committed symlink makes the build read
    # any file on the build machine. The ConfinedFetcher rules should hold for templates too.
    root = make_project({LAYOUT_TEMPLATE: header_template('{% include "leaflet/peek.html" %}')})
    (root / "templates/leaflet/peek.html").symlink_to(outside / "secret.txt")
    report, out = run_build(root)
    assert_no_leak(out)
    result = only(report)
    assert not result.ok
    assert "peek.html" in result.error


# ================================================================ 2. attachments


def test_attachments_are_never_embedded(make_project, outside: Path) -> None:
    html = (
        '<link rel="attachment" href="logo.svg">'
        '<link rel="attachment" href="notes.txt" title="notes">'
        '<link rel="attachment" href="{out}/secret.txt">'
        '<a rel="attachment" href="notes.txt">notes</a>'
        '<a rel="attachment" href="{out}/secret.txt">secret</a>'
    )
    root = make_project(
        {
            LAYOUT_TEMPLATE: header_template(_fill(html, outside)),
            "content/brands/test/notes.txt": MARKER,
        }
    )
    report, out = run_build(root)
    result = only(report)
    if result.ok:
        data = (out / result.output).read_bytes()
        assert b"/EmbeddedFile" not in data
        assert b"/FileAttachment" not in data
        reader = pypdf.PdfReader(io.BytesIO(data))
        assert dict(reader.attachments) == {}
        assert "/EmbeddedFiles" not in reader.trailer["/Root"].get("/Names", {})
        for page in reader.pages:
            for annot in page.get("/Annots") or []:
                assert annot.get_object().get("/Subtype") != "/FileAttachment"
    else:
        assert "attach" in result.error
    assert_no_leak(out)


# ================================================================ 3. network


class _CountingServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[str] = []
        super().__init__(("127.0.0.1", 0), _CountingHandler)

    def verify_request(self, request, client_address) -> bool:
        self.connections += 1
        return True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        body = b"body { color: red }"
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        pass


@contextlib.contextmanager
def counting_server(lifetime: float = 60.0) -> Iterator[_CountingServer]:
    """A loopback HTTP server that records every connection; it stops after ``lifetime``
    seconds at the latest, and always when the block ends."""
    server = _CountingServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    watchdog = threading.Timer(lifetime, server.shutdown)
    watchdog.daemon = True
    thread.start()
    watchdog.start()
    try:
        yield server
    finally:
        watchdog.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


NETWORK_TEMPLATES = {
    "net-img": '<img src="{url}/img.png">',
    "net-link-css": '<link rel="stylesheet" href="{url}/style.css">',
    "net-import": '<style>@import url("{url}/import.css");</style>',
    "net-font": "<style>@font-face{{font-family:Net;src:url({url}/font.ttf)}} h1{{font-family:Net}}"
    "</style>",
    "net-background": '<div style="background-image:url({url}/bg.png)">x</div>',
    "net-object": '<object data="{url}/object.svg" type="image/svg+xml"></object>',
    "net-base": '<base href="{url}/"><img src="relative.png">',
}


def test_rendering_never_touches_the_network(make_project, tmp_path: Path) -> None:
    with counting_server() as server:
        url = server.url
        handout = HANDOUT.replace(
            "A short answer.", f"A short answer, see [our page]({url}/content-link)."
        ).replace("doi: 10.1000/xyz123", f"url: {url}/reference")
        brand = BRAND.replace("https://test.example/book", f"{url}/book") + (
            f"layouts: [leaflet, {', '.join(NETWORK_TEMPLATES)}]\n"
        )
        files: dict[str, str | bytes | None] = {
            "content/handouts/sample.yaml": handout,
            "content/brands/test/brand.yaml": brand,
        }
        for layout, html in NETWORK_TEMPLATES.items():
            files[f"templates/{layout}/page.html"] = header_template(html.format(url=url))
        root = make_project(files)

        report, out = run_build(root)

        assert (server.connections, server.requests) == (0, [])
        # The server does answer: zero requests is the renderer's doing, not a dead socket.
        with urllib.request.urlopen(f"{url}/probe", timeout=5) as response:
            assert response.status == 200
        assert server.requests == ["/probe"]

    by_layout = {r.label.rsplit(".", 1)[1]: r for r in report.results}
    assert by_layout["leaflet"].ok, by_layout["leaflet"].error
    for layout in NETWORK_TEMPLATES:
        assert not by_layout[layout].ok, layout
        assert f"blocked '{url}/" in by_layout[layout].error
        assert "network" in by_layout[layout].error
    # Links only became link annotations and QR codes.
    data = (out / by_layout["leaflet"].output).read_bytes()
    uris = set()
    for page in pypdf.PdfReader(io.BytesIO(data)).pages:
        for annot in page.get("/Annots") or []:
            action = annot.get_object().get("/A")
            if action and "/URI" in action:
                uris.add(str(action["/URI"]))
    assert {f"{url}/content-link", f"{url}/reference"} <= uris
    assert {f"{url}/reference", f"{url}/book"} <= set(decode_qr_codes(data))


# ================================================================ 4. fail-open


@pytest.mark.parametrize(
    ("html", "name"),
    [
        pytest.param('<img src="missing.png">', "missing.png", id="img"),
        pytest.param(
            '<div style="background-image:url(missing.png)">x</div>', "missing.png", id="css-url"
        ),
        pytest.param('<img src="broken.png">', "broken.png", id="corrupt-png"),
    ],
)
def test_missing_resource_fails_the_document(make_project, html: str, name: str) -> None:
    root = make_project(
        {
            LAYOUT_TEMPLATE: header_template(html),
            "content/brands/test/broken.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 40,
        }
    )
    report, out = run_build(root)
    result = only(report)
    assert not result.ok
    assert_names_url(result.error, f"{(root.resolve() / 'content/brands/test').as_uri()}/{name}")
    assert pdfs(out) == []


def test_missing_resource_via_cli_exits_1(make_project, tmp_path: Path) -> None:
    root = make_project({LAYOUT_TEMPLATE: header_template('<img src="missing.png">')})
    ran = run_cli("build", "-C", str(root), "--out", str(tmp_path / "o"), "--jobs", "1")
    assert ran.code == 1, ran
    assert "FAILED" in ran.stderr
    assert_names_url(ran.stderr, f"{(root.resolve() / 'content/brands/test').as_uri()}/missing.png")
    assert pdfs(tmp_path / "o") == []


def test_blocked_url_message_keeps_the_file_name_in_deep_folders(make_project) -> None:
    folder = "content/brands/a-clinic-whose-folder-name-is-long-enough-to-matter"
    root = make_project(
        {
            "content/brands/test/brand.yaml": None,
            "content/brands/test/logo.svg": None,
            f"{folder}/brand.yaml": BRAND,
            f"{folder}/logo.svg": LOGO_SVG,
            LAYOUT_TEMPLATE: header_template('<img src="missing-photo.png">'),
        }
    )
    result = only(run_build(root)[0])
    assert not result.ok
    assert "missing-photo.png" in result.error


def test_stylesheet_a_template_asks_for_is_applied_or_fails(make_project) -> None:
    root = make_project(
        {
            LAYOUT_TEMPLATE: header_template('<link rel="stylesheet" href="extra.css"><h1>Hi</h1>'),
            "content/brands/test/extra.css": 'h1::before { content: "STYLED-"; }',
        }
    )
    report, out = run_build(root)
    result = only(report)
    if result.ok:
        assert "STYLED-" in pdf_text((out / result.output).read_bytes())
    else:
        assert "extra.css" in result.error


def test_unloadable_brand_font_fails_the_document(make_project) -> None:
    root = make_project(
        {
            "fonts/Broken-Regular.ttf": b"not a font" * 50,
            "content/brands/test/brand.yaml": BRAND + "font: Broken\n",
        }
    )
    report, out = run_build(root)
    result = only(report)
    assert not result.ok
    assert "Broken" in result.error
    assert pdfs(out) == []


# ================================================================ 5. CSS injection via brand


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('primary: "#0B5E6B"', 'primary: "red; background:url(http://127.0.0.1:1/)"', "primary"),
        (
            'primary: "#0B5E6B"',
            'primary: "#0B5E6B; background:url(http://127.0.0.1:1/)"',
            "primary",
        ),
        (
            'accent: "#E3A72F"',
            'accent: "#E3A72F} body{background:url(http://127.0.0.1:1/)"',
            "accent",
        ),
        (
            "paper: letter",
            'paper: letter\nfont: "x; } body { background: url(http://127.0.0.1:1/) }"',
            "font",
        ),
    ],
    ids=["primary", "primary-valid-prefix", "accent", "font"],
)
def test_css_injection_in_brand_values_is_rejected_at_load(
    make_project, old: str, new: str, key: str
) -> None:
    brand = BRAND.replace(old, new)
    assert brand != BRAND
    root = make_project({"content/brands/test/brand.yaml": brand})
    with pytest.raises(HandoutsError) as caught:
        load_project(root)
    message = str(caught.value)
    assert f"content/brands/test/brand.yaml:{yaml_line(brand, key + ':')}" in message
    assert key in message
    if key != "font":
        assert "#RRGGBB" in message


def test_css_injection_via_cli_is_a_clear_error(make_project, tmp_path: Path) -> None:
    brand = BRAND.replace('"#0B5E6B"', '"red; background:url(http://127.0.0.1:1/)"')
    root = make_project({"content/brands/test/brand.yaml": brand})
    ran = run_cli("build", "-C", str(root), "--out", str(tmp_path / "o"), "--jobs", "1")
    assert ran.code == 1, ran
    assert "brand.yaml:4" in ran.stderr
    assert "colors.primary" in ran.stderr
    assert "Traceback" not in ran.stdout + ran.stderr
    assert pdfs(tmp_path / "o") == []


# ================================================================ 8. content is data

LITERAL_HANDOUT = """\
id: sample
language: en
title: "Title {{ 7*7 }}"
questions:
  - question: "Question {{ 7*7 }} {% if true %}x{% endif %}"
    answer: |
      Answer {{ 7*7 }} here.

      Then {% if true %}shown{% endif %} as typed.

      Raw <script>alert(1)</script> tag.

      And <b>bold</b> tag.
"""


def test_template_code_and_html_in_content_print_literally(make_project) -> None:
    brand = BRAND.replace("name: Test Clinic", 'name: "Clinic {{ 6*6 }}"')
    root = make_project(
        {"content/handouts/sample.yaml": LITERAL_HANDOUT, "content/brands/test/brand.yaml": brand}
    )
    report, out = run_build(root)
    result = only(report)
    assert result.ok, result.error
    data = (out / result.output).read_bytes()
    text = normalise(pdf_text(data))
    squashed = "".join(text.split())
    for literal in (
        "Title {{ 7*7 }}",
        "Question {{ 7*7 }} {% if true %}x{% endif %}",
        "Answer {{ 7*7 }} here.",
        "Then {% if true %}shown{% endif %} as typed.",
        "<script>alert(1)</script>",
        "<b>bold</b>",
        "Clinic {{ 6*6 }}",
    ):
        assert "".join(literal.split()) in squashed, literal
    for evaluated in ("Title 49", "Question 49", "Answer 49", "Clinic 36", "Then shown"):
        assert evaluated not in text
    assert pypdf.PdfReader(io.BytesIO(data)).metadata.title == "Title {{ 7*7 }}"


# ================================================================ 9. sandbox

SANDBOX_PROBES = {
    "mro": "{{ ''.__class__.__mro__ }}",
    "subclasses": "{{ ''.__class__.__base__.__subclasses__() }}",
    "cycler-globals": "{{ cycler.__init__.__globals__ }}",
    "lipsum-globals": "{{ lipsum.__globals__ }}",
    "format-string": "{{ '{0.__class__}'.format(doc) }}",
    "dict-update": "{% set x = doc.update({}) %}{{ x }}",
    "list-append": "{{ doc.keywords.append('x') }}",
    "private-attr": "{{ self._TemplateReference__context }}",
    "syntax-error": "{% if %}",
    "missing-include": '{% include "leaflet/nope.html" %}',
}


@pytest.mark.parametrize("probe", list(SANDBOX_PROBES))
def test_sandbox_probe_is_a_template_error(make_project, tmp_path: Path, probe: str) -> None:
    root = make_project({LAYOUT_TEMPLATE: header_template("\n" + SANDBOX_PROBES[probe])})
    out = tmp_path / "o"
    ran = run_cli("build", "-C", str(root), "--out", str(out), "--jobs", "1")
    assert ran.code == 1, ran
    assert "templates/leaflet/page.html:2: template error" in ran.stderr
    if probe not in ("syntax-error", "missing-include"):
        assert "unsafe" in ran.stderr
    assert "Traceback" not in ran.stdout + ran.stderr
    assert pdfs(out) == []


@pytest.mark.parametrize(
    "code", ["{{ 1/0 }}", "{{ range(10**6) | list | length }}"], ids=["div-zero", "big-range"]
)
def test_runtime_error_in_template_is_a_template_error(
    make_project, tmp_path: Path, code: str
) -> None:
    root = make_project({LAYOUT_TEMPLATE: header_template("\n" + code)})
    ran = run_cli("build", "-C", str(root), "--out", str(tmp_path / "o"), "--jobs", "1")
    assert ran.code == 1, ran
    assert "templates/leaflet/page.html:2" in ran.stderr
    assert "template error" in ran.stderr
    assert "Traceback" not in ran.stdout + ran.stderr


# ================================================================ 10. autoescape


@pytest.mark.parametrize("name", ["x.html", "x.html.j2", "x.j2", "x.txt", "x"])
def test_autoescape_is_on_for_every_template_name(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / name).write_text("{{ value }}")
    env = template_env((folder,))
    setting = env.autoescape
    assert setting is True or (callable(setting) and setting(name) is True)
    assert env.get_template(name).render(value="<b>&") == "&lt;b&gt;&amp;"


# ================================================================ 11. StrictUndefined


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("{{ nothing_here }}", "nothing_here"),
        ("Dose: {{ doc.dose }} mg", "dose"),
        ("{% if nothing_here %}x{% endif %}", "nothing_here"),
    ],
    ids=["variable", "attribute", "test"],
)
def test_undefined_value_fails_the_document(make_project, code: str, name: str) -> None:
    root = make_project({LAYOUT_TEMPLATE: header_template("\n\n" + code)})
    report, out = run_build(root)
    result = only(report)
    assert not result.ok
    assert "templates/leaflet/page.html:3" in result.error
    assert f"'{name}'" in result.error
    assert "template error" in result.error
    assert pdfs(out) == []


def test_undefined_value_via_cli_names_file_and_line(make_project, tmp_path: Path) -> None:
    root = make_project({LAYOUT_TEMPLATE: header_template("\n\n{{ nothing_here }}")})
    ran = run_cli("build", "-C", str(root), "--out", str(tmp_path / "o"), "--jobs", "1")
    assert ran.code == 1, ran
    assert "templates/leaflet/page.html:3" in ran.stderr
    assert "'nothing_here' is undefined" in ran.stderr


# ================================================================ 19. link targets

# id -> (Markdown, the target the message must quote)
BAD_LINKS = {
    "javascript": ("[click](javascript:alert(1))", "javascript:alert(1)"),
    "javascript-mixed-case": ("[click](JaVaScRiPt:alert(1))", "JaVaScRiPt:alert(1)"),
    "javascript-entity": ("[click](javascript&#58;alert(1))", "javascript:alert(1)"),
    "javascript-autolink": ("<javascript:alert(1)>", "javascript:alert(1)"),
    "data": ("[click](data:text/html;base64,PHNjcmlwdD4=)", "data:text/html;base64,PHNjcmlwdD4="),
    "file": ("[click](file:///etc/passwd)", "file:///etc/passwd"),
    "userinfo": ("[click](https://user:pw@evil.example/)", "https://user:pw@evil.example/"),
}


@pytest.mark.parametrize("case", list(BAD_LINKS))
def test_bad_link_in_content_is_a_load_error_with_line(make_project, case: str) -> None:
    link, expected = BAD_LINKS[case]
    handout = HANDOUT.replace("A short answer.", f"A short {link} answer.")
    root = make_project({"content/handouts/sample.yaml": handout})
    with pytest.raises(HandoutsError) as caught:
        load_project(root)
    message = str(caught.value)
    line = yaml_line(handout, "A short ")
    assert f"content/handouts/sample.yaml:{line}" in message
    assert "questions[1].answer" in message
    assert f"'{expected}'" in message


@pytest.mark.parametrize(
    ("key", "old", "new", "target"),
    [
        (
            "notices[1].text",
            "This is a **test** notice.",
            "See [it](javascript:alert(1)).",
            "javascript:alert(1)",
        ),
        (
            "closing.text",
            "text: Call us.",
            "text: Call [us](data:text/html,hi).",
            "data:text/html,hi",
        ),
        (
            "references[1].url",
            "doi: 10.1000/xyz123",
            "url: javascript:alert(1)",
            "javascript:alert(1)",
        ),
        ("references[1].url", "doi: 10.1000/xyz123", "url: data:text/html,hi", "data:text/html,hi"),
    ],
    ids=["notice", "closing", "reference-javascript", "reference-data"],
)
def test_bad_link_anywhere_in_a_handout_is_a_load_error(
    make_project, key: str, old: str, new: str, target: str
) -> None:
    handout = HANDOUT.replace(old, new)
    root = make_project({"content/handouts/sample.yaml": handout})
    with pytest.raises(HandoutsError) as caught:
        load_project(root)
    message = str(caught.value)
    assert f"content/handouts/sample.yaml:{yaml_line(handout, new)}" in message
    assert key in message
    assert f"'{target}'" in message


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,hi", "file:///etc/passwd"])
def test_bad_booking_url_is_a_load_error(make_project, url: str) -> None:
    brand = BRAND.replace("https://test.example/book", url)
    root = make_project({"content/brands/test/brand.yaml": brand})
    with pytest.raises(HandoutsError) as caught:
        load_project(root)
    message = str(caught.value)
    assert f"content/brands/test/brand.yaml:{yaml_line(brand, 'booking_url')}" in message
    assert "contact.booking_url" in message
    assert f"'{url}'" in message


def test_bad_link_via_cli_exits_1_with_file_and_line(make_project, tmp_path: Path) -> None:
    handout = HANDOUT.replace("A short answer.", "A [short](javascript:alert(1)) answer.")
    root = make_project({"content/handouts/sample.yaml": handout})
    ran = run_cli("build", "-C", str(root), "--out", str(tmp_path / "o"), "--jobs", "1")
    assert ran.code == 1, ran
    line = yaml_line(handout, "A [short]")
    assert f"content/handouts/sample.yaml:{line}" in ran.stderr
    assert "'javascript:alert(1)'" in ran.stderr
    assert "Traceback" not in ran.stdout + ran.stderr


# ================================================================ 20. QR codes


def _expected_qr_urls() -> dict[str, list[str]]:
    """Output path → every URL the leaflet should carry as a QR code, from the repo's content."""
    project = load_project(REPO)
    expected: dict[str, list[str]] = {}
    for job in make_plan(project):
        h, b = job.handout.handout, job.brand.brand
        refs = {r.id: r for r in h.references}
        cited = [s for n in h.notices for s in n.sources]
        cited += [s for q in h.questions for s in q.sources]
        urls = [refs[s].link for s in cited if refs[s].link]
        if b.contact.booking_url:
            urls.append(b.contact.booking_url)
        expected[str(job.output).rsplit(".", 1)[0] + ".pdf"] = urls
    return expected


@pytest.fixture(scope="module")
def example_codes(example_build: Path) -> dict[str, list]:
    """Output path → every QR code found at 150 dpi (zxing-cpp), with its geometry."""
    found: dict[str, list] = {}
    for path in pdfs(example_build):
        codes = []
        for image in page_images(path.read_bytes(), 150):
            formats = [zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.MicroQRCode]
            codes.extend(zxingcpp.read_barcodes(image, formats=formats))
        found[path.relative_to(example_build).as_posix()] = codes
    return found


def test_every_example_qr_decodes_to_its_source_url(example_build: Path, example_codes) -> None:
    expected = _expected_qr_urls()
    assert sorted(example_codes) == sorted(expected)
    assert sum(len(v) for v in expected.values()) > 0
    for name, urls in expected.items():
        decoded = decode_qr_codes((example_build / name).read_bytes(), dpi=150)
        assert sorted(decoded) == sorted(urls), name
        assert sorted(c.text for c in example_codes[name]) == sorted(urls), name


def test_example_qr_codes_are_full_qr_with_ec_m_and_printed_modules_of_04mm(
    example_codes,
) -> None:
    px_per_mm = 150 / 25.4
    project = load_project(REPO)
    booking = {b.brand.contact.booking_url for b in project.brands}
    for name, codes in example_codes.items():
        spec = project.specs[name.split(".")[-2]]  # brand/handout.lang.LAYOUT.pdf
        for code in codes:
            assert code.format == zxingcpp.BarcodeFormat.QRCode, name  # never Micro QR
            assert code.ec_level in ("M", "Q", "H"), (name, code.ec_level)
            smallest = spec.booking_qr_mm if code.text in booking else spec.qr_min_mm
            qr = make_qr(code.text, min_mm=smallest, max_mm=spec.qr_max_mm)
            pos = code.position
            side_px = (
                math.dist((pos.top_left.x, pos.top_left.y), (pos.top_right.x, pos.top_right.y))
                + math.dist(
                    (pos.top_left.x, pos.top_left.y), (pos.bottom_left.x, pos.bottom_left.y)
                )
            ) / 2
            symbol_modules = qr.modules - 2 * QUIET_ZONE
            printed_module_mm = side_px / symbol_modules / px_per_mm
            # Corner detection is good to about a pixel: allow 5 %.
            assert printed_module_mm >= MIN_MODULE_MM * 0.95, (name, code.text, printed_module_mm)
            # Never smaller than make_qr's size for the layout; the booking code and codes
            # printed side by side may be larger (tests/test_print_design.py).
            assert printed_module_mm >= qr.module_mm * 0.95, (name, code.text)


def test_make_qr_for_every_example_url_is_big_enough() -> None:
    urls = {u for urls in _expected_qr_urls().values() for u in urls}
    assert urls
    for url in urls:
        for qr in (make_qr(url), make_qr(url, min_mm=24.0)):
            assert qr.url == url
            assert qr.module_mm >= MIN_MODULE_MM
            assert 1 <= qr.version <= 40
            assert qr.modules == 17 + 4 * qr.version + 2 * QUIET_ZONE
            assert qr.data_uri.startswith("data:image/svg+xml;base64,")


def test_make_qr_near_the_limit_still_keeps_04mm_modules() -> None:
    for length in range(100, 460, 40):
        url = "https://example.org/" + "a" * length
        try:
            qr = make_qr(url)
        except QRTooDense:
            continue
        assert qr.module_mm >= MIN_MODULE_MM, length
        assert qr.size_mm <= 34.0


@pytest.mark.parametrize("length", [600, 3000, 5000])
def test_make_qr_refuses_a_url_too_long_for_the_space(length: int) -> None:
    with pytest.raises(QRTooDense, match="too long for a QR code"):
        make_qr("https://example.org/" + "a" * length)


@pytest.mark.parametrize("length", [600, 3000])
def test_too_long_reference_url_fails_the_document(make_project, length: int) -> None:
    handout = HANDOUT.replace("doi: 10.1000/xyz123", f"url: https://example.org/{'a' * length}")
    root = make_project({"content/handouts/sample.yaml": handout})
    report, out = run_build(root)
    result = only(report)
    assert not result.ok
    assert "too long for a QR code" in result.error
    found = re.search(r"content/handouts/sample\.yaml:(\d+)", result.error)
    assert found, result.error
    assert int(found[1]) in (yaml_line(handout, "- id: paper"), yaml_line(handout, "url: "))
    assert "references[1]" in result.error
    assert pdfs(out) == []


@pytest.mark.parametrize("length", [600, 3000])
def test_too_long_booking_url_fails_the_document(make_project, length: int) -> None:
    brand = BRAND.replace("https://test.example/book", "https://example.org/" + "b" * length)
    root = make_project({"content/brands/test/brand.yaml": brand})
    try:
        report, out = run_build(root)
    except BaseException as exc:
        pytest.fail(f"the build crashed: {type(exc).__name__}: {exc}")
    result = only(report)
    assert not result.ok
    assert "too long for a QR code" in result.error
    line = yaml_line(brand, "booking_url")
    assert f"content/brands/test/brand.yaml:{line}" in result.error
    assert "contact.booking_url" in result.error
    assert pdfs(out) == []
