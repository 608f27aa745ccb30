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
)

from .errors import HandoutsError, Problem
from .yamlio import Document, KeyPath, format_key

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


Text = Annotated[str, Strict(), StringConstraints(strip_whitespace=True, min_length=1)]
Markdown = Annotated[str, Strict(), StringConstraints(min_length=1)]
Slug = Annotated[str, Strict(), AfterValidator(_slug)]
Lang = Annotated[str, Strict(), AfterValidator(_lang)]
HexColor = Annotated[str, Strict(), AfterValidator(_hex)]
WebUrl = Annotated[str, Strict(), AfterValidator(_web_url)]
Email = Annotated[str, Strict(), AfterValidator(_email)]
Doi = Annotated[str, Strict(), AfterValidator(_doi)]
Digits = Annotated[str, Strict(), StringConstraints(pattern=r"^\d{1,12}$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- handout


class Review(_Model):
    """Content governance: who reviewed the text and when. Printed small in the footer."""

    version: Annotated[int, Strict()] | Text = Field(description="Version of the reviewed text.")
    reviewed_on: dt.date = Field(description="Date of the last medical review (YYYY-MM-DD).")
    reviewed_by: Text | None = Field(None, description="Who reviewed it.")
    next_review: dt.date | None = Field(None, description="When the text is due for review.")


class Translation(_Model):
    """Where a translated handout comes from; printed small in the footer. Leave the review
    lines out until a qualified translator has checked the text: the footer then says so."""

    source_language: Lang = Field(description="The language it was translated from, e.g. en.")
    translated_by: Text = Field(description="Who translated it (a person or a service).")
    translated_on: dt.date = Field(description="When it was translated (YYYY-MM-DD).")
    reviewed_by: Text | None = Field(None, description="The qualified reviewer, once reviewed.")
    reviewed_on: dt.date | None = Field(None, description="When the reviewer checked it.")


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
    date: dt.date | None = Field(None, description="Date published (YYYY-MM-DD).")
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


class Brand(_Model):
    """One clinic's look and contact details."""

    id: Slug | None = Field(None, description="Defaults to the brand's folder name.")
    name: Text = Field(description="The clinic's name.")
    tagline: Text | None = Field(None, description="A short line under the name.")
    logo: Text | None = Field(None, description="SVG, PNG or JPEG file in the brand's folder.")
    colors: Colors = Field(description="Brand colours.")
    font: Text = Field("Atkinson Hyperlegible", description="A font family from fonts/.")
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


# ---------------------------------------------------------------- project settings


class Settings(_Model):
    """Project-wide settings, from the optional handouts.yaml at the project's root."""

    target_grade: Annotated[int, Strict(), Field(ge=1, le=18)] = Field(
        8, description="Highest acceptable reading grade (US school grade); 6 to 8 is advised."
    )
    plain_language: dict[Text, Text] = Field(
        {}, description="More words to flag, each with a plainer word: `utilize: use`."
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
        data.setdefault(key, value)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise HandoutsError(to_problems(exc, doc, model)) from None
