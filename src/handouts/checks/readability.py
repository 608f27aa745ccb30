"""Reading level: grades for English (SMOG, Flesch-Kincaid), ease scores for Spanish
(Fernández-Huerta, Szigriszt-Pazos), long sentences, and words with a plainer alternative.

The formulas are applied here to our own counts (sentences from the Markdown's paragraphs and
list items, syllables from syllables.py) so that the sentences we count are the sentences we
name in warnings; docs/checks.md gives each formula and its source.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from typing import Literal

from ..errors import Problem
from ..markup import blocks
from ..project import LoadedHandout, Project
from ..yamlio import KeyPath, format_key
from .registry import CheckContext, check
from .report import Finding, HandoutReadability, TextScore
from .syllables import COUNTERS
from .text import Locator, phrase_pattern, sentences, words

LONG_SENTENCE = 25  # words; plain-language guides advise 15-20 on average, 25 at most
HARDEST_SHOWN = 3  # answers named in a grade warning

# Words patients stumble on, each with the plainer word to use (after the US Federal Plain
# Language Guidelines' word list and CDC's "Everyday Words for Public Health Communication").
# A project adds its own in handouts.yaml under `plain_language:`.
PLAIN_WORDS: dict[str, str] = {
    "administer": "give",
    "approximately": "about",
    "utilize": "use",
    "utilization": "use",
    "numerous": "many",
    "physiological": "of the body",
    "pathological": "caused by disease",
    "commence": "start",
    "initiate": "start",
    "terminate": "end",
    "facilitate": "help",
    "assist": "help",
    "sufficient": "enough",
    "subsequently": "later",
    "prior to": "before",
    "in order to": "to",
    "demonstrate": "show",
    "indicate": "show",
    "additional": "more",
    "modify": "change",
    "obtain": "get",
    "regarding": "about",
    "purchase": "buy",
    "adverse event": "side effect",
    "adverse": "harmful",
    "ambulate": "walk",
    "hypertension": "high blood pressure",
    "topically": "on the skin",
    "intravenously": "into a vein",
    "comprehend": "understand",
    "implicated": "linked",
    "inquire": "ask",
}

# Fernández-Huerta ease → level, from the scale published with the corrected formula
# (legible.es, "Lecturabilidad de Fernández Huerta"; Fernández Huerta 1959, corrected after
# G. Law, LINGUIST List 22.2332, 2011). Its school levels are a rough guide only.
_FH_BANDS = (
    (90.0, "very easy", "about grade 4"),
    (80.0, "easy", "about grade 5"),
    (70.0, "fairly easy", "about grade 6"),
    (60.0, "normal", "about grades 7-8"),
    (50.0, "fairly difficult", "pre-university"),
    (30.0, "difficult", "university entrance"),
    (-math.inf, "very difficult", "university"),
)
# Szigriszt-Pazos ease → INFLESZ level (Barrio-Cantalejo et al., Anales del Sistema Sanitario
# de Navarra 31(2), 2008), which was validated on texts written for patients.
_INFLESZ_BANDS = (
    (80.0, "very easy"),
    (65.0, "fairly easy"),
    (55.0, "normal"),
    (40.0, "somewhat difficult"),
    (-math.inf, "very difficult"),
)


def fernandez_huerta_needed(target_grade: int) -> float:
    """The lowest Fernández-Huerta ease whose band reaches ``target_grade`` (see _FH_BANDS)."""
    for grade, ease in ((4, 90.0), (5, 80.0), (6, 70.0), (8, 60.0), (12, 50.0)):
        if target_grade <= grade:
            return ease
    return 30.0


def _band(score: float, bands: tuple[tuple[float, str], ...]) -> str:
    return next(name for floor, name in bands if score >= floor)


# ---------------------------------------------------------------- counting and scoring


@dataclasses.dataclass(frozen=True, slots=True)
class Counts:
    """What the formulas are computed from."""

    words: int
    syllables: int
    polysyllables: int
    sentences: tuple[tuple[str, int], ...]  # (sentence, its words)


def count(markdown_texts: list[str], language: str) -> Counts:
    """Words, syllables and sentences of some Markdown texts read in ``language``."""
    syllables_of = COUNTERS.get(language.split("-")[0])
    found: list[tuple[str, int]] = []
    n_words = n_syllables = n_poly = 0
    for text in markdown_texts:
        for block in blocks(text):
            for sentence in sentences(block):
                ws = words(sentence)
                found.append((sentence, len(ws)))
                n_words += len(ws)
                if syllables_of:
                    for w in ws:
                        s = 1 if w.isdigit() else syllables_of(w)
                        n_syllables += s
                        n_poly += s >= 3
    return Counts(n_words, n_syllables, n_poly, tuple(found))


def score(counts: Counts, language: str, key: str, label: str, line: int | None) -> TextScore:
    """The formulas for ``language`` applied to ``counts`` (None where they do not apply)."""
    sentence_count = len(counts.sentences)
    longest = max(counts.sentences, key=lambda s: s[1], default=("", 0))
    base = TextScore(
        key,
        label,
        line,
        counts.words,
        sentence_count,
        counts.syllables,
        counts.polysyllables,
        longest[0],
        longest[1],
    )
    if not counts.words:
        return base
    per_word = counts.syllables / counts.words
    per_sentence = counts.words / sentence_count
    root = language.split("-")[0]
    if root == "en":
        # SMOG normalised to 30 sentences (McLaughlin 1969), so short texts can be scored.
        smog = 1.0430 * math.sqrt(counts.polysyllables * 30 / sentence_count) + 3.1291
        fk = 0.39 * per_sentence + 11.8 * per_word - 15.59  # Kincaid et al. 1975
        return _replace(base, smog=smog, flesch_kincaid=fk, grade=max(smog, fk))
    if root == "es":
        fh = 206.84 - 60 * per_word - 1.02 * per_sentence
        sp = 206.835 - 62.3 * per_word - per_sentence
        return _replace(
            base,
            fernandez_huerta=fh,
            szigriszt_pazos=sp,
            fernandez_huerta_band=_band(fh, tuple((f, n) for f, n, _ in _FH_BANDS)),
            inflesz_band=_band(sp, _INFLESZ_BANDS),
        )
    return base


def _replace(base: TextScore, **figures: float | str) -> TextScore:
    """``base`` with the scores, rounded to one decimal (as shown and as stored)."""
    return dataclasses.replace(
        base, **{k: round(v, 1) if isinstance(v, float) else v for k, v in figures.items()}
    )


def fh_level(score_value: float) -> str:
    """``normal, about grades 7-8`` for a Fernández-Huerta ease score."""
    return next(f"{name}, {level}" for floor, name, level in _FH_BANDS if score_value >= floor)


# ---------------------------------------------------------------- the check


def _prose(h: LoadedHandout) -> list[tuple[KeyPath, str]]:
    """Every Markdown text of the handout, with its key: the prose that is scored."""
    doc = h.handout
    texts: list[tuple[KeyPath, str]] = [
        (("notices", i, "text"), n.text) for i, n in enumerate(doc.notices)
    ]
    texts += [(("questions", i, "answer"), q.answer) for i, q in enumerate(doc.questions)]
    if doc.closing and doc.closing.text:
        texts.append((("closing", "text"), doc.closing.text))
    return texts


def _headings(h: LoadedHandout) -> list[tuple[KeyPath, str]]:
    doc = h.handout
    texts: list[tuple[KeyPath, str]] = [(("title",), doc.title)]
    if doc.subtitle:
        texts.append((("subtitle",), doc.subtitle))
    texts += [(("questions", i, "question"), q.question) for i, q in enumerate(doc.questions)]
    if doc.closing:
        texts.append((("closing", "heading"), doc.closing.heading))
    return texts


@check("handout")
def readability(ctx: CheckContext) -> list[Finding]:
    """Score one handout (the figures go to ``ctx.readability``) and report what makes it
    hard to read."""
    project, h, locator = ctx.project, ctx.h, ctx.locator
    target = project.settings.target_grade
    language = h.language
    root = language.split("-")[0]
    scale: Literal["grade", "ease"] | None = (
        "grade" if root == "en" else "ease" if root == "es" else None
    )
    answers = []
    for i, q in enumerate(h.handout.questions):
        key = ("questions", i, "answer")
        mark = h.marks.get(key)
        line = mark.line if mark else None
        answers.append(
            score(count([q.answer], language), language, format_key(key), q.question, line)
        )
    prose = _prose(h)
    whole = score(count([t for _, t in prose], language), language, "", h.handout.title, None)
    figures = HandoutReadability(
        h.id, language, h.display, scale, target, whole if scale else None, tuple(answers)
    )
    scope = {"handout": h.id, "language": language}
    findings: list[Finding] = []
    if level := _level_problem(h, figures):
        findings.append(Finding("warning", level[0], level[1], **scope))
    for key, text in prose:
        for block in blocks(text):
            for sentence in sentences(block):
                n = len(words(sentence))
                if n <= LONG_SENTENCE:
                    continue
                problem = locator.problem(
                    key,
                    f"a sentence of {n} words: '{_shorten(sentence, 60)}'",
                    f"split it: {LONG_SENTENCE} words at most, 15 to 20 is easier to follow",
                    phrase_pattern(sentence),
                )
                findings.append(Finding("warning", "readability.long-sentence", problem, **scope))
    findings += _jargon(project, h, locator, root, scope)
    ctx.readability.append(figures)
    return findings


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _hardest(r: HandoutReadability, too_hard: Callable[[TextScore], bool]) -> str:
    """The hardest answers (grade highest, or ease lowest) and their longest sentences."""
    grade = r.scale == "grade"

    def value(a: TextScore) -> float:
        return (a.grade if grade else a.fernandez_huerta) or 0.0

    shown = sorted((a for a in r.answers if a.words and too_hard(a)), key=value, reverse=grade)
    return "; ".join(
        f"{a.key} (line {a.line}) {'grade' if grade else 'ease'} {value(a):.1f}, longest "
        f"sentence '{_shorten(a.longest_sentence, 50)}' ({a.longest_sentence_words} words)"
        for a in shown[:HARDEST_SHOWN]
    )


def _level_problem(h: LoadedHandout, r: HandoutReadability) -> tuple[str, Problem] | None:
    """(code, problem) when the whole handout reads above the project's target grade."""
    w, target = r.whole, r.target_grade
    if w is None or not w.words:
        return None
    if r.scale == "grade" and w.grade is not None and w.grade > target:
        code = "readability.grade"
        message = (
            f"reads at grade {w.grade:.1f} (SMOG {w.smog}, Flesch-Kincaid "
            f"{w.flesch_kincaid}), above the target of grade {target}"
        )
        names = _hardest(r, lambda a: (a.grade or 0) > target)
    elif r.scale == "ease" and w.fernandez_huerta is not None:
        needed = fernandez_huerta_needed(target)
        if w.fernandez_huerta >= needed:
            return None
        code = "readability.ease"
        message = (
            f"reading ease {w.fernandez_huerta} on the Fernández-Huerta scale "
            f"({fh_level(w.fernandez_huerta)}; Szigriszt-Pazos {w.szigriszt_pazos}, "
            f"INFLESZ '{w.inflesz_band}'), below {needed:g}, the ease for grade {target}"
        )
        names = _hardest(r, lambda a: (a.fernandez_huerta or 0) < needed)
    else:
        return None
    hint = (f"hardest: {names}; " if names else "") + "use shorter sentences and everyday words"
    return code, h.problem(("questions",), message, hint)


# ---------------------------------------------------------------- plainer words


def _forms(word: str) -> str:
    """A pattern for ``word`` and its usual inflections (administers, administered, ...)."""
    if word.endswith("e"):
        return re.escape(word[:-1]) + r"(?:e|es|ed|ing)"
    if re.search(r"[^aeiou]y$", word):
        return re.escape(word[:-1]) + r"(?:y|ies|ied|ying)"
    return re.escape(word) + r"(?:s|es|d|ed|ing)?"


def _term_pattern(term: str) -> re.Pattern[str]:
    parts = term.split()
    body = r"[\W_]+".join([*(re.escape(p) for p in parts[:-1]), _forms(parts[-1])])
    return re.compile(rf"(?<![\w-]){body}(?![\w-])", re.IGNORECASE)


def plain_words(project: Project, english: bool) -> list[tuple[str, str, re.Pattern[str]]]:
    """(term, plainer word, pattern), longest terms first so that 'adverse event' wins over
    'adverse'; the project's own list extends (and may override) the built-in English one."""
    table = dict(PLAIN_WORDS) if english else {}
    table.update({k.lower(): v for k, v in project.settings.plain_language.items()})
    terms = sorted(table, key=lambda t: (-len(t), t))
    return [(t, table[t], _term_pattern(t)) for t in terms]


def _jargon(
    project: Project, h: LoadedHandout, locator: Locator, root: str, scope: dict[str, str]
) -> list[Finding]:
    table = plain_words(project, root == "en")
    if not table:
        return []
    findings: list[Finding] = []
    markdown_keys = {key for key, _ in _prose(h)}
    for key, text in _headings(h) + _prose(h):
        readable = "\n".join(blocks(text)) if key in markdown_keys else text
        taken: list[tuple[int, int]] = []
        for _term, plainer, pattern in table:
            for match in pattern.finditer(readable):
                span = match.span()
                if any(a < span[1] and span[0] < b for a, b in taken):
                    continue  # part of a longer term already reported
                taken.append(span)
                problem = locator.problem(
                    key,
                    f"'{match.group(0)}' is hard for many readers",
                    f"a plainer word: '{plainer}'",
                    pattern,
                )
                findings.append(Finding("warning", "readability.jargon", problem, **scope))
                break  # one finding per term and field
    return findings
