"""One email to one patient, built with the standard library's ``email`` package:

    multipart/mixed
      multipart/alternative
        text/plain                   the message, in the handout's language
        multipart/related
          text/html                  the same, branded, accessible, light and dark
          image/png                  the logo, shown inline through cid:
      application/pdf                the handout, with a meaningful file name

Texts come from ``templates/email/`` through the one Jinja environment and its catalogs.
Subject and body name no condition or treatment unless the brand's subject asks for
``{title}``; every header value is checked for line breaks first.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import jinja2
from babel import Locale, UnknownLocaleError

from ..context import theme_colors
from ..errors import HandoutsError, Problem, RenderError
from ..project import LoadedBrand, LoadedHandout
from .document import BuiltDocument
from .recipients import refuse_unsafe

_PLACEHOLDER = re.compile(r"\{(clinic|title|handout|language)\}")
_FILE_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|\u0085\u2028\u2029]+')


@dataclass(frozen=True)
class Sender:
    """Who the messages come from, resolved from the brand's email: and contact: blocks."""

    name: str
    address: str
    reply_to: str | None


def sender(brand: LoadedBrand) -> Sender:
    b = brand.brand
    address = b.email.from_address or b.contact.email
    if not address:
        raise HandoutsError(
            brand.problem(
                ("email",),
                "the brand has no address to send from",
                "add email: with from_address: (an address your mail server may send as), "
                "or contact: email:",
            )
        )
    reply_to = b.email.reply_to or b.contact.email
    name = b.email.from_name or b.name
    key = ("email", "from_name") if b.email.from_name else ("name",)
    refuse_unsafe(name, _place(brand, key), "sender's name")
    return Sender(name, address, reply_to if reply_to != address else None)


def _place(brand: LoadedBrand, key: tuple[str, ...]) -> str:
    problem = brand.problem(key, "")
    return problem.location() + (f" {problem.key}" if problem.key else "")


def _fill(template: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def attachment_name(brand: LoadedBrand, handout: LoadedHandout) -> str:
    """``Exosome therapy - Riverside Regenerative Medicine.pdf``: safe on every system."""
    name = _fill(
        brand.brand.email.attachment_name,
        {
            "clinic": brand.brand.name,
            "title": handout.handout.title,
            "handout": handout.id,
            "language": handout.language,
        },
    )
    name = " ".join(_FILE_UNSAFE.sub(" ", name).split()).strip(" .")[:100].strip(" .")
    return f"{name or handout.id}.pdf"


def text_direction(lang: str) -> str:
    try:
        locale = Locale.parse(lang.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return "ltr"
    return "rtl" if locale.character_order == "right-to-left" else "ltr"


# ---------------------------------------------------------------- templates


def _render(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateError as exc:
        line = getattr(exc, "lineno", None)
        raise RenderError(
            Problem(
                f"templates/{name}",
                f"template error: {exc}",
                line,
                hint="fix the template, or delete it to use the built-in one",
            )
        ) from None


def _tidy_text(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


@dataclass(frozen=True)
class Texts:
    subject: str
    text: str
    html: str


def texts(
    brand: LoadedBrand,
    handout: LoadedHandout,
    template_dirs: tuple[Path, ...],
    logo: tuple[str, int, int] | None,
) -> Texts:
    """Subject, plain text and HTML in the handout's language."""
    from ..render import template_env

    lang = handout.language
    b = brand.brand
    env = template_env(template_dirs, lang)
    contact = b.contact
    context: dict[str, Any] = {
        "lang": lang,
        "dir": text_direction(lang),
        "clinic": b.name,
        "tagline": b.tagline,
        "theme": theme_colors(b.colors.primary, b.colors.accent),
        "logo": {"src": f"cid:{logo[0]}", "width": logo[1], "height": logo[2]} if logo else None,
        "contact": {
            "phone": contact.phone,
            "phone_href": "tel:" + "".join(c for c in contact.phone or "" if c in "+0123456789"),
            "email": contact.email,
            "website": contact.website,
            "website_label": (contact.website or "")
            .removeprefix("https://")
            .removeprefix("http://")
            .removesuffix("/"),
            "booking_url": contact.booking_url,
            "address": contact.address,
        },
        "signature": (b.email.signature or "").splitlines(),
    }
    heading = " ".join(_render(env, "email/subject.html", context).split())
    context["heading"] = heading
    custom = b.email.subject
    if isinstance(custom, dict):
        custom = custom.get(lang) or custom.get(lang.split("-")[0])
    subject = (
        _fill(custom, {"clinic": b.name, "title": handout.handout.title}) if custom else heading
    )
    context["subject"] = subject
    text = _tidy_text(_render(env, "email/text.html", context))
    html = _render(env, "email/body.html", context)
    return Texts(subject, text, html)


# ---------------------------------------------------------------- the message


def compose(
    *,
    brand: LoadedBrand,
    handout: LoadedHandout,
    document: BuiltDocument,
    recipient: str,
    recipient_where: str,
    template_dirs: tuple[Path, ...],
    logo_png: bytes | None = None,
    logo_size: tuple[int, int] | None = None,
    date: dt.datetime | None = None,
) -> EmailMessage:
    """The whole message for one recipient. Raises HandoutsError for any unsafe header."""
    who = sender(brand)
    domain = who.address.rpartition("@")[2]
    # The cid and Message-ID carry the sending domain, never this computer's name.
    logo_cid = make_msgid("logo", domain=domain)[1:-1] if logo_png and logo_size else None
    written = texts(
        brand,
        handout,
        template_dirs,
        (logo_cid, *logo_size) if logo_cid and logo_size else None,
    )
    brand_file = _place(brand, ("email", "subject"))
    headers = {
        "From": (str(Address(who.name, addr_spec=who.address)), brand_file, "sender"),
        "To": (str(Address(addr_spec=recipient)), recipient_where, "address"),
        "Subject": (written.subject, brand_file, "subject"),
        "Date": (format_datetime(date or dt.datetime.now(dt.UTC)), "Date", "date"),
        "Message-ID": (make_msgid(domain=domain), "Message-ID", "Message-ID"),
    }
    if who.reply_to:
        headers["Reply-To"] = (
            str(Address(addr_spec=who.reply_to)),
            _place(brand, ("email", "reply_to")),
            "reply-to address",
        )
    message = EmailMessage(policy=policy.SMTP)
    for name, (value, where, what) in headers.items():
        message[name] = refuse_unsafe(value, where, what)
    message.set_content(written.text, subtype="plain", charset="utf-8")
    message.add_alternative(written.html, subtype="html", charset="utf-8")
    if logo_cid and logo_png:
        html_part = message.get_payload()[1]
        html_part.add_related(
            logo_png,
            "image",
            "png",
            cid=f"<{logo_cid}>",
            disposition="inline",
            filename="logo.png",
        )
    message.add_attachment(
        document.data,
        "application",
        "pdf",
        filename=refuse_unsafe(attachment_name(brand, handout), brand_file, "attachment name"),
    )
    # Last: building the body moves or clears every Content-* header set before it.
    message["Content-Language"] = refuse_unsafe(handout.language, handout.display, "language")
    return message
