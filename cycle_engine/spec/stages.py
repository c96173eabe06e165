"""Convert the `stages` and `defaults` sections of a parsed template into stage specs.

Split from the loader so each module stays small. Every field is checked as it is converted, with
the path of the bad value; a stage that cannot be converted at all (no key, not a mapping) is
reported and left out so the graph checks still run on the rest. Work stages inherit the
`defaults` reminders, overdue and stall rules unless they set their own (`reminders: []` or
`overdue: null` turns one off); hold and final stages never inherit them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from cycle_engine.spec.messages import N_
from cycle_engine.spec.specs import LatePolicy, OverdueSpec, ReminderSpec, StageSpec, StallSpec
from cycle_engine.spec.translations import convert_translations
from cycle_engine.spec.validate import (
    SNAKE_NAME,
    Problems,
    check_keys,
    expect_duration,
    expect_flag,
    expect_name,
    expect_roles,
    expect_text,
)

DEFAULTS_KEYS = ("reminders", "overdue", "stall")
STAGE_KEYS = (
    "key",
    "title",
    "description",
    "duration",
    "final",
    "hold",
    "reminders",
    "overdue",
    "stall",
    "translations",
)
REMINDER_KEYS = ("name", "before_due", "after_due", "after_entry", "late", "to")
OVERDUE_KEYS = ("every", "escalate_after", "to")
STALL_KEYS = ("after",)
LATE_POLICIES: tuple[LatePolicy, ...] = ("send_latest", "drop_stale")

#: Recipients when a rule does not say (the spec classes' own defaults).
REMINDER_TO: tuple[str, ...] = ("focal_point", "active")
OVERDUE_TO: tuple[str, ...] = ("focal_point",)

_ANCHORS = {"before_due": ("due", -1), "after_due": ("due", 1), "after_entry": ("entry", 1)}


@dataclass(frozen=True, kw_only=True)
class StageDefaults:
    """What a work stage inherits when it does not set its own rules."""

    reminders: tuple[ReminderSpec, ...] = ()
    overdue: OverdueSpec | None = None
    stall: StallSpec | None = None


def convert_defaults(problems: Problems, raw: object) -> StageDefaults:
    """The `defaults` section (absent means no default rules)."""
    if raw is None:
        return StageDefaults()
    if not isinstance(raw, dict):
        problems.add(
            "defaults", N_("expected a mapping with keys {keys}"), keys=", ".join(DEFAULTS_KEYS)
        )
        return StageDefaults()
    check_keys(problems, raw, "defaults", DEFAULTS_KEYS)
    return StageDefaults(
        reminders=convert_reminders(problems, raw.get("reminders", []), "defaults.reminders"),
        overdue=convert_overdue(problems, raw.get("overdue"), "defaults.overdue"),
        stall=convert_stall(problems, raw.get("stall"), "defaults.stall"),
    )


def convert_stage(
    problems: Problems, raw: object, path: str, defaults: StageDefaults
) -> StageSpec | None:
    """One stage, or None (reported) when it has no usable key."""
    if not isinstance(raw, dict):
        problems.add(path, N_("a stage is a mapping with keys {keys}"), keys=", ".join(STAGE_KEYS))
        return None
    check_keys(problems, raw, path, STAGE_KEYS, required=("key", "title"))
    key = None
    if "key" in raw:
        key = expect_name(
            problems, raw["key"], f"{path}.key", what=N_("a stage key"), pattern=SNAKE_NAME
        )
    final = expect_flag(problems, raw.get("final", False), f"{path}.final")
    hold = expect_flag(problems, raw.get("hold", False), f"{path}.hold")
    title = expect_text(problems, raw.get("title", ""), f"{path}.title")
    description = expect_text(problems, raw.get("description", ""), f"{path}.description")
    translations = convert_translations(problems, raw.get("translations"), f"{path}.translations")
    if key is None:
        return None
    if final or hold:
        stage = _convert_rest_stage(problems, raw, path, key, title, description, final=final)
        return replace(stage, translations=translations)
    if "duration" not in raw:
        problems.add(path, N_("missing required key 'duration' (a work stage needs a due date)"))
    duration = expect_duration(problems, raw.get("duration", "P1D"), f"{path}.duration")
    reminders = defaults.reminders
    if "reminders" in raw:
        reminders = convert_reminders(problems, raw["reminders"], f"{path}.reminders")
    overdue, stall = defaults.overdue, defaults.stall
    if "overdue" in raw:
        overdue = convert_overdue(problems, raw["overdue"], f"{path}.overdue")
    if "stall" in raw:
        stall = convert_stall(problems, raw["stall"], f"{path}.stall")
    return StageSpec(
        key=key,
        title=title,
        description=description,
        duration=duration,
        reminders=reminders,
        overdue=overdue,
        stall=stall,
        translations=translations,
    )


def _convert_rest_stage(
    problems: Problems,
    raw: dict[Any, Any],
    path: str,
    key: str,
    title: str,
    description: str,
    *,
    final: bool,
) -> StageSpec:
    """A final or hold stage: no due date and no reminders, so no timers while a cycle rests."""
    takes_no = (
        N_("a final stage takes no {name!r}") if final else N_("a hold stage takes no {name!r}")
    )
    if final and raw.get("hold") is True:
        problems.add(f"{path}.hold", N_("a stage cannot be both final and hold"))
    for name in ("duration", "reminders", "overdue", "stall"):
        if name in raw:
            problems.add(f"{path}.{name}", takes_no, name=name)
    return StageSpec(key=key, title=title, description=description, final=final, hold=not final)


def convert_reminders(problems: Problems, raw: object, path: str) -> tuple[ReminderSpec, ...]:
    """A list of reminder rules; names must be unique within the list."""
    if not isinstance(raw, list):
        problems.add(path, N_("expected a list of reminder rules, got {value!r}"), value=raw)
        return ()
    rules: list[ReminderSpec] = []
    for index, item in enumerate(raw):
        rule = _convert_reminder(problems, item, f"{path}[{index}]")
        if rule is None:
            continue
        if any(r.name == rule.name for r in rules):
            problems.add(
                f"{path}[{index}].name", N_("duplicate reminder name {name!r}"), name=rule.name
            )
        rules.append(rule)
    return tuple(rules)


def _convert_reminder(problems: Problems, raw: object, path: str) -> ReminderSpec | None:
    if not isinstance(raw, dict):
        problems.add(
            path, N_("a reminder rule is a mapping with keys {keys}"), keys=", ".join(REMINDER_KEYS)
        )
        return None
    check_keys(problems, raw, path, REMINDER_KEYS, required=("name",))
    name = None
    if "name" in raw:
        name = expect_name(
            problems, raw["name"], f"{path}.name", what=N_("a reminder name"), pattern=SNAKE_NAME
        )
    given = [key for key in _ANCHORS if key in raw]
    if len(given) != 1:
        anchors = ", ".join(_ANCHORS)
        if given:
            problems.add(
                path,
                N_("a reminder needs exactly one of {anchors} (found {found})"),
                anchors=anchors,
                found=", ".join(given),
            )
        else:
            problems.add(path, N_("a reminder needs exactly one of {anchors}"), anchors=anchors)
        return None
    (when,) = given
    offset = expect_duration(problems, raw[when], f"{path}.{when}", allow_zero=True)
    late = raw.get("late", "drop_stale")
    if late not in LATE_POLICIES:
        problems.add(
            f"{path}.late",
            N_("expected one of {choices}, got {value!r}"),
            choices=", ".join(LATE_POLICIES),
            value=late,
        )
        late = "drop_stale"
    to = REMINDER_TO
    if "to" in raw:
        to = expect_roles(problems, raw["to"], f"{path}.to", problems.vocabulary.recipient_roles)
    if name is None or offset is None:
        return None
    anchor, sign = _ANCHORS[when]
    return ReminderSpec(
        name=name,
        anchor="due" if anchor == "due" else "entry",
        offset=sign * offset,
        late="send_latest" if late == "send_latest" else "drop_stale",
        to=to,
    )


def convert_overdue(problems: Problems, raw: object, path: str) -> OverdueSpec | None:
    """Overdue follow-up rule, or None when absent or turned off with null."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.add(path, N_("expected a mapping with keys {keys}"), keys=", ".join(OVERDUE_KEYS))
        return None
    check_keys(problems, raw, path, OVERDUE_KEYS, required=("every", "escalate_after"))
    every = expect_duration(problems, raw.get("every", "P1D"), f"{path}.every")
    escalate = raw.get("escalate_after", 1)
    if isinstance(escalate, bool) or not isinstance(escalate, int) or escalate < 1:
        problems.add(
            f"{path}.escalate_after",
            N_("expected a whole number >= 1, got {value!r}"),
            value=escalate,
        )
        escalate = 1
    to = OVERDUE_TO
    if "to" in raw:
        to = expect_roles(problems, raw["to"], f"{path}.to", problems.vocabulary.recipient_roles)
    if every is None:
        return None
    return OverdueSpec(every=every, escalate_after=escalate, to=tuple(to))


def convert_stall(problems: Problems, raw: object, path: str) -> StallSpec | None:
    """Stall rule, or None when absent or turned off with null."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.add(path, N_("expected a mapping with keys {keys}"), keys=", ".join(STALL_KEYS))
        return None
    check_keys(problems, raw, path, STALL_KEYS, required=("after",))
    after = expect_duration(problems, raw.get("after", "P1D"), f"{path}.after")
    return StallSpec(after=after) if after is not None else None
