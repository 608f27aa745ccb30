"""Syllable counts for the readability formulas, by rule, offline and deterministic.

We do not use textstat's counters: for English, textstat 0.7 looks words up in NLTK's CMU
dictionary and downloads it from the network on first use (a check that runs in every build
must never fetch anything, and fails offline); for Spanish it counts Pyphen hyphenation points,
which skip every hiatus and short end syllable ("exosomas" → 2). The rules below are the
classic vowel-group estimate for English, and Spanish syllabification, which is regular.
"""

from __future__ import annotations

import re
from functools import lru_cache

# ---------------------------------------------------------------- English

# Each rule corrects the count of vowel groups for one spelling pattern; the sign says whether
# the pattern hides a syllable (silent letters) or holds two (vowels said apart).
_EN_RULES: tuple[tuple[re.Pattern[str], int], ...] = tuple(
    (re.compile(pattern), delta)
    for pattern, delta in (
        (r"[^aeiouy]e$", -1),  # silent final e: site, medicine
        (r"[^aeiouy]le$", +1),  # ...but consonant + le is a syllable: table, little
        (r"[^aeiouy]es$", -1),  # silent e in -es: makes, exosomes
        (r"(?:[cgszx]|ch|sh|[^aeiouy]l)es$", +1),  # ...but said after sibilants: cases, vesicles
        (r"[^aeiouy]ed$", -1),  # silent e in -ed: derived
        (r"[td]ed$", +1),  # ...but said after t or d: created
        (r"(?<=[aeiouy][^aeiouy])e(?=ly$|ment|ful|less|ness)", -1),  # lately, movement
        (r"[aeiouy]ings?$", +1),  # being, going, carrying
        (r"(?<=[aeiouy])sms?$", +1),  # mechanism
        (r"ia(?<![tcsg]ia)", +1),  # diameter, piano (not crucial, potential)
        (r"io(?<![tcsgx]io)|(?<=[tcsgx])io(?!n)", +1),  # radio, physiology (not -tion)
        (r"(?<=[tc])iat", +1),  # differentiate, appreciate
        (r"iu", +1),  # medium
        (r"(?<![gq])ua", +1),  # usually, individual (not language, quality)
        (r"eo(?<!peo)(?!us)", +1),  # video, theory (not people, gorgeous)
        (r"ea$|crea|^rea(?=c|li|ss|g)", +1),  # area, create, react
        (r"(?<![tc])ie(?=n[tc]|t)|cie(?=t)|scie(?=n)", +1),  # client, variety, science
        (r"oe(?!s?$)", +1),  # poem
        (r"uou", +1),  # continuous
    )
)


@lru_cache(maxsize=8192)
def english(word: str) -> int:
    """Estimated syllables of one English word (hyphenated words: the sum of their parts)."""
    if "-" in word:
        return sum(english(part) for part in word.split("-") if part) or 1
    w = re.sub(r"[^a-z]", "", word.lower())
    if len(w) <= 3:
        return 1
    # A y before a vowel, at the start or after a vowel, is a consonant: you, player.
    w = re.sub(r"^y(?=[aeiou])|(?<=[aeiou])y(?=[aeiou])", "j", w)
    count = len(re.findall(r"[aeiouy]+", w))
    for pattern, delta in _EN_RULES:
        count += delta * len(pattern.findall(w))
    return max(1, count)


# ---------------------------------------------------------------- Spanish

_ES_STRONG = set("aeoáéóíú")  # an accented i or u is said apart from its neighbours
_ES_ACCENTED_WEAK = set("íú")
_ES_VOWELS = _ES_STRONG | set("iuü")


@lru_cache(maxsize=8192)
def spanish(word: str) -> int:
    """Syllables of one Spanish word: its vowel nuclei, where a diphthong counts once and a
    hiatus (two strong vowels, or an accented í/ú) twice."""
    if "-" in word:
        return sum(spanish(part) for part in word.split("-") if part) or 1
    w = word.lower()
    if w == "y":
        return 1
    w = re.sub(r"(?<=[qg])u(?=[eiéí])", "", w)  # the u of que, qui, gue, gui is silent
    count = 0
    previous = ""  # the vowel just before, or "" after a consonant
    for ch in w:
        if ch not in _ES_VOWELS:
            previous = ""
            continue
        if (
            not previous
            or (previous in _ES_STRONG and ch in _ES_STRONG)
            or ch in _ES_ACCENTED_WEAK
            or previous in _ES_ACCENTED_WEAK
        ):
            count += 1
        previous = ch
    return max(1, count)


COUNTERS = {"en": english, "es": spanish}
