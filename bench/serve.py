#!/usr/bin/env python3
"""Benchmark the web app (`handouts serve`) against its two targets, in one run:

1. the library page with 40 documents is served in at most 300 ms;
2. from saving an answer to the updated preview of that leaflet takes at most 1.5 x the time
   WeasyPrint alone takes to render the same document.

Plain script, not a test:

    .venv/bin/python bench/serve.py [--rounds 7] [--out FILE.json]

It generates bench/run.py's 40-brand project (one leaflet per brand) in a temporary folder,
builds it, and serves it on a free loopback port exactly as `handouts serve` does (warm
preview worker, file watcher). Requests go over real HTTP.

- Library: GET / (the whole page), once after every file was changed (the project is loaded,
  checked and planned again: "cold") and then ``--rounds`` x 3 times as it stays ("warm").
- Save to preview: open the event stream as the editor page does, POST the form with a new
  answer, wait for the "document" event saying it was rebuilt, then fetch the preview as the
  page does (its fragment, then every page image, in parallel like a browser). Timed from
  sending the POST to the last image received. One round first, not counted.
- WeasyPrint alone: `weasyprint.HTML(filename=...).write_pdf()` in this process on the same
  document's intermediate HTML (`--format html`), warm (one render first, not counted), as
  bench/run.py's row (a) does; once right before each save, so that each pair sees the same
  load on the machine. The target is met by the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import importlib.util
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
DOCS = 40
LIMIT_LIBRARY_S = 0.300
LIMIT_PREVIEW_RATIO = 1.5


def _bench_run() -> Any:
    spec = importlib.util.spec_from_file_location("bench_run", REPO / "bench" / "run.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def log(message: str) -> None:
    print(f"[serve bench] {message}", file=sys.stderr, flush=True)


class Client:
    """Real HTTP to the app, logged in with its session cookie and CSRF token."""

    def __init__(self, server: Any) -> None:
        self.port = server.port
        settings = server.app.settings
        self.headers = {"Cookie": f"{settings.cookie_name}={settings.session_value()}"}
        self.csrf = settings.csrf_token()

    def request(self, method: str, path: str, body: bytes | None = None, **headers: str):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        connection.request(method, path, body=body, headers={**self.headers, **headers})
        response = connection.getresponse()
        data = response.read()
        connection.close()
        return response.status, data

    def get(self, path: str) -> bytes:
        status, data = self.request("GET", path)
        assert status == 200, (path, status, data[:200])
        return data


def timed_get(client: Client, path: str) -> float:
    start = time.perf_counter()
    client.get(path)
    return time.perf_counter() - start


def form_fields(html: str) -> dict[str, list[str]]:
    """The handout form's fields as a browser would post them (textareas, inputs, checked
    boxes, selected options)."""
    from html.parser import HTMLParser

    fields: dict[str, list[str]] = {}

    class Reader(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.textarea: str | None = None
            self.select: str | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            name = a.get("name")
            kind = a.get("type")
            if tag == "input" and name and (kind != "checkbox" or "checked" in a):
                if kind != "submit":
                    fields.setdefault(name, []).append(a.get("value") or "")
            elif tag == "textarea" and name:
                self.textarea = name
                fields.setdefault(name, []).append("")
            elif tag == "select":
                self.select = name
            elif tag == "option" and self.select and "selected" in a:
                fields.setdefault(self.select, []).append(a.get("value") or "")

        def handle_endtag(self, tag: str) -> None:
            if tag == "textarea":
                self.textarea = None
            if tag == "select":
                self.select = None

        def handle_data(self, data: str) -> None:
            if self.textarea:
                fields[self.textarea][-1] += data

    form = html[html.index('<form id="handout-form"') : html.index("</form>")]
    Reader().feed(form)
    for name, values in fields.items():
        if name.endswith("answer") or name.endswith("text"):
            values[-1] = values[-1].removeprefix("\n")
    return fields


def save_and_preview(client: Client, doc: str, url: str, edit: str, words: str) -> dict:
    """POST the form with ``words`` as answer 2 and wait until the preview is updated."""
    page = client.get(edit).decode()
    fields = form_fields(page)
    fields["q-1-answer"] = [words]
    fields["action"] = ["save"]
    body = urlencode([(k, v) for k, values in fields.items() for v in values]).encode()
    stream = http.client.HTTPConnection("127.0.0.1", client.port, timeout=300)
    stream.request("GET", f"/events?doc={doc}", headers=client.headers)
    events = stream.getresponse()
    events.readline()
    events.readline()
    start = time.perf_counter()
    status, _ = client.request(
        "POST",
        edit,
        body,
        **{
            "Content-Type": "application/x-www-form-urlencoded",
            "HX-Request": "true",
            "HX-Target": "handout-form",
            "X-CSRF-Token": client.csrf,
        },
    )
    assert status == 200, status
    saved = time.perf_counter() - start
    event, built = "", None
    while built is None:
        line = events.readline().decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "document":
            data = json.loads(line[6:])
            if data["status"] == "failed":
                raise SystemExit(f"the preview failed: {data['error']}")
            if data["status"] == "built":
                built = data
    stream.close()
    rebuilt = time.perf_counter() - start
    fragment = client.get(f"{url}/pages").decode()
    images = re.findall(r'src="([^"]+\.png\?v=[0-9a-f]+)"', fragment)
    assert images and built["sha"].startswith(re.search(r"v=([0-9a-f]+)", images[0]).group(1))
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        list(pool.map(client.get, images))
    total = time.perf_counter() - start
    return {
        "total_s": round(total, 4),
        "saved_s": round(saved, 4),
        "event_s": round(rebuilt, 4),
        "render_in_worker_s": built.get("seconds"),
        "images": len(images),
    }


class WeasyPrintAlone:
    """The document's intermediate HTML (`--format html`), rendered by WeasyPrint alone."""

    def __init__(self, root: Path, brand: str) -> None:
        from handouts import api

        self.out = Path(tempfile.mkdtemp(prefix="html-", dir=root.parent))
        project = api.open_project(root)
        request = api.BuildRequest(api.Filters([brand]), formats=["html"], out=self.out, workers=1)
        report = api.build(project, request)
        (self.html,) = [self.out / r.output for r in report.results]
        self.render()  # warm-up, not counted

    def render(self) -> float:
        from weasyprint import HTML

        start = time.perf_counter()
        HTML(filename=str(self.html)).write_pdf(self.out / "out.pdf")
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    run = _bench_run()
    run.ensure_weasyprint()
    sys.path.insert(0, str(REPO / "src"))
    from handouts import api
    from handouts.serve.thread import ServerThread

    folder = Path(tempfile.mkdtemp(prefix="handouts-serve-bench-"))
    root = folder / "project"
    run.generate_project(root, DOCS)
    log(f"building {DOCS} documents in {root}")
    report = api.build(api.open_project(root).raise_for_problems(), api.BuildRequest())
    assert not report.failed, report.failed
    brand = run.brand_id(0)
    doc = f"{brand}/{run.HANDOUT_ID}.en.leaflet.pdf"
    url = f"/doc/{brand}/{run.HANDOUT_ID}/en/leaflet"
    edit = f"/edit/{run.HANDOUT_ID}/en?preview={brand}/leaflet"
    result: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "documents": DOCS,
    }
    with ServerThread(root, warm=True, watch=True) as server:
        client = Client(server)
        log("library page")
        run.wait_quiet()
        client.get("/")
        for path in (root / "content").rglob("*.yaml"):  # every file changed: cold state
            os.utime(path)
        server.app.backend.invalidate()
        cold = timed_get(client, "/")
        page = client.get("/").decode()
        assert f"{DOCS} documents" in page, "the library does not list every document"
        warm = [timed_get(client, "/") for _ in range(args.rounds * 3)]
        result["library"] = {
            "cold_s": round(cold, 4),
            "warm_median_s": round(statistics.median(warm), 4),
            "warm_max_s": round(max(warm), 4),
            "bytes": len(page.encode()),
        }
        log("save to preview (one round first, not counted), each round paired with a")
        log("render by WeasyPrint alone just before it, so both see the same machine load")
        alone = WeasyPrintAlone(root, brand)
        save_and_preview(client, doc, url, edit, "Warming up the preview worker.")
        rounds = []
        for i in range(args.rounds):
            run.wait_quiet()
            weasyprint_s = alone.render()
            timed = save_and_preview(client, doc, url, edit, f"Round {i}: exosomes carry signals.")
            timed["weasyprint_alone_s"] = round(weasyprint_s, 4)
            timed["ratio"] = round(timed["total_s"] / weasyprint_s, 3)
            rounds.append(timed)
            log(f"  round {i}: {timed['total_s']:.3f} s vs {weasyprint_s:.3f} s alone")
    result["save_to_preview"] = {
        "median_s": round(statistics.median(r["total_s"] for r in rounds), 4),
        "weasyprint_alone_median_s": round(
            statistics.median(r["weasyprint_alone_s"] for r in rounds), 4
        ),
        "median_ratio": round(statistics.median(r["ratio"] for r in rounds), 3),
        "rounds": rounds,
    }
    ratio = result["save_to_preview"]["median_ratio"]
    result["targets"] = {
        "library_warm_s": {
            "value": result["library"]["warm_median_s"],
            "limit": LIMIT_LIBRARY_S,
            "met": result["library"]["warm_median_s"] <= LIMIT_LIBRARY_S,
        },
        "library_cold_s": {
            "value": result["library"]["cold_s"],
            "limit": LIMIT_LIBRARY_S,
            "met": result["library"]["cold_s"] <= LIMIT_LIBRARY_S,
        },
        "save_to_preview_vs_weasyprint": {
            "value": ratio,
            "limit": LIMIT_PREVIEW_RATIO,
            "met": ratio <= LIMIT_PREVIEW_RATIO,
        },
    }
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print()
    for name, t in result["targets"].items():
        verdict = "met" if t["met"] else "NOT MET"
        print(f"{name:32} {t['value']:>8} (limit {t['limit']})  {verdict}")


if __name__ == "__main__":
    main()
