"""Typed models of a handout and a brand, and the mapping of their errors back to file:line.

Every field is documented where it is declared (the docs and, later, the JSON Schema come from
here). Text fields are strict: YAML 1.1 guesses such as ``no`` → False or ``0123`` → 83 are
errors with a hint to quote the value.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import types
import typing
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from .assets import family_problem
from .errors import HandoutsError, Problem
from .yamlio import Document, KeyPath, format_key, impossible_date

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_LANG = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
_EMAIL = re.compile(r"^[^@\s:/]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise ValueError("must be lower-case letters, digits and dashes, like `exosome-therapy`")
    return value


def _lang(value: str) -> str:
    if not _LANG.fullmatch(value):
        raise ValueError("must be a language code such as `en`, `es` or `en-US`")
    from .i18n import language_problem  # Babel's list, loaded on first use

    if problem := language_problem(value):
        raise ValueError(problem)
    return value


def _hex(value: str) -> str:
    if not _HEX.fullmatch(value):
        raise ValueError('must be a colour written as "#RRGGBB", like "#0B5E6B"')
    return value.upper()


def _web_url(value: str) -> str:
    from .markup import url_problem

    if problem := url_problem(value):
        raise ValueError(f"'{value}' {problem}")
    return value


def _email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ValueError("must be an email address like hello@clinic.example")
    return value


def _handouts(value: Any) -> Any:
    if isinstance(value, str) and value != "all":
        raise ValueError("must be `all` or a list of handout ids, like [exosome-therapy]")
    return value


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _doi(value: str) -> str:
    value = value.removeprefix("https://doi.org/").removeprefix("doi:")
    if not _DOI.fullmatch(value):
        raise ValueError("must be a DOI like 10.1186/s12964-022-00959-4")
    return value


def _sha256(value: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise ValueError(
            "must be the 64-character fingerprint that `handouts review approve` writes; "
            "do not edit it by hand"
        )
    return value


def _part_hash(value: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{12}", value):
        raise ValueError(
            "must be a 12-character fingerprint that `handouts review approve` writes; "
            "do not edit it by hand"
        )
    return value


def _real_date(value: Any) -> Any:
    """A quoted date such as "2026-02-30" gets the same plain reason as an unquoted one."""
    if isinstance(value, str) and _DATE.fullmatch(value) and (why := impossible_date(value)):
        raise ValueError(f"'{value}' is not a real date: {why}")
    return value


def _date_range(value: dt.date) -> dt.date:
    if not 1800 <= value.year <= 2200:
        raise ValueError("must be a date between the years 1800 and 2200, like 2026-11-01")
    return value


def _family(value: str) -> str:
    if problem := family_problem(value):
        raise ValueError(problem)
    return value


_DATE = re.compile(r"^\d{4}-\d\d?-\d\d?$")
Date = Annotated[dt.date, BeforeValidator(_real_date), AfterValidator(_date_range)]
FontFamily = Annotated[
    str, Strict(), StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_family)
]
Text = Annotated[str, Strict(), StringConstraints(strip_whitespace=True, min_length=1)]
Markdown = Annotated[str, Strict(), StringConstraints(min_length=1)]
Slug = Annotated[str, Strict(), AfterValidator(_slug)]
Lang = Annotated[str, Strict(), AfterValidator(_lang)]
HexColor = Annotated[str, Strict(), AfterValidator(_hex)]
WebUrl = Annotated[str, Strict(), AfterValidator(_web_url)]
Email = Annotated[str, Strict(), AfterValidator(_email)]
Doi = Annotated[str, Strict(), AfterValidator(_doi)]
Digits = Annotated[str, Strict(), StringConstraints(pattern=r"^\d{1,12}$")]
Sha256 = Annotated[str, Strict(), AfterValidator(_sha256)]
PartHash = Annotated[str, Strict(), AfterValidator(_part_hash)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- handout


class Parts(_Model):
    """Short fingerprints of each printed part of a handout, to tell which ones changed
    (written by `handouts review approve`)."""

    title: PartHash | None = Field(None, description="The title and subtitle.")
    notices: list[PartHash] = Field([], description="Each notice, in order.")
    questions: list[PartHash] = Field([], description="Each question with its answer, in order.")
    closing: PartHash | None = Field(None, description="The closing heading and text.")


class ReviewRecord(_Model):
    """One sign-off in `review.history` (written by `handouts review approve`)."""

    version: Annotated[int, Strict()] | Text = Field(description="The version approved.")
    reviewed_on: Date = Field(description="The date of the sign-off.")
    reviewed_by: Text = Field(description="Who signed it off.")
    fingerprint: Sha256 = Field(description="SHA-256 of the printed text that was approved.")
    note: Text | None = Field(None, description="What was checked or changed.")


class Review(_Model):
    """Content governance: who reviewed the text and when. Printed small in the footer.
    `handouts review approve` writes this block, with the fingerprint of the approved text."""

    version: Annotated[int, Strict()] | Text = Field(description="Version of the reviewed text.")
    reviewed_on: Date = Field(description="Date of the last medical review (YYYY-MM-DD).")
    reviewed_by: Text | None = Field(None, description="Who reviewed it.")
    next_review: Date | None = Field(None, description="When the text is due for review.")
    # ---- written by `handouts review approve` (docs/reviewing.md); not printed
    fingerprint: Sha256 | None = Field(
        None, description="SHA-256 of the printed text as approved; set by `review approve`."
    )
    parts: Parts | None = Field(
        None, description="Fingerprints of each part as approved, to name what changed."
    )
    history: list[ReviewRecord] = Field([], description="Every sign-off, oldest first.")


class TranslationSource(_Model):
    """The source-language text a translation was made from, as fingerprints, so that a change
    to the source shows which questions the translation is behind on."""

    version: Annotated[int, Strict()] | Text | None = Field(
        None, description="The source's review version at the time."
    )
    fingerprint: Sha256 = Field(description="SHA-256 of the source's printed text.")
    parts: Parts | None = Field(None, description="Fingerprints of each part of the source.")


class Translation(_Model):
    """Where a translated handout comes from; printed small in the footer. Leave the review
    lines out until a qualified translator has checked the text: the footer then says so."""

    source_language: Lang = Field(description="The language it was translated from, e.g. en.")
    translated_by: Text = Field(description="Who translated it (a person or a service).")
    translated_on: Date = Field(description="When it was translated (YYYY-MM-DD).")
    reviewed_by: Text | None = Field(None, description="The qualified reviewer, once reviewed.")
    reviewed_on: Date | None = Field(None, description="When the reviewer checked it.")
    source: TranslationSource | None = Field(
        None,
        description="The source text this translation matches; set by "
        "`handouts review approve ID --lang CODE`.",
    )


class Notice(_Model):
    """A call-out box shown before the questions."""

    kind: Literal["info", "warning"] = Field("info", description="info or warning.")
    text: Markdown = Field(description="The notice; inline Markdown allowed.")
    sources: list[Slug] = Field([], description="Reference ids printed under the notice.")


class Question(_Model):
    """One question and its answer."""

    question: Text = Field(description="The question, as a patient would ask it.")
    answer: Markdown = Field(description="The answer; Markdown paragraphs, lists, links.")
    sources: list[Slug] = Field([], description="Reference ids printed under the answer.")


class Reference(_Model):
    """A cited article or page. Its QR code goes to `url`, else the DOI, else PubMed."""

    id: Slug = Field(description="Short name used in `sources:` lists.")
    title: Text = Field(description="Title of the article or page.")
    authors: Text | None = Field(None, description="Authors, as printed.")
    journal: Text | None = Field(None, description="Journal name.")
    publisher: Text | None = Field(None, description="Publisher or agency.")
    year: Annotated[int, Strict(), Field(ge=1800, le=2200)] | None = Field(
        None, description="Year published."
    )
    date: Date | None = Field(None, description="Date published (YYYY-MM-DD).")
    volume: Text | None = Field(None, description="Volume, issue and pages.")
    doi: Doi | None = Field(None, description="DOI, like 10.1186/s12964-022-00959-4.")
    pmid: Digits | None = Field(None, description="PubMed id.")
    url: WebUrl | None = Field(None, description="Web address; overrides the DOI link.")
    note: Text | None = Field(None, description="A note for editors; not printed.")
    short_url: WebUrl | None = Field(
        None,
        description="A short address that leads to the same page (e.g. the clinic's own "
        "redirect): the QR code and the printed address use it, the PDF's link keeps the full "
        "one. Use only an address you have tried.",
    )
    label: Text | None = Field(
        None,
        description="A few words naming the source under its QR code, like `FDA warning`: "
        "printed as 'Scan: FDA warning'.",
    )
    language: Lang | None = Field(
        None,
        description="The language of the linked page, like `en`. A page in another language "
        "than the handout's is marked, e.g. '(en inglés)'. Default: the language a translated "
        "handout was translated from, else the handout's own.",
    )

    @property
    def link(self) -> str | None:
        """Where the reader is sent, or None when the article has no confirmed link."""
        if self.url:
            return self.url
        if self.doi:
            return f"https://doi.org/{self.doi}"
        if self.pmid:
            return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/"
        return None


class Closing(_Model):
    """The call to action at the end; the brand adds its contact details and booking QR code."""

    heading: Text = Field(description="A short heading, such as a question.")
    text: Markdown | None = Field(None, description="One or two sentences; Markdown allowed.")


class Handout(_Model):
    """One handout in one language."""

    id: Slug | None = Field(None, description="Defaults to the file name without .LANG.yaml.")
    language: Lang | None = Field(None, description="Language code; defaults to the file name's.")
    title: Text = Field(description="The handout's title.")
    subtitle: Text | None = Field(None, description="A line under the title.")
    keywords: list[Text] = Field([], description="Words for the PDF's keywords field.")
    review: Review | None = Field(None, description="Medical review record.")
    translation: Translation | None = Field(None, description="For translated handouts.")
    notices: list[Notice] = Field([], description="Call-out boxes before the questions.")
    questions: Annotated[list[Question], Field(min_length=1)] = Field(
        description="The questions and answers, in order."
    )
    references: list[Reference] = Field([], description="Cited articles and pages.")
    closing: Closing | None = Field(None, description="The closing call to action.")
    max_pages: Annotated[int, Strict(), Field(ge=1, le=24)] | None = Field(
        None,
        description="Allow this handout more (or fewer) pages than a layout's default, e.g. a "
        "translation that runs longer; folded layouts keep their fixed page count.",
    )


# ---------------------------------------------------------------- brand


class Colors(_Model):
    """Brand colours, as #RRGGBB."""

    primary: HexColor = Field(description="Headings, rules and frames; dark enough for text.")
    accent: HexColor = Field("#E3A72F", description="Decoration only, never text.")


class Contact(_Model):
    """How patients reach the clinic; printed in the closing block."""

    phone: Text | None = Field(None, description="Phone number, as printed.")
    email: Email | None = Field(None, description="Email address.")
    website: WebUrl | None = Field(None, description="Web site.")
    booking_url: WebUrl | None = Field(None, description="Booking page; becomes a QR code.")
    address: Text | None = Field(None, description="Street address, as printed.")
    booking_short_url: WebUrl | None = Field(
        None,
        description="A short address that leads to the booking page (e.g. the clinic's own "
        "redirect): the QR code and the printed address use it, the PDF's link keeps "
        "booking_url. Use only an address you have tried.",
    )


# ---------------------------------------------------------------- email (handouts send)

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def _one_line(value: str) -> str:
    if _HEADER_UNSAFE.search(value):
        raise ValueError("must be one line, without line breaks or control characters")
    return value


def _template(allowed: tuple[str, ...]) -> Any:
    """A one-line text with ``{name}`` placeholders taken only from ``allowed``."""

    def check(value: str) -> str:
        _one_line(value)
        for name in _PLACEHOLDER.findall(value):
            if name not in allowed:
                hint = did_you_mean(name, allowed)
                known = ", ".join(f"{{{a}}}" for a in allowed)
                raise ValueError(
                    f"has an unknown placeholder {{{name}}}; "
                    + (hint or f"the placeholders are {known}")
                )
        if "{" in _PLACEHOLDER.sub("", value) or "}" in _PLACEHOLDER.sub("", value):
            raise ValueError("has a { or } that is not part of a placeholder such as {clinic}")
        return value

    return AfterValidator(check)


SubjectTemplate = Annotated[
    str,
    Strict(),
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    _template(("clinic", "title")),
]
FileNameTemplate = Annotated[
    str,
    Strict(),
    StringConstraints(strip_whitespace=True, min_length=1, max_length=120),
    _template(("clinic", "title", "handout", "language")),
]


class EmailSettings(_Model):
    """How the brand's emails to patients look (handouts send). Every field is optional."""

    from_name: Annotated[Text, AfterValidator(_one_line)] | None = Field(
        None, description="The sender's name patients see. Default: the clinic's name."
    )
    from_address: Email | None = Field(
        None,
        description="The address emails come from; the mail server must allow it. "
        "Default: contact.email.",
    )
    reply_to: Email | None = Field(
        None, description="Where patients' replies go. Default: contact.email."
    )
    subject: SubjectTemplate | dict[Lang, SubjectTemplate] | None = Field(
        None,
        description="The subject line, or one per language. Placeholders: {clinic}, and "
        "{title} (the handout's title: it names the topic, so it is off by default). "
        'Default: "Information from {clinic}", translated.',
    )
    signature: Text | None = Field(
        None, description="Closing lines under the message, such as a team's name."
    )
    attachment_name: FileNameTemplate = Field(
        "{title} - {clinic}",
        description="The attached PDF's file name, without .pdf. Placeholders: {clinic}, "
        "{title}, {handout} (its id), {language}.",
    )


class Brand(_Model):
    """One clinic's look and contact details."""

    id: Slug | None = Field(None, description="Defaults to the brand's folder name.")
    name: Text = Field(description="The clinic's name.")
    tagline: Text | None = Field(None, description="A short line under the name.")
    logo: Text | None = Field(None, description="SVG, PNG or JPEG file in the brand's folder.")
    colors: Colors = Field(description="Brand colours.")
    font: FontFamily = Field("Atkinson Hyperlegible", description="A font family from fonts/.")
    paper: Annotated[Literal["letter", "a4"], BeforeValidator(_lower)] = Field(
        "letter", description="letter or a4."
    )
    contact: Contact = Field(default_factory=Contact, description="Contact details.")
    handouts: Annotated[Literal["all"] | list[Slug], BeforeValidator(_handouts)] = Field(
        "all", description="`all`, or the list of handout ids this clinic prints."
    )
    languages: Annotated[list[Lang], Field(min_length=1)] = Field(
        ["en"], description="Which language versions to build."
    )
    layouts: Annotated[list[Slug], Field(min_length=1)] = Field(
        ["leaflet"], description="Which layouts to build: leaflet, large-print, trifold."
    )
    max_pages: Annotated[int, Strict(), Field(ge=1, le=24)] | None = Field(
        None, description="Fewer pages than a layout allows (e.g. 1 for one-page leaflets)."
    )
    language_assistance: dict[Lang, Text] = Field(
        {},
        description="Language-assistance taglines (ACA Section 1557), one per language, "
        "printed in a small box at the end of every handout.",
    )
    print_ready: Annotated[bool, Strict()] = Field(
        False, description="Also build print-shop PDFs with 3 mm bleed and crop marks."
    )
    email: EmailSettings = Field(
        default_factory=EmailSettings,
        description="How emails to patients look (handouts send): sender, subject, signature.",
    )


# ---------------------------------------------------------------- project settings


def _loopback(host: str) -> bool:
    import ipaddress

    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _env_name(value: str) -> str:
    if not _ENV_NAME.fullmatch(value):
        raise ValueError("must be the name of an environment variable, like SMTP_PASSWORD")
    return value


def _no_password(value: Any) -> Any:
    raise ValueError(
        "a password is never read from handouts.yaml (it is shared and often committed): "
        "put it in an environment variable named by password_env, or in a file readable only "
        "by you named by password_file"
    )


class SmtpSettings(_Model):
    """The mail server that `handouts send` uses (the smtp: block of handouts.yaml)."""

    host: Annotated[Text, AfterValidator(_one_line)] = Field(
        description="The mail server's name, like smtp.clinic.example."
    )
    port: Annotated[int, Strict(), Field(ge=1, le=65535)] | None = Field(
        None, description="Default: 587 for starttls, 465 for tls, 25 for none."
    )
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls",
        description="starttls or tls, both with the server's certificate checked; none is "
        "allowed only for a mail relay on this computer (localhost).",
    )
    username: Annotated[Text, AfterValidator(_one_line)] | None = Field(
        None, description="The user name to log in with, if the server asks for one."
    )
    password_env: Annotated[str, Strict(), AfterValidator(_env_name)] | None = Field(
        None, description="The environment variable that holds the password."
    )
    password_file: Text | None = Field(
        None,
        description="Or a file that holds the password, readable by its owner only "
        "(chmod 600); relative to the project folder.",
    )
    password: Annotated[Any, BeforeValidator(_no_password)] = Field(
        None, description="Not allowed: use password_env or password_file."
    )
    ca_file: Text | None = Field(
        None,
        description="Certificate authorities to trust instead of the system's, as a PEM file "
        "(for a server with a private certificate); relative to the project folder.",
    )
    rate: Annotated[int, Strict(), Field(ge=1, le=6000)] = Field(
        20, description="At most this many messages per minute."
    )
    max_attachment_mb: Annotated[float, Field(gt=0, le=25)] = Field(
        10, description="The largest PDF that may be attached, in MB."
    )
    timeout: Annotated[float, Field(ge=1, le=300)] = Field(
        30, description="Seconds to wait for the mail server before giving up."
    )

    @field_validator("security")
    @classmethod
    def _tls_off_the_machine(cls, value: str, info: ValidationInfo) -> str:
        host = info.data.get("host")
        if value == "none" and host and not _loopback(host):
            raise ValueError(
                f"security: none would send patients' mail unencrypted to {host}; it is "
                "allowed only for localhost. Use starttls or tls"
            )
        return value

    @field_validator("password_file")
    @classmethod
    def _one_source(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("password_env"):
            raise ValueError("give either password_env or password_file, not both")
        return value

    @property
    def loopback(self) -> bool:
        return _loopback(self.host)

    @property
    def effective_port(self) -> int:
        return self.port or {"starttls": 587, "tls": 465, "none": 25}[self.security]


class Settings(_Model):
    """Project-wide settings, from the optional handouts.yaml at the project's root."""

    target_grade: Annotated[int, Strict(), Field(ge=1, le=18)] = Field(
        8, description="Highest acceptable reading grade (US school grade); 6 to 8 is advised."
    )
    plain_language: dict[Text, Text] = Field(
        {}, description="More words to flag, each with a plainer word: `utilize: use`."
    )
    smtp: SmtpSettings | None = Field(
        None, description="The mail server for `handouts send`; no password here."
    )
    require_approval: Annotated[bool, Strict()] = Field(
        False,
        description="Print a handout whose text is not approved (changed since its sign-off, or "
        "never signed off) only as a DRAFT, marked on every page.",
    )
    example: Annotated[bool, Strict()] = Field(
        False,
        description="This project is a sample: do not report placeholder text (555-01xx "
        "numbers, example.com addresses, starter text).",
    )


# ---------------------------------------------------------------- layout


PreflightRule = Literal[
    "safe-area", "containment", "overlap", "page-fill", "keep-together", "type-floor", "qr"
]
Severity = Literal["error", "warning", "off"]


class PreflightRules(_Model):
    """What preflight checks on every rendered page (layout.yaml `preflight:`); see
    docs/setting-up-a-brand.md, "Preflight"."""

    severity: dict[PreflightRule, Severity] = Field(
        {},
        description="Change a rule's severity: `error` fails the document, `warning` is "
        "reported in the manifest, the gallery and `handouts check`, `off` skips the rule. "
        "By default page-fill is a warning and every other rule an error.",
    )
    safe_area_mm: Annotated[float, Field(ge=0, le=30)] = Field(
        5,
        description="Nothing prints closer than this to the trimmed page edge (backgrounds "
        "meant to bleed are allowed to in print-ready files).",
    )
    min_page_fill: Annotated[float, Field(ge=0, le=1)] = Field(
        0.3, description="The smallest share of a page's area that content must cover."
    )
    max_split_box: Annotated[float, Field(ge=0, le=1)] = Field(
        1 / 3,
        description="A framed box (or one marked break-inside: avoid) shorter than this share "
        "of the page height is never split across pages, columns or panels.",
    )
    min_type_pt: dict[Text, Annotated[float, Field(ge=1, le=100)]] = Field(
        {"*": 6},
        description="Smallest type, in points. `*`: every glyph; `.class` or a tag name: text "
        "inside such an element; `@page`: the page margins (running footer, page number). The "
        "innermost match wins.",
    )
    qr_min_module_mm: Annotated[float, Field(ge=0.1, le=2)] = Field(
        0.5, description="Smallest printed QR module."
    )
    booking_qr_min_mm: Annotated[float, Field(ge=0, le=80)] = Field(
        25,
        description="Smallest printed booking code, without its quiet zone; it must also be "
        "the largest code on its page.",
    )
    overlap_allowed: list[Text] = Field(
        [],
        description="Class names of elements that may overlap others (e.g. a watermark); "
        "elements with position: fixed are always allowed to.",
    )

    def level(self, rule: str) -> str:
        default = "warning" if rule == "page-fill" else "error"
        return self.severity.get(rule, default)


class LayoutSpec(_Model):
    """How the builder treats a layout; read from templates/<layout>/layout.yaml."""

    orientation: Literal["portrait", "landscape"] = Field("portrait")
    max_pages: Annotated[int, Field(ge=1, le=24)] | None = Field(
        None, description="Fit the document to this many pages; none: grows as needed."
    )
    body_pt: Annotated[float, Field(ge=6, le=40)] = Field(11.5, description="Body text size.")
    min_body_pt: Annotated[float, Field(ge=6, le=40)] | None = Field(
        None, description="Smallest body size when fitting; none: never shrinks."
    )
    step_pt: Annotated[float, Field(gt=0, le=4)] = Field(0.25, description="Fitting step.")
    panels_per_page: Annotated[int, Field(ge=1, le=6)] | None = Field(
        None,
        description="Panels per page (folded layouts, whose page count is fixed by the fold), "
        "for overflow messages.",
    )
    qr_min_mm: Annotated[float, Field(ge=10, le=80)] = Field(22, description="Smallest QR code.")
    qr_max_mm: Annotated[float, Field(ge=10, le=80)] = Field(34, description="Largest QR code.")
    booking_qr_mm: Annotated[float, Field(ge=10, le=80)] = Field(24, description="Booking QR.")
    overflow_hint: Text = Field(
        "shorten the answers, or split the handout in two",
        description="What to suggest when the content does not fit.",
    )
    body_floor_pt: Annotated[float, Field(ge=9, le=40)] | None = Field(
        None,
        description="The smallest body size this layout may ever print at (default 11 pt); "
        "`handouts check` fails a body_pt or min_body_pt below it. A project that overrides a "
        "built-in layout may raise the built-in floor, never lower it.",
    )
    colour_pairs: (
        list[
            Literal[
                "title",
                "headings",
                "closing-text",
                "clinic-name",
                "sources-text",
                "sources-grey",
                "notice-text",
                "notice-grey",
            ]
        ]
        | None
    ) = Field(
        None,
        description="Which text-on-background colour pairs the layout prints, for the contrast "
        "check (docs/checks.md); none: it is held to every pair.",
    )
    max_body_pt: Annotated[float, Field(ge=6, le=40)] | None = Field(
        None,
        description="Largest body size the fitter may grow to, to fill a page that would "
        "otherwise stay nearly empty; none: never grows.",
    )
    spacing: Annotated[list[Annotated[float, Field(ge=0.7, le=1.5)]], Field(min_length=1)] = Field(
        [1.0],
        description="Spacing factors (line and block spacing) the fitter may try, the "
        "preferred one first.",
    )
    qr_module_mm: Annotated[float, Field(ge=0.4, le=2)] = Field(
        0.6,
        description="Preferred printed QR module: codes for long addresses grow to keep it; "
        "when content does not fit, the fitter may go down to the preflight floor.",
    )
    preflight: PreflightRules = Field(
        default_factory=PreflightRules, description="What preflight checks on every page."
    )

    def sizes(self) -> list[float]:
        """Body sizes to try when fitting, largest first."""
        floor = self.min_body_pt if self.min_body_pt is not None else self.body_pt
        sizes, size = [], self.body_pt
        while size >= floor - 1e-9:
            sizes.append(round(size, 2))
            size -= self.step_pt
        return sizes or [self.body_pt]


# ---------------------------------------------------------------- errors → file:line

_CONTAINERS = {"list_type", "model_type", "dict_type"}
_PLAIN = {
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "list_type": "must be a list (one `- item` per line)",
    "model_type": "must be a group of `key: value` lines",
    "dict_type": "must be a group of `key: value` lines",
    "date_type": "must be a date like 2026-11-01",
    "date_from_datetime_parsing": "must be a date like 2026-11-01",
    "date_from_datetime_inexact": "must be a date like 2026-11-01, without a time",
    "string_too_short": "must not be empty",
    "too_short": "must not be empty",
}


def did_you_mean(word: str, choices: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def _model_at(model: type[BaseModel], path: KeyPath) -> type[BaseModel] | None:
    """The model class that describes the mapping at ``path`` (for did-you-mean)."""
    current: Any = model
    for part in path:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = current.model_fields.get(part)
        if info is None:
            return None
        current = _find_model(info.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _find_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _find_model(arg)
        if found is not None:
            return found
    if isinstance(annotation, types.UnionType):
        return None
    return None


def _data_path(data: Any, loc: tuple[Any, ...]) -> KeyPath:
    """Keep only the parts of a pydantic ``loc`` that index into the data (drops union tags)."""
    path: list[str | int] = []
    current = data
    for part in loc:
        if (isinstance(current, dict) and isinstance(part, str) and part in current) or (
            isinstance(current, list) and isinstance(part, int) and part < len(current)
        ):
            current = current[part]
            path.append(part)
        elif (
            isinstance(current, dict)
            and isinstance(part, str)
            and "." not in part
            and "[" not in part
            and part.isidentifier()
        ):
            path.append(part)  # a missing or unknown key
            break
    return tuple(path)


def to_problems(exc: ValidationError, doc: Document, model: type[BaseModel]) -> list[Problem]:
    """Turn pydantic's errors into located, plain-language Problems (one per place)."""
    problems: dict[KeyPath, Problem] = {}
    errors = exc.errors(include_url=False)
    # A misspelt key ("titel") also makes the real one missing: the did-you-mean says enough.
    suggested: set[KeyPath] = set()
    for err in errors:
        if err["type"] == "extra_forbidden":
            path = _data_path(doc.data, tuple(err["loc"]))
            parent = _model_at(model, path[:-1])
            close = difflib.get_close_matches(
                str(path[-1]), list(parent.model_fields if parent else ()), n=1, cutoff=0.6
            )
            if close:
                suggested.add((*path[:-1], close[0]))
    for err in errors:
        path = _data_path(doc.data, tuple(err["loc"]))
        if path in problems:
            continue  # a union reports once per alternative; the first says enough
        kind = err["type"]
        if kind == "extra_forbidden":
            parent = _model_at(model, path[:-1])
            hint = did_you_mean(str(path[-1]), parent.model_fields if parent else ())
            problems[path] = doc.problem(
                path,
                f"unknown key '{path[-1]}'",
                hint or "remove it or check the spelling",
                key=True,
            )
            continue
        if kind == "missing":
            if path in suggested:
                continue
            mark = doc.mark(path[:-1])
            problems[path] = Problem(
                doc.display,
                f"'{path[-1]}' is missing",
                mark.line,
                mark.col,
                format_key(path[:-1]),
                f"add the line `{path[-1]}: ...`",
            )
            continue
        if kind == "literal_error":
            message = f"must be one of: {err['ctx']['expected']}"
            value = _value_at(doc.data, path)
            hint = did_you_mean(str(value), re.findall(r"'([^']+)'", err["ctx"]["expected"]))
            problems[path] = doc.problem(path, message, hint)
            continue
        message = _PLAIN.get(kind) or str(err["msg"]).removeprefix("Value error, ")
        hint = ""
        mark = doc.mark(path)
        value = _value_at(doc.data, path)
        if value is None and mark.plain and not mark.text and kind not in _CONTAINERS:
            message, hint = "must not be empty", "write the value after the colon"
            after = doc.line_text(mark.line)[mark.col - 1 :]
            if after.lstrip().startswith("#"):
                word = after.strip().split()[0]
                hint = f'a # starts a comment in YAML: write the value in quotes, like "{word}"'
        elif kind == "string_type" and mark.plain and mark.text is not None:
            message = f"must be text, but YAML read `{mark.text}` as a {_yaml_type(doc, path)}"
            hint = f'write it in quotes: "{mark.text}"'
        problems[path] = doc.problem(path, message, hint)
    return sorted(problems.values(), key=lambda p: (p.line or 0, p.col or 0))


def _value_at(data: Any, path: KeyPath) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _yaml_type(doc: Document, path: KeyPath) -> str:
    value = _value_at(doc.data, path)
    return {
        bool: "yes/no value",
        int: "number",
        float: "number",
        type(None): "empty value",
        dt.date: "date",
        dt.datetime: "date",
    }.get(type(value), "non-text value")


def parse(model: type[_Model], doc: Document, overrides: dict[str, Any] | None = None) -> Any:
    """Validate ``doc`` against ``model``; raise HandoutsError listing every problem."""
    data = dict(doc.data)
    for key, value in (overrides or {}).items():
        if data.get(key) is None:  # absent, or `id:` left empty: the name's value applies
            data[key] = value
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise HandoutsError(to_problems(exc, doc, model)) from None
