"""Cited articles: DOIs and PubMed ids found in links and text, reference ids, and the titles →
links filled from a references file (``--references refs.yaml``).

Nothing is made up: a field is set only from the source or from the references file, and an
article that neither links stays without a link.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import ValidationError

from ..errors import HandoutsError, Problem
from ..models import Reference
from ..yamlio import format_key, load_yaml
from .draft import REFERENCE_FIELDS, DraftReference

DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+)")
_DOI_TAIL = re.compile(r"[.,;:)\]]+$")
_URL_DOI_SUFFIX = re.compile(r"/(?:full|abstract|pdf|epdf|html|fulltext|meta)$", re.I)
_PMID_TEXT = re.compile(r"\bPMID:?\s*(\d{1,12})\b", re.I)
_DOI_HOSTS = {"doi.org", "dx.doi.org", "www.doi.org"}
_PUBMED = re.compile(
    r"^(?:https?://)?(?:www\.)?(?:pubmed\.ncbi\.nlm\.nih\.gov/|ncbi\.nlm\.nih\.gov/pubmed/)(\d{1,12})"
)
# Link words that say nothing about the article: its title is the rest of the line.
GENERIC_LINK_WORDS = {
    "read here",
    "read more",
    "here",
    "link",
    "full text",
    "article",
    "pdf",
    "view",
    "view article",
    "source",
    "read the article",
    "read article",
    "abstract",
}
_READ_HERE = re.compile(r"\s*[(\[]\s*(read here|read more|link|full text)\s*[)\]]\s*$", re.I)
_STOP = {"a", "an", "the", "of", "on", "in", "and", "for", "to", "with", "its", "their", "is"}


@dataclass
class Citation:
    """An article as the source cites it."""

    title: str
    fields: dict[str, Any] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)


def strip_read_here(text: str) -> tuple[str, bool]:
    """``Title (Read Here)`` → (``Title``, True)."""
    stripped = _READ_HERE.sub("", text)
    return stripped.strip(), stripped != text


def clean_doi(text: str) -> str:
    return _DOI_TAIL.sub("", unquote(text).strip())


def link_fields(href: str) -> tuple[dict[str, Any], list[str]]:
    """What a link says about an article: its DOI, PubMed id or web address (and guesses)."""
    href = href.strip()
    parts = urlsplit(href)
    host = (parts.hostname or "").lower()
    if host in _DOI_HOSTS and DOI.search(unquote(parts.path)):
        return {"doi": clean_doi(parts.path.lstrip("/"))}, []
    if match := _PUBMED.match(href):
        return {"pmid": match.group(1)}, []
    path = _URL_DOI_SUFFIX.sub("", unquote(parts.path))
    if match := DOI.search(path):
        doi = clean_doi(match.group(1))
        return {"doi": doi, "url": href}, [
            f"the DOI {doi} was read from the web address: confirm it"
        ]
    return {"url": href}, []


def text_fields(text: str) -> dict[str, Any]:
    """A DOI or PubMed id written out in ``text``."""
    found: dict[str, Any] = {}
    if match := DOI.search(text):
        found["doi"] = clean_doi(match.group(1))
    if match := _PMID_TEXT.search(text):
        found["pmid"] = match.group(1)
    return found


def is_citation_link(href: str) -> bool:
    fields, _ = link_fields(href)
    return "doi" in fields or "pmid" in fields


def remove_identifiers(text: str) -> str:
    """The title left when DOIs, PMIDs and addresses are taken out of a citation line."""
    text = re.sub(r"https?://\S+", "", text)
    text = re.sub(r"\bdoi:?\s*", "", text, flags=re.I)
    text = DOI.sub("", text)
    text = _PMID_TEXT.sub("", text)
    text = re.sub(r"[(\[]\s*[)\]]", "", text)
    return re.sub(r"\s+", " ", text).strip(" .,;:-\u2013\u2014")


# ---------------------------------------------------------------- ids


def _ascii_words(text: str) -> list[str]:
    """Words in plain ASCII: accents dropped, any other character a separator."""
    found = []
    for word in re.findall(r"\w+", unicodedata.normalize("NFKD", text).lower()):
        found += re.findall(r"[a-z0-9]+", word.encode("ascii", "ignore").decode())
    return found


def reference_id(title: str, taken: set[str]) -> str:
    """A short, readable id from the title's first words: ``exosomal-therapy-new-frontier``."""
    found = [w for w in _ascii_words(title) if w not in _STOP] or _ascii_words(title) or ["ref"]
    base = "-".join(found[:4])[:48].strip("-") or "ref"
    candidate, n = base, 2
    while candidate in taken:
        candidate = f"{base}-{n}"
        n += 1
    taken.add(candidate)
    return candidate


def title_key(title: str) -> str:
    """Titles compare equal whatever their case, dashes, quotes and spacing."""
    return " ".join(re.findall(r"\w+", unicodedata.normalize("NFKC", title).casefold()))


# ---------------------------------------------------------------- references file


@dataclass
class KnownArticle:
    title: str
    fields: dict[str, Any]
    where: str  # file:line, for messages


def load_references(path: Path, display: str | None = None) -> tuple[list[KnownArticle], list[str]]:
    """Every entry with a ``title`` in a references file shaped like the shared one (lists of
    articles under any top-level keys). Fields that would not pass the handout's own checks
    are skipped with a warning; null fields are absent."""
    display = display or str(path)
    doc = load_yaml(path, display)
    known: list[KnownArticle] = []
    warnings: list[str] = []
    for key, entries in doc.data.items():
        if not isinstance(entries, list):
            continue
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("title"), str):
                continue
            where = f"{display}:{doc.mark((key, i)).line}"
            fields: dict[str, Any] = {}
            for name in REFERENCE_FIELDS:
                value = entry.get(name)
                if value is None or name == "note":
                    continue
                try:
                    Reference.model_validate({"id": "x", "title": entry["title"], name: value})
                except ValidationError as exc:
                    mark = doc.mark((key, i, name))
                    reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
                    warnings.append(
                        f"{display}:{mark.line} {format_key((key, i, name))}: skipped ({reason})"
                    )
                    continue
                fields[name] = value
            known.append(KnownArticle(entry["title"].strip(), fields, where))
    if not known:
        raise HandoutsError(
            Problem(
                display,
                "no articles found",
                hint="list them as `- title: ...` entries with doi:, pmid: or url: under a key "
                "such as `articles:`",
            )
        )
    return known, warnings


def fill_from_known(
    refs: list[DraftReference], known: list[KnownArticle], source_name: str
) -> list[str]:
    """Fill each reference's missing fields from the article of the same title; return warnings.
    A link the source gave is kept; a different one in the file is reported, not applied."""
    by_title = {title_key(k.title): k for k in known}
    warnings: list[str] = []
    for ref in refs:
        match = by_title.get(title_key(ref.title))
        if match is None:
            if not ref.has_link:
                ref.checks.append(
                    f"no link: {source_name} gives none and the references file does not list "
                    "it. Add doi:, pmid: or url: only if you can confirm one"
                )
            continue
        for name, value in match.fields.items():
            current = ref.fields.get(name)
            if current is None:
                ref.fields[name] = value
            elif str(current).lower() != str(value).lower():
                warnings.append(
                    f"'{ref.title}': the source gives {name} {current}, {match.where} gives "
                    f"{value}; the source's was kept"
                )
                ref.checks.append(f"the references file gives another {name}: {value}")
        if ref.fields.get("url") and ref.fields.get("doi") and "doi.org/" in ref.fields["url"]:
            del ref.fields["url"]  # the DOI makes the same link
        if not ref.has_link:
            ref.checks.append(
                f"no link: neither {source_name} nor {match.where} confirms one. Add doi:, pmid: "
                "or url: only if you can confirm one"
            )
    return warnings


def unlinked_check(source_name: str) -> str:
    return (
        f"no link: {source_name} gives none. Add doi:, pmid: or url: only if you can confirm "
        "one (import --references FILE fills links from a references file)"
    )
