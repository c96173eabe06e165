"""Template rules said in words: durations, reminders, overdue and stall rules, requirements.

The diff and the migration preview speak to coordinators, not to YAML readers, so `P2W` is
"2 weeks", `before_due: P7D` is "7 days before the deadline" and `contexts_reported: 3` is
"at least 3 contexts reported results". A guard this module does not know (a host's own) is
shown as its name and argument.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cycle_engine.spec.specs import GuardSpec, OverdueSpec, ReminderSpec, StageSpec, StallSpec

_GUARDS = {
    "product": "a “{arg}” product recorded",
    "contexts_reported": "at least {arg} contexts reported results",
    "learning_questions": "at least {arg} learning questions",
    "roles_assigned": "a lead with a focal point for every later stage",
    "questions_answered": "every learning question answered",
    "note": "a note saying why",
}


def _unit(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def words(delta: timedelta | None) -> str:
    """A duration in words: "2 weeks", "10 days", "1 day 12 hours", "no time"."""
    if delta is None:
        return "no set time"
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days and days % 7 == 0 and not (hours or minutes):
        return _unit(days // 7, "week")
    parts = [
        _unit(value, unit)
        for value, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"))
        if value
    ]
    return " ".join(parts) or "no time"


def roles_words(roles: Iterable[str]) -> str:
    return ", ".join(role.replace("_", " ") for role in roles) or "nobody"


def reminder_words(rule: ReminderSpec) -> str:
    """When a reminder goes and to whom: "7 days before the deadline, to focal point, lead"."""
    offset = rule.offset
    if rule.anchor == "entry":
        when = "when the stage starts" if not offset else f"{words(offset)} after the stage starts"
    elif not offset:
        when = "on the deadline"
    elif offset < timedelta(0):
        when = f"{words(offset)} before the deadline"
    else:
        when = f"{words(offset)} after the deadline"
    late = ", sent late if need be" if rule.late == "send_latest" else ""
    return f"{when}, to {roles_words(rule.to)}{late}"


def overdue_words(rule: OverdueSpec | None) -> str:
    if rule is None:
        return "none at all"
    return (
        f"every {words(rule.every)} once the deadline passed, to {roles_words(rule.to)}, "
        f"escalated after {rule.escalate_after}"
    )


def stall_words(rule: StallSpec | None) -> str:
    if rule is None:
        return "never counts as stalled"
    return f"counts as stalled after {words(rule.after)} without activity"


def guard_words(guard: GuardSpec) -> str:
    """A requirement in words ("at least 3 contexts reported results")."""
    phrase = _GUARDS.get(guard.name)
    if phrase is None:
        return f"{guard.name}: {guard.arg}"
    return phrase.format(arg=guard.arg)


def stage_kind(stage: StageSpec) -> str:
    if stage.final:
        return "final"
    return "hold" if stage.hold else "work"


def local(moment: datetime | None, timezone: str) -> str:
    """A moment in a time zone, as people read it: "Mon 2 Mar 2026, 17:00"."""
    if moment is None:
        return "none"
    at = moment.astimezone(ZoneInfo(timezone))
    return f"{at:%a} {at.day} {at:%b %Y, %H:%M}"
