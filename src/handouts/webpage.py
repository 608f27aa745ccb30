"""The web page of a handout, per brand and language: the same text as the PDF in an
accessible, responsive HTML5 page for the clinic's website, with links instead of QR codes
and schema.org FAQPage JSON-LD in its head.

The page is one file that works offline: its styles are inline, its only other file is the
brand's logo (returned in ``WebPage.files`` to be written beside it), and it loads nothing
from the network. It is rendered by the same sandboxed Jinja environment and gettext catalogs
as the PDFs (templates/web/webpage.html). ``handouts import`` reads it back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import jinja2
from markupsafe import Markup

from . import __version__, markup
from .context import theme_colors
from .errors import Problem, RenderError
from .i18n import format_date, language_name
from .models import Reference
from .plan import Job
from .render import template_env

TEMPLATE = "web/webpage.html"


@dataclass(frozen=True)
class WebPage:
    """A rendered page: its HTML and the files to write beside it (name → bytes)."""

    html: str
    files: dict[str, bytes] = field(default_factory=dict)


def logo_name(job: Job) -> str | None:
    logo = job.brand.logo
    return f"{job.brand.id}-logo{logo.suffix.lower()}" if logo else None


def render_web_page(job: Job) -> WebPage:
    """Render the web page of ``job``'s handout for its brand and language."""
    files: dict[str, bytes] = {}
    name = logo_name(job)
    if job.brand.logo and name:
        files[name] = job.brand.logo.read_bytes()  # validated (type, size) when loaded
    context = _context(job, name)
    env = template_env(job.template_dirs, job.handout.language)
    try:
        html = env.get_template(TEMPLATE).render(**context)
    except jinja2.TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = getattr(exc, "filename", None) or TEMPLATE
        raise RenderError(
            Problem(
                str(where),
                f"template error: {exc}",
                line,
                hint="fix the template, or delete it to use the built-in one",
            )
        ) from None
    return WebPage(html, files)


# ---------------------------------------------------------------- the view


def _label(url: str) -> str:
    return url.removeprefix("https://").removeprefix("http://").removesuffix("/")


def _reference(ref: Reference, lang: str) -> dict[str, Any]:
    when = ref.year or (format_date(ref.date, lang) if ref.date else None)
    byline = ", ".join(
        str(x) for x in (ref.authors, ref.journal or ref.publisher, when, ref.volume) if x
    )
    link = ref.link
    return {
        "title": ref.title,
        "byline": byline,
        "link": link,
        "link_label": _label(link) if link else "",
        "scholarly": bool(ref.doi or ref.pmid or ref.journal),
    }


def _json_ld(job: Job, questions: list[dict[str, Any]], date: str | None) -> Markup:
    """FAQPage JSON-LD, made safe to sit inside <script>: no <, > or & in the text."""
    h, b = job.handout.handout, job.brand.brand
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "FAQPage",
        "name": h.title,
        "inLanguage": h.language,
        "publisher": {"@type": "MedicalOrganization", "name": b.name},
    }
    if b.contact.website:
        data["publisher"]["url"] = b.contact.website
    if date:
        data["lastReviewed"] = date
    entities = []
    for q in questions:
        answer: dict[str, Any] = {"@type": "Answer", "text": str(q["html"]).strip()}
        cites = []
        for ref in q["sources"]:
            item = {"@type": "ScholarlyArticle" if ref["scholarly"] else "CreativeWork"}
            item["name"] = ref["title"]
            if ref["link"]:
                item["url"] = ref["link"]
            cites.append(item)
        if cites:
            answer["citation"] = cites
        entities.append({"@type": "Question", "name": q["question"], "acceptedAnswer": answer})
    data["mainEntity"] = entities
    text = json.dumps(data, ensure_ascii=False, indent=1)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escape)
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)


def _context(job: Job, logo: str | None) -> dict[str, Any]:
    h, b = job.handout.handout, job.brand.brand
    lang = h.language
    refs = {r.id: _reference(r, lang) for r in h.references}
    review = None
    if h.review:
        review = {
            "version": h.review.version,
            "reviewed_on": format_date(h.review.reviewed_on, lang),
            "iso": h.review.reviewed_on.isoformat(),
            "reviewed_by": h.review.reviewed_by,
        }
    date = review["iso"] if review else None
    questions = [
        {
            "id": f"q{i}",
            "question": q.question,
            "html": Markup(markup.to_html(q.answer)),
            "sources": [refs[s] for s in q.sources],
        }
        for i, q in enumerate(h.questions, 1)
    ]
    contact = b.contact
    return {
        "doc": {
            "lang": lang,
            "title": h.title,
            "subtitle": h.subtitle,
            "description": h.subtitle or h.title,
            "keywords": [*h.keywords, h.title],
            "tool_version": __version__,
            "date": date,
            "translation": {
                "source_language": language_name(h.translation.source_language, lang),
                "translated_by": h.translation.translated_by,
                "translated_on": format_date(h.translation.translated_on, lang),
                "reviewed_on": format_date(h.translation.reviewed_on, lang)
                if h.translation.reviewed_on
                else None,
                "reviewed_by": h.translation.reviewed_by or "",
            }
            if h.translation
            else None,
        },
        "brand": {
            "name": b.name,
            "tagline": b.tagline,
            "logo": logo,
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
                "booking_url": contact.booking_url,
            },
        },
        "theme": {**theme_colors(b.colors.primary, b.colors.accent), "font": b.font},
        "review": review,
        "notices": [
            {
                "kind": n.kind,
                "html": Markup(markup.to_html(n.text)),
                "sources": [refs[s] for s in n.sources],
            }
            for n in h.notices
        ],
        "questions": questions,
        "closing": {
            "heading": h.closing.heading,
            "html": Markup(markup.to_html(h.closing.text)) if h.closing.text else None,
        }
        if h.closing
        else None,
        "json_ld": _json_ld(job, questions, date),
    }
