"""The outline every reader produces (headings, paragraphs, lists and regions, in reading
order), and the one assembler that finds the handout in it: title, notices, questions and
answers, cited articles and the closing call to action.

Readers only describe what the source shows; every decision about what a block means is made
here, once, and each guess is recorded for the writer's ``# CHECK:`` comments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import HandoutsError, Problem
from . import citations as cite
from . import mdtext
from .draft import Draft, DraftClosing, DraftNotice, DraftQuestion, DraftReference

MAX_QUESTION_CHARS = 250  # a longer "line ending in ?" is a paragraph, not a question
# A line that only labels the list of articles after it ("Sources:"); not answer text.
SOURCE_LABELS = {"sources", "source", "references", "citations", "fuentes", "referencias"}

_WARNING_START = re.compile(
    r"^\W*(please note|important|note|warning|caution|attention|notice)\b", re.I
)
_SUBTITLE = re.compile(
    r"^(?P<title>.*?\S)[\s:\u2013\u2014|-]*\b(?P<subtitle>frequently asked questions|faqs?|"
    r"questions and answers|questions & answers|q ?& ?a|preguntas frecuentes)$",
    re.I,
)


@dataclass
class Link:
    href: str
    text: str


@dataclass
class Item:
    """One list item: its Markdown, its plain words and its links."""

    markdown: str
    plain: str
    links: list[Link] = field(default_factory=list)
    depth: int = 0  # 0 for the top level; more for a nested list
    cite: str = ""  # the words of a <cite> in it: the title of a cited work


@dataclass
class Block:
    """One piece of the source in reading order.

    kind: ``heading`` (level 1-6), ``para``, ``list``, ``subtitle``, ``summary`` (of a
    ``<details>``), or ``open``/``close`` of a region (``details``, ``note-info``,
    ``note-warning``, ``closing``).
    """

    kind: str
    markdown: str = ""
    plain: str = ""
    level: int = 0
    bold: bool = False  # a paragraph that is bold throughout
    ordered: bool = False
    items: list[Item] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    region: str = ""
    single_line: bool = True


@dataclass
class StructuredQuestion:
    """A question stated as data (schema.org FAQPage JSON-LD or microdata)."""

    question: str
    answer: list[Block]
    citations: list[cite.Citation] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)


@dataclass
class Outline:
    """What a reader hands the assembler."""

    blocks: list[Block]
    structured: list[StructuredQuestion] = field(default_factory=list)
    fallback_title: tuple[str, str] | None = None  # (title, where it was found)
    language: str | None = None  # the language the source declares


@dataclass
class _Section:
    marker: Block | None
    blocks: list[Block] = field(default_factory=list)
    structured: StructuredQuestion | None = None
    checks: list[str] = field(default_factory=list)


def ends_with_question_mark(text: str) -> bool:
    return text.rstrip().rstrip("\"'\u201d\u2019\u00bb)").endswith(("?", "\uff1f"))


def _marker_kind(block: Block) -> str | None:
    text = block.plain.strip()
    if block.kind == "summary":
        return "summary" if text else None
    if not ends_with_question_mark(text) or len(text) > MAX_QUESTION_CHARS:
        return None
    if block.kind == "heading":
        return "heading"
    if block.kind == "para" and block.bold:
        return "bold"
    if block.kind == "para" and block.single_line:
        return "plain"
    return None


class Assembler:
    """Turns an outline into a Draft; ``source_name`` names the source in messages
    (``the text``, ``the page``)."""

    def __init__(self, source: str, fmt: str, source_name: str) -> None:
        self.draft = Draft(source=source, fmt=fmt)
        self.source_name = source_name
        self._citations: list[cite.Citation] = []

    # ------------------------------------------------------------ entry point

    def assemble(self, outline: Outline) -> Draft:
        self.draft.language = outline.language
        blocks = self._take_title(outline.blocks, outline.fallback_title)
        sections, intro, closing, trailing = self._split(blocks, outline.structured)
        if not sections:
            raise HandoutsError(
                Problem(
                    self.draft.source,
                    f"no questions found in {self.source_name}",
                    hint="questions are headings, bold lines or lines of their own that end "
                    "with a question mark; see docs/importing.md",
                )
            )
        self._notices(intro)
        self._questions(sections, closing)
        self._closing(closing, trailing)
        self._references()
        return self.draft

    # ------------------------------------------------------------ title

    def _take_title(self, blocks: list[Block], fallback: tuple[str, str] | None) -> list[Block]:
        d = self.draft
        title_at = next(
            (i for i, b in enumerate(blocks) if b.kind == "heading" and b.level == 1), None
        )
        if title_at is not None and not (
            _marker_kind(blocks[title_at]) and title_at != _first_content(blocks)
        ):
            d.title = blocks[title_at].plain.strip()
            blocks = blocks[:title_at] + blocks[title_at + 1 :]
        elif fallback:
            d.title, where = fallback
            d.title_checks.append(f"{self.source_name} has no main heading: the title is {where}")
        subtitle_at = next((i for i, b in enumerate(blocks) if b.kind == "subtitle"), None)
        if subtitle_at is not None:
            d.subtitle = blocks[subtitle_at].plain.strip() or None
            blocks = blocks[:subtitle_at] + blocks[subtitle_at + 1 :]
        if not d.title:
            raise HandoutsError(
                Problem(
                    d.source,
                    f"{self.source_name} has no title",
                    hint="start it with the handout's title (a first line, or a main heading)",
                )
            )
        if d.subtitle is None and (match := _SUBTITLE.match(d.title)):
            original = d.title
            d.title, d.subtitle = match["title"].strip(" :\u2013\u2014|-"), match["subtitle"]
            d.title_checks.append(f'split "{original}" into a title and a subtitle')
        return blocks

    # ------------------------------------------------------------ questions and the rest

    def _split(
        self, blocks: list[Block], structured: list[StructuredQuestion]
    ) -> tuple[list[_Section], list[Block], list[Block], list[Block]]:
        """Sections (one per question), the blocks before the first, the closing region's
        and whatever follows the last question outside any answer."""
        mode = self._mode(blocks, structured)
        by_text = {cite.title_key(q.question): q for q in structured}
        sections: list[_Section] = []
        intro: list[Block] = []
        closing: list[Block] = []
        trailing: list[Block] = []
        regions: list[str] = []
        for block in blocks:
            if block.kind == "open":
                regions.append(block.region)
                if not sections or "closing" in regions:
                    (closing if "closing" in regions else intro).append(block)
                continue
            if block.kind == "close":
                if regions:
                    regions.pop()
                if block.region == "closing":
                    continue
                if not sections:
                    intro.append(block)
                continue
            if "closing" in regions:
                closing.append(block)
                continue
            kind = _marker_kind(block)
            if mode == "structured":
                match = by_text.get(cite.title_key(block.plain)) if kind else None
                if match is not None:
                    sections.append(_Section(block, structured=match))
                    continue
            elif kind and (
                (mode == "details" and kind == "summary")
                or (mode == "headings" and kind in ("heading", "bold"))
                or (mode == "plain" and kind == "plain")
            ):
                section = _Section(block)
                if kind == "plain":
                    section.checks.append("found only by its question mark")
                elif kind == "summary" and not ends_with_question_mark(block.plain):
                    section.checks.append("a collapsible section whose title is not a question")
                sections.append(section)
                continue
            if not sections:
                intro.append(block)
            elif mode == "details" and "details" not in regions:
                trailing.append(block)
            elif mode == "structured":
                if not sections[-1].structured:
                    trailing.append(block)
                elif block.kind in ("heading", "para") and _marker_kind(block):
                    trailing.append(block)  # a question-like line the data does not list
                elif trailing:
                    trailing.append(block)
            else:
                sections[-1].blocks.append(block)
        if mode == "structured":
            matched = {id(s.structured) for s in sections}
            missing = [q for q in structured if id(q) not in matched]
            if not sections:
                self.draft.warnings.append(
                    "the questions and answers come from the page's FAQPage data; its visible "
                    "text was not used"
                )
                intro = [b for b in intro if b.kind in ("open", "close") or _in_note(intro, b)]
            sections = [_Section(None, structured=q) for q in structured] if missing else sections
        return sections, intro, closing, trailing

    def _mode(self, blocks: list[Block], structured: list[StructuredQuestion]) -> str:
        if structured:
            return "structured"
        kinds = {_marker_kind(b) for b in blocks if b.kind != "heading" or b.level > 0}
        if "summary" in kinds:
            return "details"
        if kinds & {"heading", "bold"}:
            return "headings"
        return "plain"

    def _questions(self, sections: list[_Section], closing: list[Block]) -> None:
        d = self.draft
        for i, section in enumerate(sections):
            last = i == len(sections) - 1
            if section.structured is not None:
                q = section.structured
                answer, cites, checks = self._answer(q.answer)
                cites = [*cites, *q.citations]
                question_text, question_checks = q.question, [*q.checks]
            else:
                assert section.marker is not None
                answer, cites, checks = self._answer(section.blocks)
                question_text, question_checks = section.marker.plain.strip(), section.checks
            if not answer.strip() and not cites:
                if last and not closing and d.closing is None:
                    d.closing = DraftClosing(
                        question_text,
                        checks=[
                            "the last question has no answer: it is the closing call to action"
                        ],
                    )
                else:
                    d.warnings.append(
                        f'"{question_text}" has no answer in {self.source_name}; left out'
                    )
                continue
            if not answer.strip():
                # An answer that is only a list of articles keeps the list as its text too.
                answer = "\n".join(f"- {mdtext.escape_inline(c.title)}" for c in cites) + "\n"
                checks.append("the answer is only a list of articles; the list is kept as text")
            question = DraftQuestion(question_text, answer, checks=question_checks)
            question.answer_checks += checks
            self._cite(cites, question.sources)
            d.questions.append(question)
        if not d.questions:
            raise HandoutsError(
                Problem(
                    d.source,
                    f"no question in {self.source_name} has an answer",
                    hint="each question needs at least a paragraph after it",
                )
            )

    # ------------------------------------------------------------ notices

    def _notices(self, intro: list[Block]) -> None:
        d = self.draft
        current: DraftNotice | None = None
        region_blocks: list[Block] | None = None
        region_kind = ""
        for block in intro:
            if block.kind == "open" and block.region.startswith("note-"):
                region_blocks, region_kind = [], block.region.removeprefix("note-")
                continue
            if block.kind == "close" and block.region.startswith("note-"):
                if region_blocks is not None:
                    text, cites, checks = self._answer(region_blocks)
                    if text.strip() or cites:
                        notice = DraftNotice(region_kind, text, checks=checks)
                        self._cite(cites, notice.sources)
                        d.notices.append(notice)
                region_blocks, current = None, None
                continue
            if block.kind in ("open", "close", "summary"):
                continue
            if region_blocks is not None:
                region_blocks.append(block)
                continue
            text, cites, checks = self._answer([block])
            if not text.strip():
                continue
            starts = _WARNING_START.match(block.plain) if block.kind == "para" else None
            if starts:
                current = DraftNotice(
                    "warning",
                    text,
                    checks=[f'a warning notice, because it begins with "{starts.group(1)}"'],
                )
                d.notices.append(current)
            elif current is None:
                current = DraftNotice(
                    "info",
                    text,
                    checks=[
                        f"text before the first question in {self.source_name}, kept as a "
                        "notice: delete it if it does not belong in the handout"
                    ],
                )
                d.notices.append(current)
            else:
                current.text = current.text.rstrip("\n") + "\n\n" + text
            current.checks += checks
            self._cite(cites, current.sources)

    # ------------------------------------------------------------ closing

    def _closing(self, closing: list[Block], trailing: list[Block]) -> None:
        d = self.draft
        content = [b for b in closing if b.kind not in ("open", "close")]
        if not content and trailing:
            first = trailing[0]
            if _marker_kind(first) and len(trailing) <= 3 and d.closing is None:
                d.closing = DraftClosing(
                    first.plain.strip(),
                    checks=["a question after the last answer: it is the closing call to action"],
                )
                text, _, _ = self._answer(trailing[1:])
                d.closing.text = text.strip() or None
                return
            left = " ".join(b.plain for b in trailing if b.plain)[:80]
            if left:
                d.warnings.append(f'text after the last question was left out: "{left}…"')
            return
        if not content:
            return
        heading_at = next(
            (
                i
                for i, b in enumerate(content)
                if b.kind in ("heading", "summary") or _marker_kind(b)
            ),
            None,
        )
        if heading_at is None:
            d.warnings.append("the closing section has no heading; left out")
            return
        text, _, _ = self._answer(content[heading_at + 1 :])
        d.closing = DraftClosing(content[heading_at].plain.strip(), text.strip() or None)

    # ------------------------------------------------------------ answers

    def _answer(self, blocks: list[Block]) -> tuple[str, list[cite.Citation], list[str]]:
        """Blocks → Markdown (paragraphs and lists), the articles it cites, and guesses."""
        parts: list[str] = []
        found: list[cite.Citation] = []
        checks: list[str] = []
        for i, block in enumerate(blocks):
            if block.kind in ("open", "close"):
                continue
            following = blocks[i + 1] if i + 1 < len(blocks) else None
            if (
                block.kind in ("para", "heading")
                and block.plain.strip().rstrip(":").strip().lower() in SOURCE_LABELS
                and following is not None
                and following.kind == "list"
                and all(self._item_citation(item) for item in following.items)
            ):
                continue
            if block.kind in ("heading", "summary", "subtitle"):
                text = block.plain.strip()
                if text and all(b.kind in ("open", "close") for b in blocks[i + 1 :]):
                    # A section heading right before the next question: handouts have no
                    # sections, and it is no part of this answer.
                    self.draft.warnings.append(f'the section heading "{text}" was left out')
                    continue
                if text:
                    parts.append(f"**{mdtext.escape_inline(text)}**")
                    checks.append(f'the heading "{_short(text)}" is kept as a bold line')
                continue
            if block.kind == "para":
                if block.markdown.strip():
                    parts.append(mdtext.protect_line_starts(block.markdown.strip()))
                for link in block.links:
                    if cite.is_citation_link(link.href):
                        fields, guesses = cite.link_fields(link.href)
                        title = link.text.strip()
                        title_checks = [*guesses]
                        if not title or title.lower() in cite.GENERIC_LINK_WORDS or "/" in title:
                            title = fields.get("doi") or f"PubMed {fields.get('pmid')}"
                            title_checks.append(
                                f"{self.source_name} gives no title for this article: write its "
                                "title"
                            )
                        title_checks.append("made from a link in the answer's text")
                        found.append(cite.Citation(title, fields, title_checks))
                continue
            if block.kind == "list":
                lines: list[str] = []
                number = 0
                for item in block.items:
                    citation = self._item_citation(item)
                    if citation is not None:
                        found.append(citation)
                        continue
                    if not item.markdown.strip():
                        continue
                    number += 1
                    marker = f"{number}." if block.ordered else "-"
                    lines.append(f"{marker} {item.markdown.strip()}")
                if any(item.depth for item in block.items):
                    checks.append("a nested list was flattened into one list")
                if lines:
                    parts.append("\n".join(lines))
        return ("\n\n".join(parts) + "\n") if parts else "", found, checks

    def _item_citation(self, item: Item) -> cite.Citation | None:
        if item.cite:  # the title is marked up as such; the link, if any, is the article's
            links = [link for link in item.links if mdtext.allowed_link(link.href)]
            fields, checks = cite.link_fields(links[0].href) if links else ({}, [])
            return cite.Citation(item.cite, dict(fields), list(checks))
        plain = item.plain.strip()
        title, had_marker = cite.strip_read_here(plain)
        cite_links = [link for link in item.links if cite.is_citation_link(link.href)]
        generic = [
            link
            for link in item.links
            if link.text.strip().lower() in cite.GENERIC_LINK_WORDS
            and mdtext.allowed_link(link.href)
        ]
        in_text = cite.text_fields(plain)
        if not (had_marker or cite_links or generic or in_text):
            return None
        fields: dict[str, object] = {}
        checks: list[str] = []
        link = (cite_links or generic or [None])[0]
        if link is not None:
            fields, checks = cite.link_fields(link.href)
            fields = dict(fields)
            for other in item.links:
                if other.text.strip().lower() in cite.GENERIC_LINK_WORDS:
                    title = cite.strip_read_here(title.replace(other.text.strip(), "").strip())[0]
        for key, value in in_text.items():
            fields.setdefault(key, value)
        link_words = link.text.strip() if link is not None else ""
        if (
            link_words
            and link_words.lower() not in cite.GENERIC_LINK_WORDS
            and "://" not in link_words
            and not cite.DOI.search(link_words)
        ):
            rest = cite.remove_identifiers(plain.replace(link_words, " "))
            title = link_words
            checks.append("the title is the link's words: write the article's full title")
            if rest:
                fields["note"] = f"Cited in the source as: {plain}"
                checks.append("the title is the link's words; the whole line is in note:")
        title = cite.remove_identifiers(title).strip(" ()[]")
        if not title:
            title = str(fields.get("doi") or f"PubMed {fields.get('pmid')}")
            checks.append(f"{self.source_name} gives no title for this article: write its title")
        return cite.Citation(title, fields, checks)

    # ------------------------------------------------------------ references

    def _cite(self, found: list[cite.Citation], sources: list[str]) -> None:
        """Record the articles a notice or answer cites; the same title cited twice is one
        reference. ``sources`` gets placeholders that _references turns into ids."""
        for citation in found:
            key = cite.title_key(citation.title)
            index = next(
                (
                    i
                    for i, known in enumerate(self._citations)
                    if cite.title_key(known.title) == key
                ),
                None,
            )
            if index is None:
                index = len(self._citations)
                self._citations.append(citation)
            if f"@{index}" not in sources:
                sources.append(f"@{index}")

    def _references(self) -> None:
        taken: set[str] = set()
        ids: dict[str, str] = {}
        for index, citation in enumerate(self._citations):
            ref_id = cite.reference_id(citation.title, taken)
            ids[f"@{index}"] = ref_id
            self.draft.references.append(
                DraftReference(ref_id, citation.title, dict(citation.fields), list(citation.checks))
            )
        for holder in (*self.draft.notices, *self.draft.questions):
            holder.sources = [ids[s] for s in holder.sources]


def _first_content(blocks: list[Block]) -> int:
    return next((i for i, b in enumerate(blocks) if b.kind not in ("open", "close")), 0)


def _in_note(blocks: list[Block], block: Block) -> bool:
    depth = 0
    for b in blocks:
        if b.kind == "open" and b.region.startswith("note-"):
            depth += 1
        elif b.kind == "close" and b.region.startswith("note-"):
            depth -= 1
        elif b is block:
            return depth > 0
    return False


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"
