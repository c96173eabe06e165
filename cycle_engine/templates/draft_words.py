"""What one save of a draft changed, in words a coordinator reads in the draft's history.

The two texts are read with the loader's bounded YAML reader (size, depth and alias limits),
never trusted further: a text that is not a readable mapping is described as "edited the text".
Stages are matched by key and transitions by trigger; everything else is compared as a whole.
"""

from __future__ import annotations

from typing import Any

from cycle_engine.spec.loader import MAX_TEMPLATE_BYTES, read_document
from cycle_engine.spec.validate import Problems


def read_mapping(text: str) -> dict[str, Any] | None:
    """The template text as a mapping, or None when it is not readable YAML holding one."""
    if len(text.encode("utf-8")) > MAX_TEMPLATE_BYTES:
        return None
    problems = Problems("<draft>")
    document = read_document(text, problems)
    return document if isinstance(document, dict) and not problems.fatal else None


def document_key(text: str) -> str | None:
    """The template's `key`, when the text names one."""
    document = read_mapping(text)
    key = document.get("key") if document else None
    return key if isinstance(key, str) and 0 < len(key) <= 100 else None


def document_title(text: str) -> str:
    document = read_mapping(text)
    title = document.get("title") if document else None
    return title if isinstance(title, str) else ""


def _named(items: object, name: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if isinstance(items, list):
        for position, item in enumerate(items):
            if isinstance(item, dict):
                label = item.get(name)
                found[label if isinstance(label, str) else f"#{position + 1}"] = item
    return found


def describe_change(before_text: str, after_text: str) -> str:
    """One line listing what changed from `before_text` to `after_text`."""
    before, after = read_mapping(before_text), read_mapping(after_text)
    if before is None or after is None:
        return "Edited the text."
    parts: list[str] = []
    for field in ("key", "title", "description", "initial"):
        if before.get(field) != after.get(field):
            parts.append(f"{field} set to {after.get(field)!r}")
    for section, name, noun in (("stages", "key", "stage"), ("transitions", "trigger", "trigger")):
        old, new = _named(before.get(section), name), _named(after.get(section), name)
        added = [k for k in new if k not in old]
        removed = [k for k in old if k not in new]
        changed = [k for k in new if k in old and new[k] != old[k]]
        if added:
            parts.append(f"added {noun} {', '.join(added)}")
        if removed:
            parts.append(f"removed {noun} {', '.join(removed)}")
        if changed:
            parts.append(f"changed {noun} {', '.join(changed)}")
        if not (added or removed) and list(old) != list(new):
            parts.append(f"reordered the {section}")
    if before.get("defaults") != after.get("defaults"):
        parts.append("changed the default reminder, overdue and stall rules")
    if not parts:
        return "Edited the text (comments or layout)."
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."
