"""The engine's own words in the reader's language: gettext catalogs kept as `.po` files.

Every part that speaks to people (the dashboard, the email action pages, the template validator,
the template texts) keeps its words in one gettext domain: `<directory>/<language>/LC_MESSAGES/
<domain>.po`, edited with the usual tools (`pybabel extract/update`). The `.po` files are read
with Babel and compiled in memory on first use, so there is no build step and no `.mo` to forget.
A language without a catalog, or a message its catalog does not translate, reads in English.
"""

from __future__ import annotations

import gettext
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

#: The languages the engine ships words for; the first is the default.
LANGUAGES: tuple[str, ...] = ("en", "es", "fr")
DEFAULT_LANGUAGE = LANGUAGES[0]


def pick_language(*candidates: str | None) -> str:
    """The first of `candidates` the engine speaks (`es-NI` counts as `es`), else English."""
    for candidate in candidates:
        if not candidate:
            continue
        base = candidate.strip().replace("_", "-").split("-")[0].lower()
        if base in LANGUAGES:
            return base
    return DEFAULT_LANGUAGE


def accepted_language(header: str | None) -> str:
    """The language an `Accept-Language` header prefers among those the engine speaks."""
    if not header:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag))
    return pick_language(*(tag for _, _, tag in sorted(ranked)))


@cache
def translations(directory: Path, domain: str, language: str) -> gettext.NullTranslations:
    """The `domain` catalog of `language` under `directory` (a null catalog when there is none).

    Fuzzy and untranslated entries are left out, so they read in English rather than wrongly.
    """
    path = directory / language / "LC_MESSAGES" / f"{domain}.po"
    if not language.isalpha() or not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=domain)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)
