"""HTML pages: schema.org FAQPage JSON-LD first, then microdata, then ``<details>``/``<summary>``,
then headings (or bold lines) ending in "?". Answers are reduced to the Markdown subset
handouts allow: paragraphs, bold, italic, lists, line breaks and https/mailto/tel links.

The page is hostile until proven otherwise (docs/importing.md, security item 39): scripts,
styles, iframes, forms, images (tracking pixels), navigation and hidden text are dropped; links
other than https, http, mailto and tel are dropped (their words kept). Parsing is lxml's
(libxml2, in C, linear time; it stops at 256 levels of nesting), and every walk here is
iterative with a depth cap and an element budget, so time and memory stay bounded.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

from . import citations as cite
from . import mdtext
from .outline import Block, Item, Link, Outline, StructuredQuestion
from .source import MIB, clean_text, decode, read_bytes

MAX_BYTES = 8 * MIB  # a saved page with its styles inlined; the FAQ itself is far smaller
MAX_DEPTH = 200  # elements nested deeper are dropped (libxml2 itself stops at 256)
MAX_ELEMENTS = 20_000  # elements read per page (skipped navigation is not counted); a FAQ
# page of 300 questions has about 3,000; the handout it makes may be 1 MB at most
MAX_JSON_BYTES = 1 * MIB  # one JSON-LD block
MAX_JSON_NODES = 100_000
MAX_JSON_DEPTH = 64

_DROP = {
    "script", "style", "noscript", "template", "iframe", "frame", "frameset", "object",
    "embed", "applet", "svg", "math", "canvas", "video", "audio", "source", "track",
    "picture", "img", "image", "map", "area", "form", "input", "button", "select",
    "textarea", "option", "optgroup", "datalist", "nav", "header", "footer", "link", "meta",
    "base", "head", "title", "dialog", "param", "output", "progress", "meter", "address",
    "portal", "slot", "search",
}  # fmt: skip
# Void elements: they never have content, so anything the parser hung under one (libxml2
# does not know all of HTML5's) is the page's own content and is still read.
_VOID = {
    "embed", "source", "track", "param", "img", "image", "input", "area", "base", "link",
    "meta", "wbr", "col", "keygen",
}  # fmt: skip
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCKS = {
    "p", "div", "section", "article", "main", "body", "blockquote", "pre", "figure",
    "figcaption", "dl", "dt", "dd", "table", "thead", "tbody", "tfoot", "tr", "caption",
    "center", "hgroup", "fieldset", "legend", "hr", "aside", "html", "li", "ul", "ol",
}  # fmt: skip
_BOLD = {"b", "strong"}
_ITALIC = {"i", "em"}
_NOTE_CLASSES = {"notice", "note", "alert", "warning", "callout", "caution", "important"}
_WARNING_CLASSES = {"warning", "alert", "caution", "important", "danger", "notice-warning"}
_UNSAFE_SCHEMES = ("javascript:", "data:", "vbscript:", "file:")


def read(path: Path, display: str, warnings: list[str]) -> Outline:
    text = decode(read_bytes(path, MAX_BYTES, display, "page"), display, warnings)
    return outline_of(text, display, warnings)


def outline_of(text: str, display: str, warnings: list[str]) -> Outline:
    """An HTML document (text) → the outline, with its structured questions if it has any."""
    root, parse_notes = parse(text)
    warnings += [f"{display}: {note}" for note in parse_notes]
    page = _Page(root, warnings, display)
    structured = page.json_ld() or page.microdata()
    main = page.main()
    walker = _Walker(page)
    walker.walk(main)
    blocks = walker.blocks
    fallback = page.fallback_title(main)
    page.report()
    return Outline(blocks, structured, fallback, page.language())


def parse(text: str) -> tuple[lxml.html.HtmlElement, list[str]]:
    """Parse a whole document with lxml; notes say what the parser had to cut."""
    parser = lxml.html.HTMLParser(encoding="utf-8", no_network=True, remove_comments=True)
    data = text.encode("utf-8") or b"<html></html>"
    try:
        root = lxml.html.document_fromstring(data, parser=parser)
    except (lxml.etree.ParserError, ValueError):
        root = lxml.html.document_fromstring(b"<html><body></body></html>", parser=parser)
    notes = []
    for error in parser.error_log:
        if "depth" in error.message.lower():
            notes.append(
                f"line {error.line}, column {error.column}: elements are nested more than 256 "
                "deep (a broken or hostile page); nothing after that point was read"
            )
            break
    return root, notes


def fragment_blocks(html_text: str, page: _Page) -> list[Block]:
    """An HTML fragment (a JSON-LD answer) → blocks; text without tags keeps its paragraphs."""
    html_text = clean_text(html_text)
    if "<" not in html_text:
        from .text import outline as text_outline

        return [b for b in text_outline("title\n\n" + html_text)[1:]]
    root, _ = parse(f"<html><body><div>{html_text}</div></body></html>")
    walker = _Walker(page)
    walker.walk(root.find("body") if root.find("body") is not None else root)
    return walker.blocks


# ---------------------------------------------------------------- the page as a whole


def _classes(element: Any) -> set[str]:
    return set((element.get("class") or "").lower().split())


def _hidden(element: Any) -> bool:
    if element.get("hidden") is not None or element.get("aria-hidden", "").lower() == "true":
        return True
    style = (element.get("style") or "").replace(" ", "").lower()
    return "display:none" in style or "visibility:hidden" in style


def _tag(element: Any) -> str:
    tag = element.tag
    return tag.lower() if isinstance(tag, str) else ""


def plain_text(element: Any, limit: int = 2000) -> str:
    """The visible words of a small element (a title, a summary), iteratively and bounded."""
    parts: list[str] = []
    stack = [(element, 0)]
    size = 0
    while stack and size < limit:
        node, depth = stack.pop()
        if isinstance(node, str):
            parts.append(node)
            size += len(node)
            continue
        if depth > MAX_DEPTH or (depth and _tag(node) in _DROP) or _hidden(node):
            continue
        if node.text:
            parts.append(node.text)
            size += len(node.text)
        for child in reversed(node):
            if child.tail:
                stack.append((child.tail, depth))
            stack.append((child, depth + 1))
    return " ".join(clean_text("".join(parts)).split())


class _Page:
    """The parsed document: where its main content is, its structured data, and a tally of
    what was dropped for the warnings."""

    def __init__(self, root: Any, warnings: list[str], display: str) -> None:
        self.root = root
        self.warnings = warnings
        self.display = display
        self.dropped: Counter[str] = Counter()
        self.base = self._base_url()
        # Collapsed accordion panels are hidden until a button opens them: their ids are in
        # the buttons' aria-controls. They are the answers, not hidden text.
        self.panels = {
            name for value in root.xpath("//@aria-controls")[:10_000] for name in str(value).split()
        }

    def collapsed_panel(self, element: Any) -> bool:
        return (element.get("id") or "") in self.panels or "collapse" in _classes(element)

    def _base_url(self) -> str | None:
        """Where relative links point: <base href>, the canonical address or og:url (https)."""
        candidates = [
            *self.root.xpath("//base/@href"),
            *self.root.xpath("//link[@rel='canonical']/@href"),
            *self.root.xpath("//meta[@property='og:url']/@content"),
        ]
        for url in candidates[:3]:
            parts = urlsplit(str(url).strip())
            if parts.scheme == "https" and parts.hostname:
                return str(url).strip()
        return None

    def language(self) -> str | None:
        lang = (self.root.get("lang") or "").strip()
        return lang or None

    def main(self) -> Any:
        body = self.root.find("body")
        for query in ("//main", "//*[@role='main']"):
            found = self.root.xpath(query)
            if found:
                return found[0]
        articles = self.root.xpath("//article")
        if len(articles) == 1:
            return articles[0]
        return body if body is not None else self.root

    def fallback_title(self, main: Any) -> tuple[str, str] | None:
        for h1 in self.root.xpath("//h1")[:5]:
            if not _inside(h1, main) and (text := plain_text(h1)):
                return text, "the page's main heading"
        og = self.root.xpath("//meta[@property='og:title']/@content")
        if og and (text := " ".join(clean_text(str(og[0])).split())):
            return text, "the page's og:title"
        title = self.root.find(".//title")
        if title is not None and (text := plain_text(title)):
            return text, "the page's <title>"
        return None

    def href(self, raw: str | None) -> str | None:
        """A link target the handout may keep, or None (the words stay; the link goes)."""
        href = clean_text(raw or "").strip()
        if not href or href.startswith("#"):
            return None
        if href.lower().replace(" ", "").startswith(_UNSAFE_SCHEMES):
            self.dropped["unsafe link"] += 1
            return None
        if not urlsplit(href).scheme:
            if not self.base:
                self.dropped["relative link"] += 1
                return None
            href = urljoin(self.base, href)
        if not mdtext.allowed_link(href):
            self.dropped["unsafe link"] += 1
            return None
        return href

    def report(self) -> None:
        words = {
            "unsafe link": "link(s) to javascript:, data: or other non-web addresses removed",
            "relative link": "link(s) without a web address (relative to the page) kept as "
            "plain text",
            "script": "script(s), style sheet(s) and embedded object(s) dropped",
            "image": "image(s) dropped (handout text has no images)",
            "hidden": "hidden element(s) dropped",
            "deep": f"element(s) nested more than {MAX_DEPTH} deep dropped",
            "budget": f"the page has more than {MAX_ELEMENTS:,} elements; the rest was not read",
            "json": "JSON-LD block(s) that could not be read",
        }
        for key, text in words.items():
            if n := self.dropped[key]:
                count = "" if key == "budget" else f"{n} "
                self.warnings.append(f"{self.display}: {count}{text}")

    # ------------------------------------------------------------ structured data

    def json_ld(self) -> list[StructuredQuestion]:
        found: list[StructuredQuestion] = []
        for script in self.root.xpath("//script[@type]"):
            kind = script.get("type", "").split(";")[0].strip().lower()
            if kind != "application/ld+json":
                continue
            text = script.text or ""
            if len(text) > MAX_JSON_BYTES:
                self.dropped["json"] += 1
                continue
            try:
                data = json.loads(text)
            except (ValueError, RecursionError):
                self.dropped["json"] += 1
                continue
            for page in _json_nodes(data, "FAQPage"):
                entities = page.get("mainEntity") or page.get("hasPart") or []
                for entity in entities if isinstance(entities, list) else [entities]:
                    if isinstance(entity, dict) and (q := self._json_question(entity)):
                        found.append(q)
        return found

    def _json_question(self, entity: dict[str, Any]) -> StructuredQuestion | None:
        name = entity.get("name") or entity.get("text")
        if not isinstance(name, str) or not _types(entity) & {"Question"}:
            return None
        checks: list[str] = []
        answer = _first(entity.get("acceptedAnswer"))
        if answer is None:
            answer = _first(entity.get("suggestedAnswer"))
            if answer is not None:
                checks.append("the page marks this answer as suggested, not accepted")
        text = answer.get("text") if isinstance(answer, dict) else None
        if not isinstance(text, str) or not text.strip():
            return None
        question = " ".join(clean_text(_strip_tags(name)).split())
        blocks = fragment_blocks(text, self)
        citations = []
        for holder in (answer, entity):
            for item in _as_list(holder.get("citation")):
                if citation := self._json_citation(item):
                    citations.append(citation)
        return StructuredQuestion(question, blocks, citations, checks)

    def _json_citation(self, item: Any) -> cite.Citation | None:
        if isinstance(item, str):
            title = " ".join(clean_text(item).split())
            return cite.Citation(title) if title else None
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            return None
        title = " ".join(clean_text(item["name"]).split())
        fields: dict[str, Any] = {}
        checks: list[str] = []
        for key in ("url", "sameAs"):
            if isinstance(item.get(key), str) and (href := self.href(item[key])):
                fields, checks = cite.link_fields(href)
                fields = dict(fields)
                break
        identifier = item.get("identifier") or item.get("doi")
        if isinstance(identifier, str):
            for key, value in cite.text_fields(identifier).items():
                fields.setdefault(key, value)
        return cite.Citation(title, fields, checks) if title else None

    def microdata(self) -> list[StructuredQuestion]:
        found: list[StructuredQuestion] = []
        scopes = self.root.xpath("//*[@itemscope][contains(@itemtype, 'schema.org/Question')]")
        for scope in scopes[:1000]:
            name_el = _prop(scope, "name")
            answer_el = _prop(scope, "acceptedAnswer")
            checks: list[str] = []
            if answer_el is None:
                answer_el = _prop(scope, "suggestedAnswer")
                checks.append("the page marks this answer as suggested, not accepted")
            text_el = _prop(answer_el, "text") if answer_el is not None else None
            if name_el is None or text_el is None:
                continue
            question = name_el.get("content") or plain_text(name_el)
            walker = _Walker(self)
            walker.walk(text_el)
            if question and walker.blocks:
                found.append(StructuredQuestion(question, walker.blocks, [], checks))
        return found


def _inside(element: Any, ancestor: Any) -> bool:
    node, steps = element, 0
    while node is not None and steps <= 300:
        if node is ancestor:
            return True
        node, steps = node.getparent(), steps + 1
    return False


def _prop(scope: Any, name: str) -> Any:
    """The first element with ``itemprop=name`` that belongs to ``scope`` (not to a scope
    nested inside it)."""
    for element in scope.iterdescendants():
        if name not in (element.get("itemprop") or "").split():
            continue
        owner, steps = element.getparent(), 0
        while owner is not None and owner is not scope and owner.get("itemscope") is None:
            owner, steps = owner.getparent(), steps + 1
            if steps > MAX_DEPTH:
                break
        if owner is scope:
            return element
    return None


def _types(node: dict[str, Any]) -> set[str]:
    kinds = node.get("@type")
    values = kinds if isinstance(kinds, list) else [kinds]
    return {str(k).rsplit("/", 1)[-1] for k in values if isinstance(k, str)}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _first(value: Any) -> dict[str, Any] | None:
    for item in _as_list(value):
        if isinstance(item, dict):
            return item
    return None


def _json_nodes(data: Any, kind: str) -> list[dict[str, Any]]:
    """Every object of @type ``kind`` in parsed JSON-LD, found without recursion."""
    found = []
    stack: list[tuple[Any, int]] = [(data, 0)]
    seen = 0
    while stack and seen < MAX_JSON_NODES:
        node, depth = stack.pop()
        seen += 1
        if depth > MAX_JSON_DEPTH:
            continue
        if isinstance(node, dict):
            if kind in _types(node):
                found.append(node)
                continue
            stack += [(v, depth + 1) for v in reversed(list(node.values()))]
        elif isinstance(node, list):
            stack += [(v, depth + 1) for v in reversed(node)]
    return found


def _strip_tags(text: str) -> str:
    if "<" not in text:
        return text
    root, _ = parse(f"<html><body><div>{text}</div></body></html>")
    return plain_text(root)


# ---------------------------------------------------------------- the walk


@dataclass
class _Frame:
    kind: str  # bold | italic | link
    href: str | None = None
    parts: list[str] = field(default_factory=list)
    plain: list[str] = field(default_factory=list)


class _Inline:
    """The paragraph being read: Markdown with its emphasis and links, and its plain words."""

    def __init__(self) -> None:
        self.frames: list[_Frame] = [_Frame("root")]
        self.links: list[Link] = []
        self.bold_chars = 0
        self.other_chars = 0

    def text(self, text: str) -> None:
        text = re.sub(r"\s+", " ", text)
        if not text:
            return
        frame = self.frames[-1]
        frame.parts.append(mdtext.escape_inline(text))
        frame.plain.append(text)
        visible = len(text.strip())
        if any(f.kind == "bold" for f in self.frames):
            self.bold_chars += visible
        else:
            self.other_chars += visible

    def hard_break(self) -> None:
        self.frames[-1].parts.append("\\\n")
        self.frames[-1].plain.append("\n")

    def open(self, kind: str, href: str | None = None) -> None:
        active = {f.kind for f in self.frames}
        if kind in active:  # bold inside bold, a link inside a link: nothing new
            kind = "none"
        self.frames.append(_Frame(kind, href))

    def close(self) -> None:
        if len(self.frames) == 1:
            return
        frame = self.frames.pop()
        inner, plain = "".join(frame.parts), "".join(frame.plain)
        parent = self.frames[-1]
        parent.plain.append(plain)
        core = inner.strip()
        if not core or frame.kind == "none" or "\n" in core:
            parent.parts.append(inner)
            return
        lead = inner[: len(inner) - len(inner.lstrip())]
        trail = inner[len(inner.rstrip()) :]
        if frame.kind == "bold":
            wrapped = f"**{core}**"
        elif frame.kind == "italic":
            wrapped = f"*{core}*"
        else:
            assert frame.href is not None
            wrapped = mdtext.link(core, frame.href)
            self.links.append(Link(frame.href, " ".join(plain.split())))
        parent.parts.append(f"{lead}{wrapped}{trail}")

    def flush(self) -> tuple[str, str, bool, list[Link]] | None:
        """Close the paragraph: (Markdown, plain text, bold throughout, links), or None if it
        holds no words. Emphasis still open carries over to the next paragraph."""
        open_kinds = [(f.kind, f.href) for f in self.frames[1:]]
        while len(self.frames) > 1:
            self.close()
        root = self.frames[0]
        markdown = _trim_breaks("".join(root.parts))
        plain = " ".join("".join(root.plain).split())
        bold = self.bold_chars > 0 and self.other_chars == 0
        links = self.links
        self.frames = [_Frame("root")]
        self.links, self.bold_chars, self.other_chars = [], 0, 0
        for kind, href in open_kinds:
            self.frames.append(_Frame(kind, href))
        if not plain:
            return None
        return markdown, plain, bold, links


def _trim_breaks(markdown: str) -> str:
    markdown = markdown.strip()
    while markdown.endswith("\\"):
        markdown = markdown[:-1].rstrip()
    while markdown.startswith("\\\n"):
        markdown = markdown[2:].lstrip()
    # Dropped elements leave doubled spaces; two spaces never mean a line break here.
    return "\n".join(re.sub(" {2,}", " ", line.strip()) for line in markdown.split("\n"))


class _Walker:
    """Walks an element (iteratively) and appends blocks in reading order."""

    def __init__(self, page: _Page) -> None:
        self.page = page
        self.blocks: list[Block] = []
        self.inline = _Inline()
        self.lists: list[dict[str, Any]] = []  # open lists: items, ordered, depth
        self.in_item = 0  # li elements open
        self.capture: list[str] = []  # heading, summary or subtitle being read
        self.item_cite = ""  # the <cite> of the list item being read
        self.visited = 0

    def walk(self, top: Any) -> None:
        stack: list[tuple[str, Any, int]] = [("enter", top, 0)]
        while stack:
            phase, node, depth = stack.pop()
            if phase == "text":
                self.inline.text(node)
                continue
            if phase == "exit":
                self._exit(node)
                continue
            self.visited += 1
            if self.visited > MAX_ELEMENTS:
                self.page.dropped["budget"] = 1
                break
            if self._skip(node, depth):
                if _tag(node) in _VOID:
                    for child in reversed(node):
                        if child.tail:
                            stack.append(("text", child.tail, depth))
                        stack.append(("enter", child, depth + 1))
                continue
            self._enter(node)
            stack.append(("exit", node, depth))
            for child in reversed(node):
                if child.tail:
                    stack.append(("text", child.tail, depth))
                stack.append(("enter", child, depth + 1))
            if node.text:
                stack.append(("text", node.text, depth))
        self._flush()
        while self.lists:
            self._end_list()

    def _skip(self, node: Any, depth: int) -> bool:
        tag = _tag(node)
        if not tag:
            return True  # a comment or processing instruction
        if depth > MAX_DEPTH:
            self.page.dropped["deep"] += 1
            return True
        if tag == "button" and self.capture:
            return False  # an accordion's question: <h3><button>Question?</button></h3>
        if tag in _DROP:
            if tag in ("img", "image", "picture"):
                self.page.dropped["image"] += 1
            elif tag in ("script", "style", "iframe", "object", "embed", "applet", "frame"):
                self.page.dropped["script"] += 1
            return True
        if _hidden(node) and not self.page.collapsed_panel(node):
            self.page.dropped["hidden"] += 1
            return True
        return tag == "aside" and self._region(node) is None  # a sidebar

    def _region(self, node: Any) -> str | None:
        classes = _classes(node)
        role = (node.get("role") or "").lower()
        if "closing" in classes:
            return "closing"
        if role == "alert" or classes & _WARNING_CLASSES:
            return "note-warning"
        if role == "note" or classes & _NOTE_CLASSES:
            return "note-info"
        return None

    # ------------------------------------------------------------ enter and exit

    def _enter(self, node: Any) -> None:
        tag = _tag(node)
        node_region = self._region(node) if tag in ("aside", "div", "section") else None
        if node_region:
            self._flush()
            self.blocks.append(Block("open", region=node_region))
        if tag in _HEADINGS or tag == "summary" or self._is_subtitle(node):
            self._flush()
            self.capture.append(tag)
        elif tag == "details":
            self._flush()
            self.blocks.append(Block("open", region="details"))
        elif tag in ("ul", "ol"):
            self._list_item_end()
            self._flush()
            depth = len(self.lists)
            self.lists.append({"items": [], "ordered": tag == "ol", "depth": depth})
        elif tag == "li":
            self._list_item_end()
            self.in_item += 1
        elif tag == "br":
            self.inline.hard_break()
        elif tag in ("td", "th"):
            self.inline.text(" ")
        elif tag in _BLOCKS:
            if self.in_item:
                self.inline.text(" ")  # a paragraph inside a list item: the item goes on
            else:
                self._flush()
        elif tag in _BOLD:
            self.inline.open("bold")
        elif tag in _ITALIC:
            self.inline.open("italic")
        elif tag == "a":
            href = self.page.href(node.get("href"))
            self.inline.open("link" if href else "none", href)
        elif tag == "cite" and self.in_item and not self.item_cite:
            self.item_cite = plain_text(node)

    def _exit(self, node: Any) -> None:
        tag = _tag(node)
        if tag in _HEADINGS or tag == "summary" or self._is_subtitle(node):
            kind = self.capture.pop() if self.capture else tag
            flushed = self.inline.flush()
            if flushed:
                markdown, plain, _bold, _links = flushed
                if kind == "summary":
                    self.blocks.append(Block("summary", markdown, plain))
                elif kind in _HEADINGS:
                    self.blocks.append(Block("heading", markdown, plain, level=_HEADINGS[kind]))
                else:
                    self.blocks.append(Block("subtitle", markdown, plain))
        elif tag == "details":
            self._flush()
            self.blocks.append(Block("close", region="details"))
        elif tag in ("ul", "ol"):
            self._list_item_end()
            if self.lists:
                self._end_list()
        elif tag == "li":
            self._list_item_end()
            self.in_item = max(0, self.in_item - 1)
        elif tag in _BLOCKS and not self.in_item:
            self._flush()
        elif tag in _BOLD or tag in _ITALIC or tag == "a":
            self.inline.close()
        node_region = self._region(node) if tag in ("aside", "div", "section") else None
        if node_region:
            self._flush()
            self.blocks.append(Block("close", region=node_region))

    def _is_subtitle(self, node: Any) -> bool:
        if _tag(node) not in ("p", "div", "span"):
            return False
        parent = node.getparent()
        return "subtitle" in _classes(node) or (parent is not None and _tag(parent) == "hgroup")

    # ------------------------------------------------------------ paragraphs and lists

    def _flush(self) -> None:
        if self.capture:
            return  # a heading's own words are read when it closes
        flushed = self.inline.flush()
        if flushed is None:
            return
        markdown, plain, bold, links = flushed
        if self.lists:  # loose words inside a list, outside any item: an item of their own
            self.lists[-1]["items"].append(Item(markdown, plain, links, self.lists[-1]["depth"]))
            return
        single = "\n" not in markdown
        self.blocks.append(
            Block("para", markdown, plain, bold=bold, links=links, single_line=single)
        )

    def _list_item_end(self) -> None:
        if not self.lists:
            return
        flushed = self.inline.flush()
        cited, self.item_cite = self.item_cite, ""
        if flushed is None:
            return
        markdown, plain, _bold, links = flushed
        markdown = " ".join(markdown.replace("\\\n", " ").split())
        top = self.lists[-1]
        top["items"].append(Item(markdown, plain, links, top["depth"], cited))

    def _end_list(self) -> None:
        done = self.lists.pop()
        if self.lists:  # a nested list: its items join the list around it
            self.lists[-1]["items"].extend(done["items"])
            return
        if done["items"]:
            self.blocks.append(Block("list", items=done["items"], ordered=done["ordered"]))
