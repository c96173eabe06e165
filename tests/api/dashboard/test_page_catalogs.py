"""The gettext catalogs of the dashboard and of the pages behind email links are complete and
current: every message Babel's own extractor finds in the templates and Python sources (with the
mappings `make messages` uses) has a non-fuzzy Spanish and French translation with the same
placeholders and markup, and no catalog keeps a message the code no longer has. (That the wheel
carries the catalogs is checked in tests/packaging.)"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[3]
TRANSLATED = ("es", "fr")
#: (domain, extraction mapping, catalog directory)
DOMAINS = (
    ("dashboard", "babel-dashboard.cfg", "api/dashboard/locale"),
    ("pages", "babel-pages.cfg", "notifications/locale"),
)
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
NUMBER = re.compile(r"%\((\w+)\)d")
TAG = re.compile(r"</?([a-z]+)")

Msgid = str | tuple[str, ...]
#: (msgctxt, msgid): a message with a context is another message than the same msgid without.
Key = tuple[str | None, Msgid]


def extracted(mapping: str) -> set[Key]:
    """The msgids Babel extracts from the sources `mapping` names (as `make messages` does)."""
    with (ROOT / mapping).open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: set[Key] = set()
    for _filename, _lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        found.add((context, message if isinstance(message, str) else tuple(message)))
    return found


def catalog(directory: str, domain: str, language: str) -> Catalog:
    path = ROOT / directory / language / "LC_MESSAGES" / f"{domain}.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=language, domain=domain)


def _names(texts: Iterable[str]) -> set[str]:
    return {name for text in texts for name in PLACEHOLDER.findall(text)}


def _tags(text: str) -> list[str]:
    return sorted(TAG.findall(text))


@pytest.mark.parametrize(("domain", "mapping", "directory"), DOMAINS, ids=[d[0] for d in DOMAINS])
def test_every_message_is_translated_with_its_placeholders(
    domain: str, mapping: str, directory: str
) -> None:
    """Each extracted msgid has a non-fuzzy es and fr translation (every plural form), with the
    msgid's named placeholders and HTML tags, that formats; no catalog holds a stale msgid."""
    messages = extracted(mapping)
    assert len(messages) > 50, f"{mapping} finds almost nothing: is the mapping broken?"
    problems: list[str] = []
    for language in TRANSLATED:
        entries = {
            (m.context, m.id if isinstance(m.id, str) else tuple(m.id)): m
            for m in catalog(directory, domain, language)
            if m.id
        }
        for stale in set(entries) - messages:
            problems.append(f"{language}: stale msgid {stale!r} (run `make messages`)")
        for key in messages:
            msgid = key[1]
            entry = entries.get(key)
            if entry is None:
                problems.append(f"{language}: missing {msgid!r} (run `make messages`)")
                continue
            forms = [entry.string] if isinstance(entry.string, str) else list(entry.string)
            if entry.fuzzy or not forms or not all(forms):
                problems.append(f"{language}: untranslated or fuzzy {msgid!r}")
                continue
            sources = [msgid] if isinstance(msgid, str) else list(msgid)
            wanted = _names(sources)
            for form in forms:
                if _names([form]) != wanted:
                    problems.append(f"{language}: placeholders of {form!r} differ from {msgid!r}")
                if _tags(form) != _tags(sources[0]):
                    problems.append(f"{language}: markup of {form!r} differs from {msgid!r}")
                numbers = set(NUMBER.findall(form))
                try:
                    form % {name: 1 if name in numbers else "x" for name in wanted}
                except (ValueError, TypeError, KeyError) as error:
                    problems.append(f"{language}: {form!r} does not format: {error}")
    assert not problems, "\n".join(sorted(problems))
