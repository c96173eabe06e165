"""The reader's words: one language per page, its gettext catalog, and the Jinja plumbing.

The dashboard and the pages behind email links speak the reader's language (English, Spanish,
French). Their words are marked in templates with `_()` / `{% trans %}` and in Python with
`words.gettext(...)` / `words.ngettext(...)` (`N_` marks a text kept for later, e.g. in a
module-level table), and kept in gettext catalogs read through `cycle_engine.i18n`.

A page is rendered inside `speaking(words)`: the environment's gettext callables (installed by
`install`) and the date filters read the words of the render in progress from a context
variable, so a macro imported without context still speaks the page's language, and one
environment serves every language at once (each request, in its own thread, has its own words).
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment

from cycle_engine.i18n import DEFAULT_LANGUAGE, pick_language, translations

#: How each language names itself, for the language switch.
LANGUAGE_NAMES = {"en": "English", "es": "Español", "fr": "Français"}


def N_(message: str) -> str:
    """Mark `message` for the catalog without translating it here (translated where shown)."""
    return message


@dataclass(frozen=True)
class Words:
    """The words of one language: `gettext`/`ngettext` with named `%(name)s` placeholders."""

    language: str = DEFAULT_LANGUAGE
    catalog: gettext.NullTranslations = field(default_factory=gettext.NullTranslations)

    @classmethod
    def of(cls, directory: Path, domain: str, language: str | None) -> Words:
        """The words of `language` (English when the engine does not speak it)."""
        lang = pick_language(language)
        return cls(lang, translations(directory, domain, lang))

    def gettext(self, message: str, /, **variables: object) -> str:
        """`message` in this language, its `%(name)s` placeholders filled from `variables`."""
        text = self.catalog.gettext(message)
        return text % variables if variables else text

    def ngettext(self, singular: str, plural: str, n: int, /, **variables: object) -> str:
        """The form of `singular`/`plural` for `n` (which fills `%(num)d`) in this language."""
        text = self.catalog.ngettext(singular, plural, n)
        return text % {"num": n, **variables}


ENGLISH = Words()
_current: ContextVar[Words] = ContextVar("cycle_engine_reader_words", default=ENGLISH)


def current_words() -> Words:
    """The words of the page being rendered (English outside `speaking`)."""
    return _current.get()


@contextmanager
def speaking(words: Words) -> Iterator[Words]:
    """Render inside this block to have templates and filters speak `words`' language."""
    token = _current.set(words)
    try:
        yield words
    finally:
        _current.reset(token)


def _gettext(message: str) -> str:
    return _current.get().catalog.gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return _current.get().catalog.ngettext(singular, plural, n)


def _pgettext(context: str, message: str) -> str:
    return _current.get().catalog.pgettext(context, message)


def _npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return _current.get().catalog.npgettext(context, singular, plural, n)


def install(env: Environment) -> None:
    """Give `env` (which loads `jinja2.ext.i18n`) gettext callables that follow `speaking`."""
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext,
        ngettext=_ngettext,
        pgettext=_pgettext,
        npgettext=_npgettext,
        newstyle=True,
    )
