"""The view of one job that templates see: plain values, validated colours, QR codes, and
content already turned into escaped HTML (so templates never evaluate content)."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from . import __version__, markup
from .assets import font_families
from .errors import RenderError
from .i18n import format_date, language_name
from .models import LayoutSpec, Reference
from .plan import Job
from .qr import MIN_MODULE_MM, QUIET_ZONE, QRCode, QRTooDense, make_qr
from .review import template_state


def _label(url: str) -> str:
    return url.removeprefix("https://").removeprefix("http://").removesuffix("/")


# A US state and its ZIP code ("IL 62701") must never be split over two lines.
_STATE_ZIP = re.compile(r"\b([A-Z]{2}) (\d{5}(?:-\d{4})?)\b")
NBSP = "\u00a0"


def _keep_together(address: str | None) -> str | None:
    return _STATE_ZIP.sub(rf"\1{NBSP}\2", address) if address else address


@dataclass(frozen=True)
class Fit:
    """The settings one attempt of the fitter renders with (render.py tries several)."""

    body_pt: float
    spacing: float = 1.0  # line and block spacing, relative to the layout's own
    qr_module_mm: float = 0.6  # preferred printed module of the source codes

    @classmethod
    def default(cls, spec: LayoutSpec) -> Fit:
        return cls(spec.body_pt, spec.spacing[0], spec.qr_module_mm)

    def describe(self) -> str:
        return f"{self.body_pt:g} pt, spacing {self.spacing:g}, QR modules {self.qr_module_mm:g} mm"


def _mix(hex_color: str, other: str, amount: float) -> str:
    a = [int(hex_color[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(other[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * amount):02X}" for x, y in zip(a, b, strict=True))


def theme_colors(primary: str, accent: str) -> dict[str, str]:
    """The colours the templates use, derived from the brand's two (checks/contrast.py tests
    exactly these pairs)."""
    return {
        "primary": primary,
        "primary_dark": _mix(primary, "#000000", 0.25),
        "primary_tint": _mix(primary, "#FFFFFF", 0.92),
        "accent": accent,
        "accent_tint": _mix(accent, "#FFFFFF", 0.85),
    }


def source_epoch(job: Job) -> int:
    """The moment a document is dated: its review date, else SOURCE_DATE_EPOCH, else 0."""
    review = job.handout.handout.review
    if review:
        moment = dt.datetime.combine(review.reviewed_on, dt.time(), tzinfo=dt.UTC)
        return int(moment.timestamp())
    try:
        return int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    except ValueError:
        return 0


def _date(value: dt.date, lang: str) -> str:
    return format_date(value, lang)


def _ends_with_lead_in(markdown: str) -> bool:
    """Whether an answer ends with a line that introduces what follows ("... below:")."""
    return markdown.rstrip().endswith(":")


def _same_language(a: str, b: str) -> bool:
    return a.split("-")[0].lower() == b.split("-")[0].lower()


def _reference_view(ref: Reference, job: Job, key: tuple, fit: Fit) -> dict[str, Any]:
    link = ref.link
    shown = ref.short_url or link  # what the code holds and the page prints
    qr = None
    if shown:
        try:
            qr = make_qr(
                shown,
                min_mm=job.spec.qr_min_mm,
                module_mm=fit.qr_module_mm,
                max_mm=job.spec.qr_max_mm,
            )
        except QRTooDense as exc:
            raise RenderError(job.handout.problem(key, str(exc))) from None
    byline = ", ".join(
        str(x)
        for x in (
            ref.authors,
            ref.journal or ref.publisher,
            ref.year or (_date(ref.date, job.handout.language) if ref.date else None),
            ref.volume,
        )
        if x
    )
    h = job.handout.handout
    page_lang = job.handout.language
    ref_lang = ref.language or (h.translation.source_language if h.translation else page_lang)
    return {
        "id": ref.id,
        "title": ref.title,
        "label": ref.label,
        "byline": byline,
        "link": link,
        "link_label": _label(shown) if shown else "",
        "language": None
        if _same_language(ref_lang, page_lang)
        else language_name(ref_lang, page_lang),
        "qr": qr,
    }


def _sized(qr: QRCode, symbol_mm: float, max_mm: float) -> QRCode:
    """The same code printed so that its symbol (quiet zone aside) is ``symbol_mm`` wide,
    never wider than ``max_mm`` in all."""
    total = min(symbol_mm * qr.modules / (qr.modules - 2 * QUIET_ZONE), max_mm)
    if abs(total - qr.size_mm) < 0.01:
        return qr
    return make_qr(qr.url, min_mm=total, module_mm=MIN_MODULE_MM, max_mm=max_mm)


def _equal_sizes(views: list[dict[str, Any]], max_mm: float) -> list[dict[str, Any]]:
    """Codes printed side by side get one size: that of the densest, whose modules set it."""
    codes = [v["qr"] for v in views if v["qr"]]
    if len(codes) > 1:
        symbol = max(qr.symbol_mm for qr in codes)
        for view in views:
            if view["qr"]:
                view["qr"] = _sized(view["qr"], symbol, max_mm)
    return views


def _booking_qr(job: Job, url: str, largest_source_mm: float) -> QRCode:
    """The booking code: the leaflet's call to action, so never smaller than the layout's
    floor and never smaller than any source code in the document (so it is the largest code
    on whichever page it lands)."""
    spec = job.spec
    try:
        qr = make_qr(url, min_mm=spec.booking_qr_mm, max_mm=spec.qr_max_mm)
    except QRTooDense as exc:
        raise RenderError(job.brand.problem(("contact", "booking_url"), str(exc))) from None
    symbol = max(qr.symbol_mm, spec.preflight.booking_qr_min_mm, largest_source_mm)
    try:
        return _sized(qr, symbol, max(spec.qr_max_mm, qr.size_mm))
    except QRTooDense as exc:  # pragma: no cover - make_qr accepted a smaller size above
        raise RenderError(job.brand.problem(("contact", "booking_url"), str(exc))) from None


def build_context(
    job: Job, asset_url: Callable[[Path], str], fit: Fit | float | None = None
) -> dict[str, Any]:
    """Everything a template sees. Content is pre-rendered, escaped HTML (Markup): data.
    ``fit`` is what the fitter is trying (a body size alone is accepted too)."""
    if not isinstance(fit, Fit):
        fit = Fit.default(job.spec) if fit is None else Fit(fit, qr_module_mm=job.spec.qr_module_mm)
    h, b = job.handout.handout, job.brand.brand
    refs = {r.id: (i, r) for i, r in enumerate(h.references)}

    def sources(ids: list[str]) -> list[dict[str, Any]]:
        views = [_reference_view(refs[s][1], job, ("references", refs[s][0]), fit) for s in ids]
        return _equal_sizes(views, job.spec.qr_max_mm)

    notices = [
        {"kind": n.kind, "html": Markup(markup.to_html(n.text)), "sources": sources(n.sources)}
        for n in h.notices
    ]
    questions = [
        {
            "question": q.question,
            "html": Markup(markup.to_html(q.answer)),
            "lead_in": _ends_with_lead_in(q.answer),
            "sources": sources(q.sources),
        }
        for q in h.questions
    ]
    largest = max(
        (
            ref["qr"].symbol_mm
            for item in (*notices, *questions)
            for ref in item["sources"]
            if ref["qr"]
        ),
        default=0.0,
    )
    contact = b.contact
    booking_qr = None
    booking_shown = contact.booking_short_url or contact.booking_url
    if booking_shown:
        booking_qr = _booking_qr(job, booking_shown, largest)
    primary = b.colors.primary
    faces = font_families(job.font_dirs)[b.font]
    # Sign-off (docs/reviewing.md): the DRAFT flag, and whether "Reviewed ... · Version N"
    # is still true of this text (not after an edit made since the approval).
    governance = template_state(job)
    review = None
    if h.review and governance["review_holds"]:
        review = {
            "version": h.review.version,
            "reviewed_on": _date(h.review.reviewed_on, h.language),
            "reviewed_by": h.review.reviewed_by,
        }
    epoch = source_epoch(job)
    date = dt.datetime.fromtimestamp(epoch, dt.UTC).date().isoformat() if epoch else None
    return {
        "layout": job.layout,
        "doc": {
            "lang": h.language,
            "title": h.title,
            "subtitle": h.subtitle,
            "subject": h.subtitle or h.title,
            "keywords": [*h.keywords, h.title],
            "translation": {
                "source_language": language_name(h.translation.source_language, h.language),
                "translated_by": h.translation.translated_by,
                "translated_on": _date(h.translation.translated_on, h.language),
                "reviewed_on": _date(h.translation.reviewed_on, h.language)
                if h.translation.reviewed_on
                else None,
                "reviewed_by": h.translation.reviewed_by or "",
            }
            if h.translation
            else None,
            "tool_version": __version__,
            "date": date,
            "governance": governance,
        },
        "brand": {
            "name": b.name,
            "tagline": b.tagline,
            "logo_url": asset_url(job.brand.logo) if job.brand.logo else None,
            "booking_qr": booking_qr,
            "language_assistance": [
                {"lang": code, "text": text} for code, text in b.language_assistance.items()
            ],
            "contact": {
                "any": any((contact.phone, contact.website, contact.email, contact.address)),
                "phone": contact.phone.replace(" ", NBSP) if contact.phone else None,
                "phone_href": "tel:"
                + "".join(c for c in contact.phone or "" if c in "+0123456789"),
                "email": contact.email,
                "address": _keep_together(contact.address),
                "website": contact.website,
                "website_label": _label(contact.website) if contact.website else None,
                "booking_url": contact.booking_url,
                "booking_label": _label(booking_shown) if booking_shown else None,
            },
        },
        "theme": {
            "paper": "letter" if b.paper == "letter" else "A4",
            "paper_name": b.paper,
            **theme_colors(primary, b.colors.accent),
            "font": b.font,
            "orientation": job.spec.orientation,
            "body_pt": fit.body_pt,
            "spacing": fit.spacing,
            "print_ready": job.print_ready,
        },
        "fonts": [
            {"family": f.family, "url": asset_url(f.path), "weight": f.weight, "style": f.style}
            for f in faces
        ],
        "review": review,
        "notices": notices,
        "questions": questions,
        "closing": {
            "heading": h.closing.heading,
            "html": Markup(markup.to_html(h.closing.text)) if h.closing.text else None,
        }
        if h.closing
        else None,
    }
