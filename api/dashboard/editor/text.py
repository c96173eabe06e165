"""The YAML text beside the form: writing the form's document as text, reading text back, and
saying what the form would drop from hand-written text.

Text is read with the loader's own bounded reader (`spec.loader.read_document`: size, depth,
node and alias limits, duplicate keys), so the editor accepts no more than the CLI. The text the
form writes puts keys in the order authors use and short lists on one line (`[coordinator,
lead]`); it has no comments, so the editor tells the coordinator, before they edit the form,
when the hand-written text holds comments or anything else the form cannot show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from cycle_engine.api.dashboard.editor.model import (
    TemplateForm,
    form_from_document,
    form_to_document,
)
from cycle_engine.errors import TemplateProblem
from cycle_engine.spec.guards import GuardRegistry
from cycle_engine.spec.loader import not_a_template, read_document
from cycle_engine.spec.validate import Problems


class _Dumper(yaml.SafeDumper):
    """Block style, but a list of plain scalars on one line."""


def _list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = bool(data) and all(isinstance(item, str | int | float | bool) for item in data)
    flow = flow and all(not isinstance(item, str) or "\n" not in item for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _text(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(list, _list)
_Dumper.add_representer(str, _text)


def dump(document: dict[str, Any]) -> str:
    return yaml.dump(
        document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100, indent=2
    )


def form_text(form: TemplateForm, registry: GuardRegistry) -> str:
    """The YAML text the form produces."""
    return dump(form_to_document(form, registry))


@dataclass(frozen=True, kw_only=True)
class ReadText:
    """Text read back: the form showing it (None: unreadable), the problems that made it
    unreadable, and what editing the form would drop from it."""

    form: TemplateForm | None
    problems: tuple[TemplateProblem, ...] = ()
    comments: int = 0
    lossy: bool = False


def read_text(text: str, registry: GuardRegistry) -> ReadText:
    problems = Problems("<text>")
    document = read_document(text, problems)
    if problems.fatal or not isinstance(document, dict):
        found = tuple(problems) or (
            TemplateProblem.of("<text>", "", not_a_template()),  # the loader's words for it
        )
        return ReadText(form=None, problems=found)
    form = form_from_document(document)
    rewritten = form_to_document(form, registry)
    return ReadText(
        form=form,
        comments=count_comments(text),
        lossy=_normal(rewritten) != _normal(document),
    )


def same_template(a: TemplateForm, b: TemplateForm, registry: GuardRegistry) -> bool:
    """Whether two forms describe the same template (the order of roles and sources aside)."""
    return _normal(form_to_document(a, registry)) == _normal(form_to_document(b, registry))


def _normal(value: object) -> object:
    """Documents compared as the form sees them: empty descriptions and lists alike, lists of
    names (roles, sources, recipients) in any order."""
    if isinstance(value, dict):
        return {
            k: _normal(v) for k, v in value.items() if v not in ("", [], {}) or k in ("to", "from")
        }
    if isinstance(value, list):
        items = [_normal(v) for v in value]
        if all(isinstance(item, str) for item in items):
            return sorted(items, key=str)
        return items
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)


def count_comments(text: str) -> int:
    """How many comments the text holds (a `#` outside every scalar, from YAML's scanner)."""
    try:
        tokens = list(yaml.scan(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return 0
    lines = text.split("\n")
    spans: dict[int, list[tuple[int, int]]] = {}
    for token in tokens:
        start, end = token.start_mark, token.end_mark
        for row in range(start.line, end.line + 1):
            first = start.column if row == start.line else 0
            last = end.column if row == end.line else len(lines[row]) if row < len(lines) else 0
            spans.setdefault(row, []).append((first, last))
    count = 0
    for number, line in enumerate(lines):
        for column, char in enumerate(line):
            if char != "#" or (column and not line[column - 1].isspace()):
                continue
            if any(first <= column < last for first, last in spans.get(number, [])):
                continue
            count += 1
            break
    return count
