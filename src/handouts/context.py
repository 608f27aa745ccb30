"""The view of one job that templates see: plain values, validated colours, QR codes, and
content already turned into escaped HTML (so templates never evaluate content)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from markupsafe import Markup

from . import __version__, markup
from .assets import font_families
from .errors import RenderError
from .i18n import format_date, language_name
from .models import Reference
from .plan import Job
from .qr import QRTooDense, make_qr
from .review import template_state


def _label(url: str) -> str:
    return url.removeprefix("https://").removeprefix("http://").removesuffix("/")


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


def _reference_view(ref: Reference, job: Job, key: tuple) -> dict[str, Any]:
    link = ref.link
    qr = None
    if link:
        try:
            qr = make_qr(link, min_mm=job.spec.qr_min_mm, max_mm=job.spec.qr_max_mm)
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
    return {
        "id": ref.id,
        "title": ref.title,
        "byline": byline,
        "link": link,
        "link_label": _label(link) if link else "",
        "qr": qr,
    }


def build_context(
    job: Job, asset_url: Callable[[Path], str], body_pt: float | None = None
) -> dict[str, Any]:
    """Everything a template sees. Content is pre-rendered, escaped HTML (Markup): data."""
    h, b = job.handout.handout, job.brand.brand
    refs = {r.id: (i, r) for i, r in enumerate(h.references)}

    def sources(ids: list[str]) -> list[dict[str, Any]]:
        return [_reference_view(refs[s][1], job, ("references", refs[s][0])) for s in ids]

    contact = b.contact
    booking_qr = None
    if contact.booking_url:
        try:
            booking_qr = make_qr(
                contact.booking_url, min_mm=job.spec.booking_qr_mm, max_mm=job.spec.qr_max_mm
            )
        except QRTooDense as exc:
            raise RenderError(job.brand.problem(("contact", "booking_url"), str(exc))) from None
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
                "phone": contact.phone,
                "phone_href": "tel:"
                + "".join(c for c in contact.phone or "" if c in "+0123456789"),
                "email": contact.email,
                "address": contact.address,
                "website": contact.website,
                "website_label": _label(contact.website) if contact.website else None,
                "booking_label": _label(contact.booking_url) if contact.booking_url else None,
            },
        },
        "theme": {
            "paper": "letter" if b.paper == "letter" else "A4",
            "paper_name": b.paper,
            **theme_colors(primary, b.colors.accent),
            "font": b.font,
            "orientation": job.spec.orientation,
            "body_pt": body_pt or job.spec.body_pt,
            "print_ready": job.print_ready,
        },
        "fonts": [
            {"family": f.family, "url": asset_url(f.path), "weight": f.weight, "style": f.style}
            for f in faces
        ],
        "review": review,
        "notices": [
            {"kind": n.kind, "html": Markup(markup.to_html(n.text)), "sources": sources(n.sources)}
            for n in h.notices
        ],
        "questions": [
            {
                "question": q.question,
                "html": Markup(markup.to_html(q.answer)),
                "sources": sources(q.sources),
            }
            for q in h.questions
        ],
        "closing": {
            "heading": h.closing.heading,
            "html": Markup(markup.to_html(h.closing.text)) if h.closing.text else None,
        }
        if h.closing
        else None,
    }
