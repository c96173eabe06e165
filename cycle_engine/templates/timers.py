"""Which timers of a stage visit stay, move, appear or are cancelled when its rules change.

The scheduler plans a freshly entered visit from scratch (`scheduler.rules.plan_visit`); a
migrated visit is half-way through, so this plans it against the timers it already has, with the
same rules and the same working calendar, changing only what the new rules change:

- a reminder whose moment already passed is not created (nobody missed it); one still waiting
  for a worker keeps its place;
- the deadline, the overdue series and the stall check never fire twice for the same moment: a
  timer that already fired for it is left alone, a moment that moved into the future gets the
  next occurrence, a moment now in the past fires at once;
- an overdue series keeps its position (a cycle that had its second overdue reminder does not get
  the first again); a series whose deadline moved starts over from the new deadline;
- a timer whose rule is gone is cancelled.

`plan_timers` is pure: the preview shows its decisions, and apply carries out the very same
decisions on the locked cycle, so what the preview predicts is what apply does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from cycle_engine.clock import as_utc
from cycle_engine.scheduler import rules
from cycle_engine.scheduler.rules import PlannedTimer
from cycle_engine.scheduler.working_hours import WorkingCalendar
from cycle_engine.spec.specs import OverdueSpec, StageSpec
from cycle_engine.store.tables import StageRecord
from cycle_engine.store.tables.timers import CANCELLED, CLAIMED, PENDING, REMINDER, TimerRecord

OPEN = (PENDING, CLAIMED)
Action = Literal["keep", "move", "add", "cancel"]


@dataclass(frozen=True, kw_only=True)
class TimerDecision:
    """What happens to one rule's timer: `before` and `after` are when it fires (None: none)."""

    action: Action
    kind: str
    rule: str
    before: datetime | None
    after: datetime | None
    row_id: int | None = None
    occurrence: int = 1
    plan: PlannedTimer | None = None

    @property
    def changed(self) -> bool:
        """Whether people see a difference: a time that moves, appears or goes."""
        return self.before != self.after


def nominal(row: TimerRecord) -> datetime | None:
    """The moment a row was planned for, before working hours held it (None when unknown)."""
    value = row.payload.get("nominal_at")
    if not isinstance(value, str):
        return None
    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        return None


def same_rule(row: TimerRecord, plan: PlannedTimer) -> bool:
    """Whether the row already carries what `plan` says (moment, recipients, policy...)."""
    kept = {k: v for k, v in row.payload.items() if k not in ("nominal_at", "cancelled_because")}
    return nominal(row) == plan.nominal_at and kept == dict(plan.payload)


def plan_timers(
    stage: StageSpec,
    visit: StageRecord,
    rows: Sequence[TimerRecord],
    calendar: WorkingCalendar,
    now: datetime,
) -> list[TimerDecision]:
    """The decisions that make the visit's timers follow `stage`'s rules; see the module
    docstring. `visit` carries the visit's dates after the migration (its new deadline)."""
    newest: dict[str, TimerRecord] = {}
    for row in sorted(rows, key=lambda r: r.occurrence):
        newest[row.rule] = row
    decisions: list[TimerDecision] = []
    wanted: set[str] = set()
    for plan in _desired(stage, visit, newest, calendar, now):
        wanted.add(plan.rule)
        decision = _decide(plan, newest.get(plan.rule), now)
        if decision is not None:
            decisions.append(decision)
    for rule, row in newest.items():
        if rule not in wanted and row.status in OPEN:
            decisions.append(
                TimerDecision(
                    action="cancel",
                    kind=row.kind,
                    rule=rule,
                    before=row.due_at,
                    after=None,
                    row_id=row.id,
                )
            )
    return decisions


def pending_after(decisions: Sequence[TimerDecision]) -> list[tuple[str, str, datetime]]:
    """The visit's waiting timers once the decisions are carried out: (kind, rule, when)."""
    return sorted(
        (d.kind, d.rule, d.after) for d in decisions if d.action != "cancel" and d.after is not None
    )


def _desired(
    stage: StageSpec,
    visit: StageRecord,
    newest: dict[str, TimerRecord],
    calendar: WorkingCalendar,
    now: datetime,
) -> list[PlannedTimer]:
    plans: list[PlannedTimer] = []
    for rule in stage.reminders:
        reminder = rules.reminder_timer(rule, visit, calendar)
        if reminder is None:
            continue
        if reminder.due_at < now:  # passed: only one still waiting for a worker stays
            row = newest.get(reminder.rule)
            waiting = row is not None and row.status in OPEN
            if not (waiting and row is not None and nominal(row) == reminder.nominal_at):
                continue
        plans.append(reminder)
    due = rules.due_timer(visit)
    if due is not None:
        plans.append(due)
    if stage.overdue is not None and visit.due_at is not None:
        overdue = _overdue(stage.overdue, visit, newest.get(rules.OVERDUE_RULE), calendar, now)
        if overdue is not None:
            plans.append(overdue)
    stall = rules.stall_timer(stage, visit)
    if stall is not None:
        plans.append(stall)
    return plans


def _overdue(
    rule: OverdueSpec,
    visit: StageRecord,
    row: TimerRecord | None,
    calendar: WorkingCalendar,
    now: datetime,
) -> PlannedTimer | None:
    """The overdue reminder the visit waits for: the series keeps its place while its moment
    is unchanged, else it is the first one after `now` (the first of all while not overdue)."""
    assert visit.due_at is not None
    if row is not None and row.status in OPEN:
        series = row.payload.get("series")
        if isinstance(series, int) and 1 <= series <= rule.escalate_after + 1:
            same = rules.overdue_timer(rule, visit, calendar, series)
            if same is not None and nominal(row) == same.nominal_at:
                return same
    if visit.due_at > now:
        return rules.overdue_timer(rule, visit, calendar, 1)
    series = rules.latest_overdue_series(rule, visit, calendar, now) + 1
    return rules.overdue_timer(rule, visit, calendar, series)


def _decide(plan: PlannedTimer, row: TimerRecord | None, now: datetime) -> TimerDecision | None:
    clamped = _clamped(plan, now)
    if row is None:
        return _add(clamped, before=None, occurrence=1)
    if row.status in OPEN:
        if same_rule(row, plan):
            return TimerDecision(
                action="keep",
                kind=row.kind,
                rule=row.rule,
                before=row.due_at,
                after=row.due_at,
                row_id=row.id,
            )
        return TimerDecision(
            action="move",
            kind=plan.kind,
            rule=plan.rule,
            before=row.due_at,
            after=clamped.due_at,
            row_id=row.id,
            plan=clamped,
        )
    if row.status == CANCELLED:
        return _add(clamped, before=None, occurrence=row.occurrence + 1)
    if nominal(row) != plan.nominal_at and plan.due_at > now:  # fired for another moment
        return _add(clamped, before=None, occurrence=row.occurrence + 1)
    return None  # it already fired for this moment, or the new moment passed


def _add(plan: PlannedTimer, *, before: datetime | None, occurrence: int) -> TimerDecision:
    return TimerDecision(
        action="add",
        kind=plan.kind,
        rule=plan.rule,
        before=before,
        after=plan.due_at,
        occurrence=occurrence,
        plan=plan,
    )


def _clamped(plan: PlannedTimer, now: datetime) -> PlannedTimer:
    """A deadline, overdue or stall moment in the past fires at once (as `scheduler.store`)."""
    if plan.kind == REMINDER or plan.due_at >= now:
        return plan
    return PlannedTimer(
        kind=plan.kind,
        rule=plan.rule,
        due_at=now,
        nominal_at=plan.nominal_at,
        payload=plan.payload,
    )
