"""The validator's words in the coordinator's language: msgids, did-you-mean, and rendering.

Every problem the loader and validator report is a `Message`: a gettext msgid with named
placeholders (`unknown role {role!r} ({hint}expected one of {choices})`) and their values. Its
English text is what `TemplateProblem.message` and `str(problem)` have always said, so the CLI
and the API read unchanged; `problem_message(problem, "es")` renders the same problem from the
`validator` catalog (`cycle_engine/spec/locale/<language>/LC_MESSAGES/validator.po`).

Msgids are marked with `N_` where they are written, so `pybabel extract -k N_` (`make messages`)
finds every one; a value that is itself words (a did-you-mean, "a stage key") is a `Message`
too and is rendered in the same language. Keys, values and names the author wrote (`'P3W'`,
`'@previous'`, product kinds) are placeholders, never translated.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

from cycle_engine.errors import Message, TemplateProblem
from cycle_engine.i18n import translations

#: Where the validator's catalogs are, one `.po` per language.
LOCALE = Path(__file__).parent / "locale"
#: The gettext domain of the validator's words.
DOMAIN = "validator"


def N_(msgid: str) -> str:
    """Mark `msgid` for extraction; it is translated when the problem is rendered."""
    return msgid


def message(msgid: str, **params: object) -> Message:
    """`msgid` with its placeholders' values."""
    return Message(msgid, tuple(params.items()))


def did_you_mean(word: str, options: Iterable[str]) -> Message | str:
    """ "did you mean 'x'? " for the closest of `options`, or "" when none is close."""
    close = difflib.get_close_matches(word, list(options), n=1)
    return suggest(close[0]) if close else ""


def suggest(word: str) -> Message:
    return message(N_("did you mean {word!r}? "), word=word)


def problem_message(problem: TemplateProblem, language: str) -> str:
    """What is wrong, in `language` (English when the catalog lacks the message)."""
    return problem.render(translations(LOCALE, DOMAIN, language).gettext)


def problem_text(problem: TemplateProblem, language: str) -> str:
    """The whole problem (file, path, what is wrong) in `language`, as `str(problem)` in English."""
    where = f"{problem.source}: {problem.path}" if problem.path else problem.source
    return f"{where}: {problem_message(problem, language)}"
