"""Template texts (titles and descriptions of templates, stages and transitions, and the
titles of triggers) in the reader's language.

A template is written in one language (the built-ins in English); its texts are translated
through gettext catalogs, one per language, read with Babel: `workflows/locale/<language>/
LC_MESSAGES/templates.po`, keyed by the template's own text (the msgid). A text no catalog knows,
such as an alliance's own template, stays as the template gives it: the template's default.
Emails apply this when they are composed (`localize_context`), so "Resultados: Work plan ha
concluido" reads "Resultados: Plan de trabajo ha concluido". A template may also give a stage's
texts per language itself (`translations:` in its YAML, carried in the email's context), and so
may the template for its own title and description: those come first, then the catalog, then the
template's default text.
"""

from __future__ import annotations

from collections.abc import Mapping
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


def trigger_title(trigger: str) -> str:
    """A trigger key as people read it: `questions_agreed` -> `Questions agreed` (English)."""
    return trigger.replace("_", " ").capitalize()


def trigger_label(trigger: str, language: str) -> str:
    """A trigger's title in `language` when the catalog has it (`Preguntas acordadas`), else
    its English title: built-in triggers are translated like the templates' other texts."""
    return translate(trigger_title(trigger), language) or trigger


def text_in(node: Mapping[str, Any], name: str, language: str) -> str | None:
    """`node`'s `name` (title or description) in `language`: the template's own translation
    first (`node["translations"]`, written by the author), then the catalog, then the default."""
    translations = node.get("translations")
    if isinstance(translations, Mapping):
        own = translations.get(language)
        if isinstance(own, Mapping) and isinstance(own.get(name), str) and own[name]:
            return str(own[name])
    value = node.get(name)
    return translate(value if isinstance(value, str) else None, language)


def _localize_stage(stage: Mapping[str, Any], language: str) -> dict[str, Any]:
    localized = {key: value for key, value in stage.items() if key != "translations"}
    localized["title"] = text_in(stage, "title", language)
    if "description" in stage:
        localized["description"] = text_in(stage, "description", language)
    return localized


def localize_context(context: dict[str, Any], language: str) -> dict[str, Any]:
    """An email's context with its template's and its stage's (and next stage's) title and
    description in `language`, and those of each digest item; the rest (cycle titles, people,
    products: partners' own words) unchanged."""
    localized = dict(context)
    for name in ("template", "stage"):
        node = context.get(name)
        if isinstance(node, Mapping):
            localized[name] = _localize_stage(node, language)
    details = context.get("details")
    if isinstance(details, Mapping) and isinstance(details.get("next_stage"), Mapping):
        localized["details"] = {
            **details,
            "next_stage": _localize_stage(details["next_stage"], language),
        }
    items = context.get("items")
    if isinstance(items, list):
        localized["items"] = [
            localize_context(item, language) if isinstance(item, dict) else item for item in items
        ]
    return localized
