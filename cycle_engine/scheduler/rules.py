"""From a stage's rules to planned timers: when each reminder, the deadline, each overdue
reminder and the stall check of one stage visit fire.

Pure functions of the template's `StageSpec`, the visit and the cycle's working calendar; the
store (`scheduler.store`) turns plans into rows. Whole-day offsets count local calendar days in
the alliance's zone, so "7 days before" keeps its local time of day across a DST change;
reminders and overdue reminders are then held to the alliance's working day. The deadline and
the stall check are facts about the stage, not messages, so they fire at their exact instant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from cycle_engine.scheduler.working_hours import (
    UTC_CALENDAR,
    WorkingCalendar,
    parse_weekend_days,
)
from cycle_engine.spec.specs import OverdueSpec, ReminderSpec, StageSpec
from cycle_engine.store.tables import CycleRecord, StageRecord
from cycle_engine.store.tables.alliances import AllianceRecord
from cycle_engine.store.tables.timers import DUE, OVERDUE, REMINDER, STALL

DUE_RULE = "due"
OVERDUE_RULE = "overdue"
STALL_RULE = "stall"


@dataclass(frozen=True, kw_only=True)
class PlannedTimer:
    """A timer a stage visit should have: `due_at` is held to working hours, `nominal_at` not."""

    kind: str
    rule: str
    due_at: datetime
    nominal_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


def calendar_for_cycle(session: Session, cycle: CycleRecord) -> WorkingCalendar:
    """The working calendar of the cycle's alliance; round-the-clock UTC without one."""
    if cycle.alliance_id is None:
        return UTC_CALENDAR
    alliance = session.get(AllianceRecord, cycle.alliance_id)
    if alliance is None:
        return UTC_CALENDAR
    return WorkingCalendar(
        timezone=alliance.timezone,
        start_hour=alliance.working_hours_start,
        end_hour=alliance.working_hours_end,
        weekend_days=parse_weekend_days(alliance.weekend_days),
    )


def reminder_timer(
    rule: ReminderSpec, visit: StageRecord, calendar: WorkingCalendar
) -> PlannedTimer | None:
    """When `rule` fires for `visit`; None when its anchor (the deadline) is missing or the
    moment falls before the stage was entered (a week-before reminder of a 3-day stage)."""
    anchor = visit.due_at if rule.anchor == "due" else visit.entered_at
    if anchor is None:
        return None
    nominal = calendar.shift(anchor, rule.offset)
    if nominal < visit.entered_at:
        return None
    return PlannedTimer(
        kind=REMINDER,
        rule=rule.name,
        due_at=calendar.hold(nominal),
        nominal_at=nominal,
        payload={
            "anchor": rule.anchor,
            "offset_seconds": int(rule.offset.total_seconds()),
            "late_policy": rule.late,
            "to": list(rule.to),
        },
    )


def due_timer(visit: StageRecord) -> PlannedTimer | None:
    """The moment the stage becomes overdue (exact, not held)."""
    if visit.due_at is None:
        return None
    return PlannedTimer(
        kind=DUE,
        rule=DUE_RULE,
        due_at=visit.due_at,
        nominal_at=visit.due_at,
        payload={"late_policy": "send_latest"},
    )


def overdue_moment(
    rule: OverdueSpec, visit: StageRecord, calendar: WorkingCalendar, series: int
) -> datetime:
    """Nominal time of overdue reminder number `series` (1 = one period after the deadline)."""
    assert visit.due_at is not None
    return calendar.shift(visit.due_at, rule.every * series)


def overdue_timer(
    rule: OverdueSpec, visit: StageRecord, calendar: WorkingCalendar, series: int
) -> PlannedTimer | None:
    """Overdue reminder `series` of the visit; number `escalate_after + 1` is the escalation.

    None past the escalation (the series ends there) or without a deadline.
    """
    if visit.due_at is None or series > rule.escalate_after + 1:
        return None
    nominal = overdue_moment(rule, visit, calendar, series)
    return PlannedTimer(
        kind=OVERDUE,
        rule=OVERDUE_RULE,
        due_at=calendar.hold(nominal),
        nominal_at=nominal,
        payload={
            "series": series,
            "escalate_after": rule.escalate_after,
            "escalate": series > rule.escalate_after,
            "every_seconds": int(rule.every.total_seconds()),
            "to": list(rule.to),
            "late_policy": "send_latest",
        },
    )


def latest_overdue_series(
    rule: OverdueSpec, visit: StageRecord, calendar: WorkingCalendar, now: datetime
) -> int:
    """The newest series number whose nominal time has passed at `now` (0 if none)."""
    latest = 0
    for series in range(1, rule.escalate_after + 2):
        if overdue_moment(rule, visit, calendar, series) > now:
            break
        latest = series
    return latest


def stall_timer(stage: StageSpec, visit: StageRecord) -> PlannedTimer | None:
    """The stall check: `stall.after` past the visit's last activity."""
    if stage.stall is None:
        return None
    moment = visit.last_activity_at + stage.stall.after
    return PlannedTimer(
        kind=STALL,
        rule=STALL_RULE,
        due_at=moment,
        nominal_at=moment,
        payload={
            "after_seconds": int(stage.stall.after.total_seconds()),
            "late_policy": "send_latest",
        },
    )


def deadline_timers(
    stage: StageSpec, visit: StageRecord, calendar: WorkingCalendar
) -> list[PlannedTimer]:
    """Everything that depends on the visit's dates: reminders, deadline, first overdue."""
    planned = [reminder_timer(rule, visit, calendar) for rule in stage.reminders]
    planned.append(due_timer(visit))
    if stage.overdue is not None:
        planned.append(overdue_timer(stage.overdue, visit, calendar, 1))
    return [p for p in planned if p is not None]


def plan_visit(
    stage: StageSpec, visit: StageRecord, calendar: WorkingCalendar
) -> list[PlannedTimer]:
    """Every timer a freshly entered stage visit gets."""
    planned = deadline_timers(stage, visit, calendar)
    stall = stall_timer(stage, visit)
    if stall is not None:
        planned.append(stall)
    return planned
