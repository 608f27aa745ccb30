"""Links and QR codes (missing, too long for a layout's QR code, not https), and duplicate or
unused entries: references cited nowhere, the same reference twice (the same DOI or the same
address; never merely the same title), the same question twice."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote, urlsplit

import qrcode
import qrcode.constants
import qrcode.exceptions

from ..markup import parse as parse_markdown
from ..models import Reference
from ..project import LoadedHandout, Project
from ..qr import MIN_MODULE_MM, QUIET_ZONE, QRTooDense, make_qr
from ..yamlio import KeyPath, format_key
from .registry import CheckContext, check
from .report import Finding
from .text import Locator, words


@lru_cache(maxsize=1024)
def _modules(url: str) -> int | None:
    """Modules across the QR code of ``url``, quiet zone included (None: too long for any)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET_ZONE)
    code.add_data(url.encode("utf-8"))
    try:
        version = code.best_fit()  # no masks, no drawing: a hundredth of make_qr's time
    except (ValueError, qrcode.exceptions.DataOverflowError):
        return None
    return 17 + 4 * version + 2 * QUIET_ZONE


def _too_dense(
    project: Project, url: str, layouts: list[str], booking: bool
) -> tuple[list[str], str]:
    """The layouts whose QR code cannot hold ``url``, and the first reason given."""
    failing, reason = [], ""
    modules = _modules(url)
    for layout in layouts:
        spec = project.specs[layout]
        if modules is not None and modules * MIN_MODULE_MM <= spec.qr_max_mm:
            continue  # fits at 0.4 mm modules, so make_qr cannot refuse it
        min_mm = spec.booking_qr_mm if booking else spec.qr_min_mm
        try:  # the renderer's own function decides, and words the reason
            make_qr(url, min_mm=min_mm, max_mm=spec.qr_max_mm)
        except QRTooDense as exc:
            failing.append(layout)
            reason = reason or str(exc)
    return failing, reason


def _insecure(url: str) -> bool:
    return url.lower().startswith("http://")


def _normal(text: str) -> str:
    return " ".join(w.casefold() for w in words(text))


def _link_key(i: int, ref: Reference) -> KeyPath:
    """The field a reference's link comes from, to point at."""
    field = "url" if ref.url else "doi" if ref.doi else "pmid" if ref.pmid else "id"
    return ("references", i, field)


def _inline_links(markdown: str) -> list[str]:
    return [
        str(child.attrGet("href") or "")
        for token in parse_markdown(markdown)
        if token.type == "inline"
        for child in token.children or ()
        if child.type == "link_open"
    ]


class _Collector:
    """Findings about one handout, located by searching its file."""

    def __init__(self, h: LoadedHandout) -> None:
        self.h = h
        self.locator = Locator(h)
        self.scope = {"handout": h.id, "language": h.language}
        self.findings: list[Finding] = []

    def warn(
        self,
        code: str,
        key: KeyPath,
        message: str,
        hint: str,
        pattern: re.Pattern[str] | None = None,
    ) -> None:
        problem = self.locator.problem(key, message, hint, pattern)
        self.findings.append(Finding("warning", code, problem, **self.scope))


@check("handout")
def handout_links(ctx: CheckContext) -> list[Finding]:
    """The handout's references, inline links and questions; QR codes in the layouts of the
    brands that print it."""
    out = _Collector(ctx.h)
    _references(ctx.project, out, ctx.layouts)
    _inline_http(out)
    _duplicate_questions(out)
    return out.findings


def _references(project: Project, out: _Collector, layouts: list[str]) -> None:
    doc = out.h.handout
    cited = {s for n in doc.notices for s in n.sources} | {
        s for q in doc.questions for s in q.sources
    }
    seen_links: dict[str, int] = {}
    seen_dois: dict[str, int] = {}
    for i, ref in enumerate(doc.references):
        link, where = ref.link, ("references", i, "id")
        if ref.id not in cited:
            out.warn(
                "links.unused-reference",
                where,
                f"reference '{ref.id}' is not cited in any `sources:` list, so it is not printed",
                "cite it under a question or notice, or remove it",
            )
        if link is None:
            out.warn(
                "links.no-link",
                where,
                f"reference '{ref.id}' has no url, doi or pmid: it is printed without a QR code",
                "add its DOI, PubMed id or web address if one exists; never invent one",
            )
        else:
            # Only cited references are printed, so only theirs can stop a document.
            failing, reason = _too_dense(
                project, link, layouts if ref.id in cited else [], booking=False
            )
            if failing:
                problem = out.h.problem(_link_key(i, ref), f"reference '{ref.id}': {reason}")
                out.findings.append(
                    Finding(
                        "error", "links.qr-too-dense", problem, layouts=tuple(failing), **out.scope
                    )
                )
            if _insecure(link):
                out.warn(
                    "links.http",
                    _link_key(i, ref),
                    f"the link of reference '{ref.id}' is not secure: {link}",
                    "use the https:// address if the site has one",
                )
        # The same article: the same DOI, or a link to the same place. Never the title alone:
        # "Osteoarthritis" from MedlinePlus and from the NHS are two different pages.
        first, what = _duplicate_of(ref, i, seen_dois, seen_links)
        if first is not None:
            out.warn(
                "links.duplicate-reference",
                where,
                f"reference '{ref.id}' {what} '{doc.references[first].id}' "
                f"({format_key(('references', first))})",
                "keep one of them and cite it everywhere",
            )


def normal_url(url: str) -> str:
    """A web address reduced to what decides where it leads: no scheme, no ``www.``, the
    host in lower case, no default port, fragment or trailing slash (``dx.doi.org`` is
    ``doi.org``, whose DOIs are case-insensitive)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    host = (parts.hostname or "").lower().removeprefix("www.")
    if host == "dx.doi.org":
        host = "doi.org"
    if port and port not in (80, 443):
        host += f":{port}"
    path = parts.path.rstrip("/")
    if host == "doi.org":
        path = unquote(path).lower()
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{path}{query}"


def _duplicate_of(
    ref: Reference, i: int, seen_dois: dict[str, int], seen_links: dict[str, int]
) -> tuple[int | None, str]:
    """The earlier reference ``ref`` duplicates (same DOI, or a link to the same place)."""
    first: int | None = None
    what = ""
    if ref.doi:
        j = seen_dois.setdefault(ref.doi.lower(), i)
        if j != i:
            first, what = j, "has the same DOI as"
    links = {normal_url(u) for u in (ref.url, ref.link) if u}
    for link in sorted(links):
        j = seen_links.setdefault(link, i)
        if j != i and first is None:
            first, what = j, "links to the same place as"
    return first, what


def _inline_http(out: _Collector) -> None:
    doc = out.h.handout
    texts: list[tuple[KeyPath, str]] = [
        (("notices", i, "text"), n.text) for i, n in enumerate(doc.notices)
    ]
    texts += [(("questions", i, "answer"), q.answer) for i, q in enumerate(doc.questions)]
    if doc.closing and doc.closing.text:
        texts.append((("closing", "text"), doc.closing.text))
    for key, text in texts:
        for href in _inline_links(text):
            if _insecure(href):
                out.warn(
                    "links.http",
                    key,
                    f"the link {href} is not secure",
                    "use the https:// address if the site has one",
                    re.compile(re.escape(href)),
                )


def _duplicate_questions(out: _Collector) -> None:
    asked: dict[str, int] = {}
    for i, q in enumerate(out.h.handout.questions):
        first = asked.setdefault(_normal(q.question), i)
        if first != i:
            mark = out.h.marks.get(("questions", first, "question"))
            out.warn(
                "links.duplicate-question",
                ("questions", i, "question"),
                f"the question '{q.question}' is also asked at "
                f"{format_key(('questions', first))}" + (f" (line {mark.line})" if mark else ""),
                "merge the two answers into one",
            )


@check("brand")
def brand_links(ctx: CheckContext) -> list[Finding]:
    """The booking QR code in each of the brand's layouts, and its https links."""
    project, b = ctx.project, ctx.b
    contact = b.brand.contact
    findings: list[Finding] = []
    layouts = [name for name in b.brand.layouts if name in project.specs]
    if contact.booking_url:
        failing, reason = _too_dense(project, contact.booking_url, layouts, booking=True)
        if failing:
            problem = b.problem(("contact", "booking_url"), f"the booking address: {reason}")
            findings.append(
                Finding(
                    "error",
                    "links.qr-too-dense",
                    problem,
                    brands=(b.id,),
                    layouts=tuple(failing),
                )
            )
    for name in ("website", "booking_url"):
        url = getattr(contact, name)
        if url and _insecure(url):
            problem = b.problem(
                ("contact", name),
                f"the {name.replace('_', ' ')} is not secure: {url}",
                "use the https:// address if the site has one",
            )
            findings.append(Finding("warning", "links.http", problem, brands=(b.id,)))
    return findings
