"""Convert `translations:` (a title and description per language) into `StageText`s.

A template keeps its plain `title:` and `description:` as the default texts; the template itself
and each stage may add

    translations:
      es: {title: Plan de trabajo, description: ...}
      fr: {title: Plan de travail}

Language codes come from the domain's vocabulary (`Vocabulary.languages`, the languages people
and alliances may choose), so a code no reader can have (`de`, `esp`) is refused with its path and
a did-you-mean instead of never being shown. Texts are bounded, as a title must fit a subject line.
"""

from __future__ import annotations

import difflib

from cycle_engine.errors import Message
from cycle_engine.spec.messages import N_, message, suggest
from cycle_engine.spec.specs import StageText
from cycle_engine.spec.validate import Problems, check_keys, describe_bad_name, expect_text

TRANSLATION_KEYS = ("title", "description")
#: Longest translated title and description, in characters.
MAX_TITLE = 200
MAX_DESCRIPTION = 4000
_LIMITS = {"title": MAX_TITLE, "description": MAX_DESCRIPTION}


def convert_translations(problems: Problems, raw: object, path: str) -> tuple[StageText, ...]:
    """The stage's texts per language; problems (with paths) for anything else."""
    if raw is None:
        return ()
    languages = problems.vocabulary.languages
    if not isinstance(raw, dict):
        problems.add(
            path,
            N_("expected a mapping of language codes ({languages})"),
            languages=", ".join(languages),
        )
        return ()
    texts: list[StageText] = []
    for code, item in raw.items():
        where = f"{path}.{code}"
        if not isinstance(code, str):
            problems.add(where, describe_bad_name(problems, where, code, N_("a language code")))
            continue
        if code not in languages:
            problems.add(where, _unknown(code, languages))
            continue
        text = _convert_text(problems, code, item, where)
        if text is not None:
            texts.append(text)
    return tuple(texts)


def _unknown(code: str, languages: tuple[str, ...]) -> Message:
    lowered = code.lower()
    close = [c for c in languages if lowered.startswith(c)]
    close = close or difflib.get_close_matches(lowered, languages, n=1)
    return message(
        N_("unknown language {code!r} ({hint}expected one of {choices})"),
        code=code,
        hint=suggest(close[0]) if close else "",
        choices=", ".join(repr(c) for c in languages) if languages else message(N_("none")),
    )


def _convert_text(problems: Problems, code: str, raw: object, path: str) -> StageText | None:
    if not isinstance(raw, dict):
        problems.add(path, N_("expected a mapping with keys title, description"))
        return None
    check_keys(problems, raw, path, TRANSLATION_KEYS)
    values: dict[str, str] = {}
    for name, limit in _LIMITS.items():
        if name not in raw:
            continue
        value = expect_text(problems, raw[name], f"{path}.{name}").strip()
        if len(value) > limit:
            problems.add(
                f"{path}.{name}",
                N_("is {length} characters; at most {limit}"),
                length=len(value),
                limit=limit,
            )
            value = value[:limit]
        values[name] = value
    if not any(values.values()):
        problems.add(path, N_("give a title or a description (or leave the language out)"))
        return None
    return StageText(language=code, **values)
