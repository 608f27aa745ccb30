"""Localised template text: gettext catalogs per language, dates and language names (Babel).

Catalogs live in ``templates/locale/<lang>/LC_MESSAGES/handouts.po`` (a project's own
templates/ first, then the built-in ones) and are compiled in memory, so no generated .mo
file is ever committed or shipped.
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
import os
import re
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as _babel_format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from markupsafe import Markup

from .errors import HandoutsError, Problem
from .files import read_file

DOMAIN = "handouts"
SOURCE_LANGUAGE = "en"  # the language of the msgids in the templates
MAX_CATALOG_BYTES = 4 * 1024 * 1024


def catalog_path(template_dirs: tuple[Path, ...], lang: str) -> Path | None:
    """The .po file for ``lang`` (or its base language: es-MX → es), project first."""
    for code in dict.fromkeys((lang.replace("-", "_"), lang.split("-")[0])):
        for folder in template_dirs:
            path = folder / "locale" / code / "LC_MESSAGES" / f"{DOMAIN}.po"
            if os.path.lexists(path):  # a FIFO or a dangling link is reported, not skipped
                return path
    return None


@cache
def translations(template_dirs: tuple[Path, ...], lang: str) -> gettext.NullTranslations:
    """Compiled translations for ``lang``; English needs none (msgids are English)."""
    path = catalog_path(template_dirs, lang)
    if path is None:
        if lang.split("-")[0] == SOURCE_LANGUAGE:
            return gettext.NullTranslations()
        raise HandoutsError(
            Problem(
                f"templates/locale/{lang}/LC_MESSAGES/{DOMAIN}.po",
                f"there is no translation of the template text for language '{lang}'",
                hint="add the catalog (see docs/adding-a-language.md) or remove the language "
                "from the brand's languages",
            )
        )
    folder = next(d for d in template_dirs if path.is_relative_to(d))
    shown = f"templates/{path.relative_to(folder).as_posix()}"
    data = read_file(path, limit=MAX_CATALOG_BYTES, display=shown, roots=(folder,))
    catalog = read_po(io.BytesIO(data), locale=lang.replace("-", "_"), domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


# Country codes, retired codes and three-letter codes that people write for a language.
_MISTAKES = {
    "sp": "es",
    "jp": "ja",
    "kr": "ko",
    "cn": "zh",
    "ch": "zh",
    "tw": "zh",
    "gr": "el",
    "dk": "da",
    "cz": "cs",
    "ua": "uk",
    "vn": "vi",
    "iw": "he",
    "in": "id",
    "ji": "yi",
    "tl": "fil",
    "br": "pt",
    "spa": "es",
    "eng": "en",
    "fre": "fr",
    "fra": "fr",
    "ger": "de",
    "deu": "de",
    "chi": "zh",
    "zho": "zh",
    "vie": "vi",
    "kor": "ko",
    "ara": "ar",
    "rus": "ru",
    "por": "pt",
    "jpn": "ja",
    "tgl": "fil",
    "hat": "ht",
    "som": "so",
    "pol": "pl",
    "ita": "it",
}
_EXAMPLES = "en, es, zh, vi, ko, ar or ht"


@cache
def _known_languages() -> frozenset[str]:
    from babel import localedata

    return frozenset(code for code in localedata.locale_identifiers() if "_" not in code)


def language_problem(code: str) -> str | None:
    """Why ``code`` (already shaped like ``en`` or ``es-MX``) names no language that dates and
    language names can be written in, or None. Worded to follow a field name."""
    base = code.split("-")[0].lower()
    known = _known_languages()
    if base in known:
        return None
    guess = _MISTAKES.get(base)
    if guess:
        name = Locale.parse(guess).get_display_name("en")
        return f"must be a language code: '{base}' is not one; did you mean '{guess}' ({name})?"
    return (
        f"must be a language code such as {_EXAMPLES}: '{base}' is not one that dates and "
        "language names can be printed in"
    )


def _locale(lang: str) -> Locale:
    try:
        return Locale.parse(lang.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(lang.split("-")[0])


def format_date(value: dt.date, lang: str) -> str:
    """A date as a reader of ``lang`` writes it: November 1, 2026 / 1 de noviembre de 2026."""
    return _babel_format_date(value, format="long", locale=_locale(lang))


def language_name(code: str, in_lang: str) -> str:
    """The name of language ``code`` in language ``in_lang``: en in es → inglés."""
    name = _locale(code).get_display_name(_locale(in_lang))
    return name or code


_PLACEHOLDER = re.compile(r"\{(page|pages)\}")


def css_counters(text: str) -> Markup:
    """``Página {page} de {pages}`` → ``"Página " counter(page) " de " counter(pages)``: a CSS
    content value, every literal part a properly escaped CSS string."""
    parts: list[str] = []
    for i, piece in enumerate(_PLACEHOLDER.split(str(text))):
        if i % 2:
            parts.append(f"counter({piece})")
        elif piece:
            escaped = "".join(
                ch if ch.isalnum() or ch in " .,:;-/()" else f"\\{ord(ch):x} " for ch in piece
            )
            parts.append(f'"{escaped}"')
    return Markup(" ".join(parts))


# ---------------------------------------------------------------- catalog maintenance


def extract_messages(templates: Path) -> dict[str, list[str]]:
    """Every translatable string in the templates under ``templates``, with where it is."""
    from babel.messages.extract import extract_from_dir

    found: dict[str, list[str]] = {}
    method_map = [("**.html", "jinja2")]
    options = {"**.html": {"extensions": "jinja2.ext.i18n"}}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(templates), method_map=method_map, options_map=options
    ):
        found.setdefault(str(message), []).append(f"{filename}:{lineno}")
    return found


def update_catalogs(templates: Path) -> list[Path]:
    """Rewrite ``locale/handouts.pot`` from the templates and merge it into every .po file,
    so translators see new strings (empty) and removed ones go away. Returns the files."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    template = Catalog(domain=DOMAIN, project="handouts", fuzzy=False)
    for message, places in sorted(extract_messages(templates).items()):
        locations = [(p.rsplit(":", 1)[0], int(p.rsplit(":", 1)[1])) for p in places]
        template.add(message, locations=locations)
    written = [templates / "locale" / f"{DOMAIN}.pot"]
    written[0].parent.mkdir(parents=True, exist_ok=True)
    with written[0].open("wb") as handle:
        write_po(handle, template, omit_header=True, sort_output=True)
    for po in sorted((templates / "locale").glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=po.parts[-3], domain=DOMAIN)
        catalog.update(template, no_fuzzy_matching=True)
        with po.open("wb") as handle:
            write_po(handle, catalog, omit_header=True, sort_output=True, ignore_obsolete=True)
        written.append(po)
    return written


if __name__ == "__main__":  # python -m handouts.i18n [TEMPLATES]: refresh the catalogs
    import sys

    from .assets import builtin_dir

    for path in update_catalogs(
        Path(sys.argv[1]) if len(sys.argv) > 1 else builtin_dir("templates")
    ):
        print(f"updated {path}")
