"""Template texts (titles and descriptions of templates and stages) in the reader's language.

A template is written in one language (the built-ins in English); its texts are translated
through gettext catalogs, one per language, read with Babel: `workflows/locale/<language>/
LC_MESSAGES/templates.po`, keyed by the template's own text (the msgid). A text no catalog knows,
such as an alliance's own template, stays as the template gives it: the template's default.
Emails apply this when they are composed (`localize_context`), so "Resultados: Work plan ha
concluido" reads "Resultados: Plan de trabajo ha concluido".
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

import cycle_engine.workflows

LOCALE = Path(cycle_engine.workflows.__file__).with_name("locale")
DOMAIN = "templates"


@cache
def catalog(language: str) -> dict[str, str]:
    """{msgid: translation} of `language` (empty when there is no catalog for it)."""
    path = LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not language.isalpha() or not path.is_file():
        return {}
    with path.open("rb") as handle:
        messages = read_po(handle, locale=language, domain=DOMAIN)
    return {
        str(m.id): str(m.string)
        for m in messages
        if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
    }


def translate(text: str | None, language: str) -> str | None:
    """`text` in `language`, or `text` itself when no catalog translates it."""
    if not text:
        return text
    return catalog(language).get(text, text)


def localize_context(context: dict[str, Any], language: str) -> dict[str, Any]:
    """An email's context with its stage's (and next stage's) title and description in
    `language`; the rest (cycle titles, people, products: partners' own words) unchanged."""
    localized = dict(context)
    stage = context.get("stage")
    if isinstance(stage, dict):
        localized["stage"] = {
            **stage,
            "title": translate(stage.get("title"), language),
            "description": translate(stage.get("description"), language),
        }
    details = context.get("details")
    if isinstance(details, dict) and isinstance(details.get("next_stage"), dict):
        following = details["next_stage"]
        localized["details"] = {
            **details,
            "next_stage": {**following, "title": translate(following.get("title"), language)},
        }
    return localized
