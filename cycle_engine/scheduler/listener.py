"""The scheduler's `ChangeListener`: timers follow every change in the change's transaction.

Entering a stage creates its timers; leaving it cancels what is left and clears its stall
flags; `due_date_moved` re-plans the visit's deadline timers; any activity (every event but the
scheduler's own) touches the visit's `last_activity_at`, clears its stall flags, re-checks
turnover and moves its stall check. Nothing here commits.
"""

from __future__ import annotations

from cycle_engine.changes import Change
from cycle_engine.scheduler import rules, stalled, store
from cycle_engine.store.events import current_visit, new_visit_ids
from cycle_engine.store.tables import StageRecord
from cycle_engine.store.tables.timers import DUE, OVERDUE, REMINDER, STALL, StallRecord, TimerRecord

#: Event kinds the scheduler appends when timers fire; they are not activity on a stage.
SCHEDULER_EVENT_KINDS = frozenset(
    {
        "reminder_due",
        "stage_overdue",
        "overdue_reminder",
        "escalated",
        "stalled",
        "timer_late",
    }
)
#: Events that are not progress on a stage: the scheduler's own, a manager's nudge, and a move
#: to another template version (`cycle_engine.templates.apply` rebuilds the timers itself).
NOT_ACTIVITY_KINDS = SCHEDULER_EVENT_KINDS | {"nudged", "template_migrated"}
DEADLINE_KINDS = (REMINDER, DUE, OVERDUE)
PLANNED_KINDS = (REMINDER, DUE, OVERDUE, STALL)


class SchedulerListener:
    """Creates, moves and cancels a cycle's timers as its stages change."""

    def on_change(self, change: Change) -> None:
        session, cycle, now = change.session, change.cycle, change.now
        assert cycle.id is not None
        if change.event.kind in NOT_ACTIVITY_KINDS:
            return
        if (
            change.left is not None
            and change.left.id is not None
            and (change.entered is None or change.entered.id != change.left.id)
        ):
            store.cancel_visit_timers(session, change.left.id)
            stalled.clear_flags(session, change.left.id, now)
        entered = change.entered
        fresh = entered is not None and change.event.kind != "due_date_moved"
        untouched = fresh and _untouched(change, entered)
        if entered is not None and change.spec.has_stage(entered.stage):
            stage = change.spec.stage(entered.stage)
            calendar = rules.calendar_for_cycle(session, cycle)
            if change.event.kind == "due_date_moved":
                planned = rules.deadline_timers(stage, entered, calendar)
                store.sync_visit_timers(session, cycle.id, entered, planned, now, DEADLINE_KINDS)
            else:
                planned = rules.plan_visit(stage, entered, calendar)
                store.sync_visit_timers(
                    session, cycle.id, entered, planned, now, PLANNED_KINDS, fresh=untouched
                )
        if entered is not None and entered.id is not None:
            new_visit_ids(session).discard(entered.id)  # it has timers now
        visit = entered or current_visit(session, cycle)
        if visit is not None and visit.left_at is None:
            self._activity(change, visit, move_stall=not fresh, flagged=not untouched)

    def _activity(
        self, change: Change, visit: StageRecord, *, move_stall: bool, flagged: bool = True
    ) -> None:
        """Activity on the open visit: touch it, clear its flags, move its stall check.

        `flagged=False`: the visit was opened in this transaction and has no flags to clear.
        """
        session, cycle, now = change.session, change.cycle, change.now
        assert visit.id is not None and cycle.id is not None
        if visit.last_activity_at < now:
            visit.last_activity_at = now
            session.add(visit)
        if flagged:
            stalled.clear_flags(session, visit.id, now)
        stalled.check_turnover(session, cycle, visit, now)
        if not move_stall or not change.spec.has_stage(visit.stage):
            return
        stall = rules.stall_timer(change.spec.stage(visit.stage), visit)
        if stall is not None:
            newest = store.newest_by_rule(session, visit.id, (STALL,)).get(stall.rule)
            if newest is None:
                session.add(store.new_timer(cycle.id, visit, stall, 1, now))
            elif newest.status in store.OPEN_STATUSES:
                store.move_timer(newest, stall)
                session.add(newest)
            else:
                store.add_next(session, newest, visit, stall, now)


def _untouched(change: Change, visit: StageRecord | None) -> bool:
    """Whether `visit` was opened in this transaction and nothing gave it timers or flags yet."""
    if visit is None or visit.id not in new_visit_ids(change.session):
        return False
    session = change.session
    return not any(
        isinstance(obj, TimerRecord | StallRecord) and obj.stage_visit_id == visit.id
        for obj in (*session.new, *session.identity_map.values())
    )
