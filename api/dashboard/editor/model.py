"""The template as the editor's form holds it, and its conversion to and from the YAML document.

The form model mirrors the template's schema field by field (stages, transitions with their
guards, reminder, overdue and stall rules per stage or as defaults) but keeps every value as the
text a person typed, so a wrong value survives a round trip to be shown with its problem: the
validator, not this module, decides what is right. Durations are an amount and a unit
(`DurationField`), written back as ISO 8601 (`P3W`); a value the amount-and-unit control cannot
show is kept as its ISO text. `to_document` writes every stage and transition in form order,
so a problem's path (`stages[2].duration`) points at the form's own row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cycle_engine.notifications.reader import N_
from cycle_engine.spec.guards import GuardRegistry
from cycle_engine.spec.specs import PREVIOUS

#: Units of the duration control; `iso` keeps an ISO 8601 text the others cannot show. The
#: words of these choices are English msgids (`N_`): the form shows them in the reader's language.
UNITS = {"D": N_("days"), "W": N_("weeks"), "H": N_("hours"), "iso": N_("ISO 8601 text")}
ANCHORS = {
    "before_due": N_("before the deadline"),
    "after_due": N_("after the deadline"),
    "after_entry": N_("after the stage starts"),
}
LATE = {
    "": N_("default (skip if late)"),
    "send_latest": N_("send even if late"),
    "drop_stale": N_("skip"),
}
KINDS = {"work": N_("work stage"), "hold": N_("hold (pause) stage"), "final": N_("final stage")}
#: Per stage: use the defaults, turn the rule off, or give the stage its own.
MODES = {"inherit": N_("use the defaults"), "off": N_("none"), "own": N_("its own")}
_SIMPLE = re.compile(r"^P(\d{1,6})([DW])$|^PT(\d{1,6})H$")


@dataclass
class DurationField:
    amount: str = ""
    unit: str = "W"

    @classmethod
    def from_value(cls, value: object) -> DurationField:
        if value is None:
            return cls()
        text = str(value)
        match = _SIMPLE.match(text)
        if match is None:
            return cls(text, "iso")
        if match.group(3):
            return cls(match.group(3), "H")
        return cls(match.group(1), match.group(2))

    def to_value(self) -> str | None:
        amount = self.amount.strip()
        if not amount:
            return None
        if self.unit == "iso" or not amount.isdigit():
            return amount
        return f"PT{int(amount)}H" if self.unit == "H" else f"P{int(amount)}{self.unit}"


@dataclass
class ReminderForm:
    name: str = ""
    anchor: str = "before_due"
    offset: DurationField = field(default_factory=lambda: DurationField("3", "D"))
    late: str = ""
    to: list[str] = field(default_factory=list)


@dataclass
class RulesForm:
    """Reminder, overdue and stall rules: a stage's own, or the template's defaults."""

    reminders_mode: str = "inherit"
    reminders: list[ReminderForm] = field(default_factory=list)
    overdue_mode: str = "inherit"
    overdue_every: DurationField = field(default_factory=lambda: DurationField("1", "W"))
    overdue_escalate: str = "2"
    overdue_to: list[str] = field(default_factory=list)
    stall_mode: str = "inherit"
    stall_after: DurationField = field(default_factory=lambda: DurationField("2", "W"))


@dataclass
class GuardForm:
    name: str = ""
    arg: str = ""


@dataclass
class TextForm:
    """A stage's title and description in one language (blank: the language is left out)."""

    title: str = ""
    description: str = ""


@dataclass
class StageForm:
    key: str = ""
    title: str = ""
    description: str = ""
    kind: str = "work"
    duration: DurationField = field(default_factory=DurationField)
    rules: RulesForm = field(default_factory=RulesForm)
    #: The template's own texts per language code (`translations:`), as typed.
    translations: dict[str, TextForm] = field(default_factory=dict)

    def languages(self, offered: Sequence[str]) -> list[str]:
        """The languages the form shows for this stage: those offered, then any other the
        stage holds (a code typed in the YAML stays visible, with its problem, not dropped)."""
        return [*offered, *(code for code in self.translations if code not in offered)]

    def text_in(self, language: str) -> TextForm:
        return self.translations.get(language) or TextForm()


@dataclass
class TransitionForm:
    trigger: str = ""
    sources: list[str] = field(default_factory=list)
    dest: str = ""
    roles: list[str] = field(default_factory=list)
    guards: list[GuardForm] = field(default_factory=list)
    description: str = ""


@dataclass
class TemplateForm:
    key: str = ""
    title: str = ""
    description: str = ""
    initial: str = ""
    defaults: RulesForm = field(
        default_factory=lambda: RulesForm(
            reminders_mode="off", overdue_mode="off", stall_mode="off"
        )
    )
    stages: list[StageForm] = field(default_factory=list)
    transitions: list[TransitionForm] = field(default_factory=list)
    #: The template's own title and description per language code (`translations:`).
    translations: dict[str, TextForm] = field(default_factory=dict)

    def languages(self, offered: Sequence[str]) -> list[str]:
        """The languages the form shows the template's texts in (as a stage's)."""
        return [*offered, *(code for code in self.translations if code not in offered)]

    def text_in(self, language: str) -> TextForm:
        return self.translations.get(language) or TextForm()

    def stage_keys(self) -> list[str]:
        return [stage.key for stage in self.stages]


# --- document -> form ------------------------------------------------------------------------


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _names(value: object) -> list[str]:
    items = value if isinstance(value, list) else [] if value is None else [value]
    return [_text(item) for item in items]


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _reminder(raw: object) -> ReminderForm:
    data = _mapping(raw)
    anchor = next((a for a in ANCHORS if a in data), "before_due")
    return ReminderForm(
        name=_text(data.get("name")),
        anchor=anchor,
        offset=DurationField.from_value(data.get(anchor)),
        late=_text(data.get("late")),
        to=_names(data.get("to")),
    )


def rules_from(data: dict[str, Any], *, defaults: bool) -> RulesForm:
    """The rules of a stage (`defaults` False: absent means inherit) or the defaults."""
    absent = "off" if defaults else "inherit"
    rules = RulesForm(reminders_mode=absent, overdue_mode=absent, stall_mode=absent)
    if "reminders" in data:
        reminders = data["reminders"]
        rules.reminders = [_reminder(r) for r in reminders] if isinstance(reminders, list) else []
        rules.reminders_mode = "own" if rules.reminders else "off"
    if "overdue" in data:
        overdue = data["overdue"]
        rules.overdue_mode = "off" if overdue is None else "own"
        if isinstance(overdue, dict):
            rules.overdue_every = DurationField.from_value(overdue.get("every"))
            rules.overdue_escalate = _text(overdue.get("escalate_after"))
            rules.overdue_to = _names(overdue.get("to"))
    if "stall" in data:
        stall = data["stall"]
        rules.stall_mode = "off" if stall is None else "own"
        if isinstance(stall, dict):
            rules.stall_after = DurationField.from_value(stall.get("after"))
    return rules


def _translations(raw: object) -> dict[str, TextForm]:
    return {
        _text(code): TextForm(
            title=_text(_mapping(item).get("title")),
            description=_text(_mapping(item).get("description")),
        )
        for code, item in _mapping(raw).items()
    }


def _stage(raw: object) -> StageForm:
    data = _mapping(raw)
    kind = "final" if data.get("final") is True else "hold" if data.get("hold") is True else "work"
    return StageForm(
        key=_text(data.get("key")),
        title=_text(data.get("title")),
        description=_text(data.get("description")),
        kind=kind,
        duration=DurationField.from_value(data.get("duration")),
        rules=rules_from(data, defaults=False),
        translations=_translations(data.get("translations")),
    )


def _guards(raw: object) -> list[GuardForm]:
    guards = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and len(item) == 1:
            ((name, arg),) = item.items()
            guards.append(GuardForm(name=_text(name), arg=_text(arg)))
        else:
            guards.append(GuardForm(name=_text(item)))
    return guards


def _transition(raw: object) -> TransitionForm:
    data = _mapping(raw)
    return TransitionForm(
        trigger=_text(data.get("trigger")),
        sources=_names(data.get("from")),
        dest=_text(data.get("to")),
        roles=_names(data.get("roles")),
        guards=_guards(data.get("requires")),
        description=_text(data.get("description")),
    )


def form_from_document(document: dict[str, Any]) -> TemplateForm:
    """The form showing `document` (a template read from YAML)."""
    stages = document.get("stages")
    transitions = document.get("transitions")
    return TemplateForm(
        key=_text(document.get("key")),
        title=_text(document.get("title")),
        description=_text(document.get("description")),
        initial=_text(document.get("initial")),
        defaults=rules_from(_mapping(document.get("defaults")), defaults=True),
        stages=[_stage(s) for s in stages] if isinstance(stages, list) else [],
        transitions=[_transition(t) for t in transitions] if isinstance(transitions, list) else [],
        translations=_translations(document.get("translations")),
    )


# --- form -> document ------------------------------------------------------------------------


def _reminder_document(reminder: ReminderForm) -> dict[str, Any]:
    data: dict[str, Any] = {"name": reminder.name}
    data[reminder.anchor if reminder.anchor in ANCHORS else "before_due"] = (
        reminder.offset.to_value() or "P0D"
    )
    if reminder.late:
        data["late"] = reminder.late
    if reminder.to:
        data["to"] = list(reminder.to)
    return data


def rules_document(rules: RulesForm, *, defaults: bool) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if rules.reminders_mode == "own":
        data["reminders"] = [_reminder_document(r) for r in rules.reminders]
    elif rules.reminders_mode == "off" and not defaults:
        data["reminders"] = []
    if rules.overdue_mode == "own":
        overdue: dict[str, Any] = {
            "every": rules.overdue_every.to_value() or "",
            "escalate_after": _number(rules.overdue_escalate),
        }
        if rules.overdue_to:
            overdue["to"] = list(rules.overdue_to)
        data["overdue"] = overdue
    elif rules.overdue_mode == "off" and not defaults:
        data["overdue"] = None
    if rules.stall_mode == "own":
        data["stall"] = {"after": rules.stall_after.to_value() or ""}
    elif rules.stall_mode == "off" and not defaults:
        data["stall"] = None
    return data


def translations_document(translations: dict[str, TextForm]) -> dict[str, Any]:
    """`{code: {title, description}}` for each language given a text; blank fields left out."""
    document: dict[str, Any] = {}
    for code, text in translations.items():
        item = {
            name: value.strip()
            for name, value in (("title", text.title), ("description", text.description))
            if value.strip()
        }
        if item and code.strip():
            document[code.strip()] = item
    return document


def _number(text: str) -> int | str:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) <= 9 else text


def _guard_arg(registry: GuardRegistry, guard: GuardForm) -> object:
    """The argument typed as the guard's definition expects (a wrong text stays text, so the
    validator names it)."""
    text = guard.arg.strip()
    definition = registry.get(guard.name)
    kinds = () if definition is None else definition.arg_type
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    if bool in kinds and text in ("true", "false"):
        return text == "true"
    if int in kinds and re.fullmatch(r"-?\d{1,9}", text):
        return int(text)
    if float in kinds:
        try:
            return float(text)
        except ValueError:
            return text
    if definition is None and text in ("true", "false"):
        return text == "true"
    return text


def _stage_document(stage: StageForm) -> dict[str, Any]:
    data: dict[str, Any] = {"key": stage.key.strip(), "title": stage.title.strip()}
    if stage.description.strip():
        data["description"] = stage.description.strip()
    translations = translations_document(stage.translations)
    if translations:
        data["translations"] = translations
    duration = stage.duration.to_value()
    if duration is not None:
        data["duration"] = duration
    if stage.kind in ("final", "hold"):
        data[stage.kind] = True
    data.update(rules_document(stage.rules, defaults=False))
    return data


def form_to_document(form: TemplateForm, registry: GuardRegistry) -> dict[str, Any]:
    """The template document the form describes, keys in the order authors write them."""
    document: dict[str, Any] = {"key": form.key.strip(), "title": form.title.strip()}
    if form.description.strip():
        document["description"] = form.description.strip()
    translations = translations_document(form.translations)
    if translations:
        document["translations"] = translations
    if form.initial:
        document["initial"] = form.initial
    defaults = rules_document(form.defaults, defaults=True)
    if defaults:
        document["defaults"] = defaults
    stages = [_stage_document(stage) for stage in form.stages]
    document["stages"] = stages
    transitions = []
    for transition in form.transitions:
        item: dict[str, Any] = {"trigger": transition.trigger}
        sources = list(transition.sources)
        item["from"] = sources[0] if len(sources) == 1 else sources
        item["to"] = transition.dest
        if transition.roles:
            item["roles"] = list(transition.roles)
        if transition.guards:
            item["requires"] = [{g.name: _guard_arg(registry, g)} for g in transition.guards]
        if transition.description.strip():
            item["description"] = transition.description.strip()
        transitions.append(item)
    document["transitions"] = transitions
    return document


def is_special_dest(value: str) -> bool:
    return value == PREVIOUS
