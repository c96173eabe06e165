"""Reading the editor's POSTed form (flat `name=value` pairs) into a `TemplateForm`.

Rows are numbered in the names (`stage-2-title`, `transition-0-guard-1-arg`); a row exists when
its first field was sent, and every list is bounded, so a forged form cannot make the server
loop. References to stages (a transition's `from` and `to`, the first stage) name the stage's
row (`stage:2`), not its key: renaming a stage in the form carries every reference along. A
reference the form cannot resolve to a row (a name typed in the YAML) travels as `name:<text>`.
Checkbox lists (roles, sources) are one field per choice, because the form arrives as one value
per name. A stage's title and description per language are `stage-<i>-tr-<code>-title` and
`...-description`; the template's own are `tr-<code>-title` and `tr-<code>-description`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from cycle_engine.api.dashboard.editor.model import (
    DurationField,
    GuardForm,
    ReminderForm,
    RulesForm,
    StageForm,
    TemplateForm,
    TextForm,
    TransitionForm,
)
from cycle_engine.spec.specs import ANY_ACTIVE, PREVIOUS

MAX_STAGES = 100
MAX_TRANSITIONS = 200
MAX_ITEMS = 30  # guards per transition, reminders per rule set, extra names per list
Fields = Mapping[str, str]
#: A stage's text in one language: `stage-2-tr-es-title`.
_TEXT_FIELD = re.compile(
    r"^stage-(?P<i>\d{1,3})-tr-(?P<code>[^\s]{1,20})-(?P<field>title|description)$"
)


#: The template's own text in one language: `tr-es-title`.
_TEMPLATE_TEXT_FIELD = re.compile(r"^tr-(?P<code>[^\s]{1,20})-(?P<field>title|description)$")


def ref_value(name: str, keys: Sequence[str]) -> str:
    """How the form names the stage `name` in a select or checkbox (see the module doc)."""
    if name == PREVIOUS:
        return PREVIOUS
    if name in keys and name:
        return f"stage:{keys.index(name)}"
    return f"name:{name}" if name else ""


def _resolve(value: str, keys: Sequence[str]) -> str:
    if value.startswith("stage:"):
        index = value.removeprefix("stage:")
        if index.isdigit() and int(index) < len(keys):
            return keys[int(index)]
        return ""
    if value.startswith("name:"):
        return value.removeprefix("name:")
    return value if value == PREVIOUS else ""


def _duration(fields: Fields, prefix: str) -> DurationField:
    return DurationField(
        fields.get(f"{prefix}-amount", "").strip(), fields.get(f"{prefix}-unit", "W")
    )


def _choices(fields: Fields, prefix: str, known: Sequence[str]) -> list[str]:
    chosen = [role for role in known if fields.get(f"{prefix}-{role}")]
    for n in range(MAX_ITEMS):
        extra = fields.get(f"{prefix}x-{n}")
        if extra is None:
            break
        if extra and extra not in chosen:
            chosen.append(extra)
    return chosen


def _rules(fields: Fields, prefix: str, recipients: Sequence[str], absent: str) -> RulesForm:
    reminders = []
    for j in range(MAX_ITEMS):
        p = f"{prefix}reminder-{j}"
        if f"{p}-name" not in fields:
            break
        reminders.append(
            ReminderForm(
                name=fields[f"{p}-name"].strip(),
                anchor=fields.get(f"{p}-anchor", "before_due"),
                offset=_duration(fields, f"{p}-offset"),
                late=fields.get(f"{p}-late", ""),
                to=_choices(fields, f"{p}-to", recipients),
            )
        )
    return RulesForm(
        reminders_mode=fields.get(f"{prefix}reminders-mode", absent),
        reminders=reminders,
        overdue_mode=fields.get(f"{prefix}overdue-mode", absent),
        overdue_every=_duration(fields, f"{prefix}overdue-every"),
        overdue_escalate=fields.get(f"{prefix}overdue-escalate", "").strip(),
        overdue_to=_choices(fields, f"{prefix}overdue-to", recipients),
        stall_mode=fields.get(f"{prefix}stall-mode", absent),
        stall_after=_duration(fields, f"{prefix}stall-after"),
    )


def _texts_by_stage(fields: Fields) -> dict[int, dict[str, TextForm]]:
    """Every `stage-<i>-tr-<code>-title|description` sent, by stage row and language (codes the
    page offered and codes the YAML brought); at most MAX_ITEMS languages per stage."""
    texts: dict[int, dict[str, TextForm]] = {}
    for name, value in fields.items():
        match = _TEXT_FIELD.match(name)
        if match is None or int(match["i"]) >= MAX_STAGES:
            continue
        stage = texts.setdefault(int(match["i"]), {})
        if match["code"] not in stage and len(stage) >= MAX_ITEMS:
            continue
        text = stage.setdefault(match["code"], TextForm())
        setattr(text, match["field"], value)
    return texts


def _template_texts(fields: Fields) -> dict[str, TextForm]:
    """Every `tr-<code>-title|description` sent, by language; at most MAX_ITEMS languages."""
    texts: dict[str, TextForm] = {}
    for name, value in fields.items():
        match = _TEMPLATE_TEXT_FIELD.match(name)
        if match is None or (match["code"] not in texts and len(texts) >= MAX_ITEMS):
            continue
        setattr(texts.setdefault(match["code"], TextForm()), match["field"], value)
    return texts


def parse_form(fields: Fields, *, roles: Sequence[str], recipients: Sequence[str]) -> TemplateForm:
    """The form as sent; `roles` and `recipients` are the checkbox choices the page offered."""
    stages: list[StageForm] = []
    texts = _texts_by_stage(fields)
    for i in range(MAX_STAGES):
        p = f"stage-{i}"
        if f"{p}-key" not in fields:
            break
        stages.append(
            StageForm(
                key=fields[f"{p}-key"].strip(),
                title=fields.get(f"{p}-title", ""),
                description=fields.get(f"{p}-description", ""),
                kind=fields.get(f"{p}-kind", "work"),
                duration=_duration(fields, f"{p}-duration"),
                rules=_rules(fields, f"{p}-", recipients, "inherit"),
                translations=texts.get(i, {}),
            )
        )
    keys = [stage.key for stage in stages]
    transitions: list[TransitionForm] = []
    for i in range(MAX_TRANSITIONS):
        p = f"transition-{i}"
        if f"{p}-trigger" not in fields:
            break
        sources = [ANY_ACTIVE] if fields.get(f"{p}-from-any") else []
        sources += [key for k, key in enumerate(keys) if fields.get(f"{p}-from-{k}")]
        for n in range(MAX_ITEMS):
            extra = fields.get(f"{p}-fromx-{n}")
            if extra is None:
                break
            if extra:
                sources.append(extra)
        guards = []
        for j in range(MAX_ITEMS):
            g = f"{p}-guard-{j}"
            if f"{g}-name" not in fields:
                break
            guards.append(GuardForm(name=fields[f"{g}-name"], arg=fields.get(f"{g}-arg", "")))
        transitions.append(
            TransitionForm(
                trigger=fields[f"{p}-trigger"].strip(),
                sources=sources,
                dest=_resolve(fields.get(f"{p}-to", ""), keys),
                roles=_choices(fields, f"{p}-role", roles),
                guards=guards,
                description=fields.get(f"{p}-description", ""),
            )
        )
    return TemplateForm(
        key=fields.get("key", "").strip(),
        title=fields.get("title", ""),
        description=fields.get("description", ""),
        initial=_resolve(fields.get("initial", ""), keys),
        defaults=_rules(fields, "defaults-", recipients, "off"),
        stages=stages,
        transitions=transitions,
        translations=_template_texts(fields),
    )
