"""Every word the validator marks is translated in Spanish and French, with the same placeholders,
and the catalogs hold nothing the code no longer says (what `make messages` would find)."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from cycle_engine.spec import messages

SPEC = Path(messages.__file__).parent


def _extracted() -> set[str]:
    found = extract_from_dir(
        str(SPEC),
        method_map=[("**.py", "python")],
        keywords={"N_": None},
        comment_tags=(),
    )
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


def _placeholders(text: str) -> list[tuple[str, str | None]]:
    return sorted(
        (name, conversion)
        for _, name, _, conversion in string.Formatter().parse(text)
        if name is not None
    )


def test_the_extractor_finds_the_validator_words() -> None:
    """The marker is what Babel reads: the main problems are among the extracted msgids."""
    extracted = _extracted()
    assert "unknown role {role!r} ({hint}expected one of {choices})" in extracted
    assert "did you mean {word!r}? " in extracted
    assert "{problem} (line {line})" in extracted
    assert len(extracted) > 80


@pytest.mark.parametrize("language", ["es", "fr"])
def test_every_validator_msgid_is_translated_with_the_same_placeholders(language: str) -> None:
    path = messages.LOCALE / language / "LC_MESSAGES" / f"{messages.DOMAIN}.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    entries = {m.id: m for m in catalog if m.id and isinstance(m.id, str)}
    extracted = _extracted()
    assert sorted(extracted - set(entries)) == [], "run `make messages` and translate"
    assert sorted(set(entries) - extracted) == [], "stale entries: run `make messages`"
    for msgid, entry in entries.items():
        assert isinstance(entry.string, str)
        assert entry.string, f"{language}: {msgid!r} is untranslated"
        assert not entry.fuzzy, f"{language}: {msgid!r} is fuzzy"
        assert _placeholders(entry.string) == _placeholders(msgid), (language, msgid)
