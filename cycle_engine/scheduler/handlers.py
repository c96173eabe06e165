"""What each built-in timer kind does when it fires, including its policy when found late.

- reminder: `reminder_due`. Late: a reminder superseded by a later one of the same visit that is
  also due is dropped ("send the latest once"); a `drop_stale` reminder for a step already due
  is dropped; otherwise it is sent, marked late.
- due: `stage_overdue` (a deadline moved later since is cancelled).
- overdue: `overdue_reminder` number k, then the next one in the series; number
  `escalate_after + 1` is `escalated` and flags the stage stalled. Late: only the newest
  number whose time has passed is sent; the ones skipped are listed in the event.
- stall: `stalled` with its reasons, unless there was activity since (then it re-plans).
A stage left since the timer was planned cancels the timer without effect.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from cycle_engine.scheduler import rules, stalled, store
from cycle_engine.scheduler.firing import TimerFiring, TimerHandlers, Verdict
from cycle_engine.store.tables.timers import (
    CANCELLED,
    CLAIMED,
    DROPPED,
    DUE,
    FIRED,
    NO_ACTIVITY,
    OVERDUE,
    OVERDUE_ESCALATED,
    PENDING,
    REMINDER,
    STALL,
    TimerRecord,
)

STAGE_LEFT = Verdict(CANCELLED, "the stage was left")


def fire_reminder(firing: TimerFiring) -> Verdict:
    visit = firing.open_visit()
    if visit is None:
        return STAGE_LEFT
    timer, now = firing.timer, firing.now
    if firing.late:
        later = firing.session.exec(
            select(TimerRecord.rule)
            .where(
                TimerRecord.stage_visit_id == visit.id,
                TimerRecord.kind == REMINDER,
                TimerRecord.id != timer.id,
                col(TimerRecord.due_at) > timer.due_at,
                col(TimerRecord.due_at) <= now,
                col(TimerRecord.status).in_((PENDING, CLAIMED, FIRED)),
            )
            .order_by(col(TimerRecord.due_at).desc())
        ).first()
        if later is not None:
            return Verdict(DROPPED, f"superseded by the later reminder {later!r}")
        nominal = timer.payload.get("nominal_at", timer.due_at.isoformat())
        stale = (
            visit.due_at is not None
            and visit.due_at <= now
            and (nominal < visit.due_at.isoformat())
        )
        if timer.payload.get("late_policy") == "drop_stale" and stale:
            return Verdict(DROPPED, "stale: the step is already due")
    firing.record(
        "reminder_due",
        {
            "to": timer.payload.get("to", []),
            "stage_due_at": visit.due_at.isoformat() if visit.due_at else None,
        },
    )
    return Verdict(FIRED)


def fire_due(firing: TimerFiring) -> Verdict:
    visit = firing.open_visit()
    if visit is None:
        return STAGE_LEFT
    if visit.due_at is None or visit.due_at > firing.now:
        return Verdict(CANCELLED, "the deadline moved")
    firing.record("stage_overdue", {"stage_due_at": visit.due_at.isoformat()})
    return Verdict(FIRED)


def fire_overdue(firing: TimerFiring) -> Verdict:
    visit = firing.open_visit()
    if visit is None:
        return STAGE_LEFT
    assert firing.cycle is not None
    rule = firing.spec().stage(visit.stage).overdue
    if rule is None or visit.due_at is None or visit.due_at > firing.now:
        return Verdict(CANCELLED, "the stage is not overdue")
    session, timer, now = firing.session, firing.timer, firing.now
    calendar = rules.calendar_for_cycle(session, firing.cycle)
    planned = int(timer.payload.get("series", 1))
    series = max(planned, rules.latest_overdue_series(rule, visit, calendar, now))
    data = {
        "series": series,
        "escalate_after": rule.escalate_after,
        "skipped": list(range(planned, series)),
        "to": list(rule.to),
        "stage_due_at": visit.due_at.isoformat(),
    }
    timer.payload = {**timer.payload, "series": series, "escalate": series > rule.escalate_after}
    if series <= rule.escalate_after:
        firing.record("overdue_reminder", data)
        upcoming = rules.overdue_timer(rule, visit, calendar, series + 1)
        if upcoming is not None:
            store.add_next(session, timer, visit, upcoming, now)
        return Verdict(FIRED)
    firing.record("escalated", data)
    stalled.set_flag(
        session,
        visit,
        OVERDUE_ESCALATED,
        f"overdue since {_readable(visit.due_at)}; escalated after "
        f"{rule.escalate_after} overdue reminders",
        now,
    )
    return Verdict(FIRED)


def fire_stall(firing: TimerFiring) -> Verdict:
    visit = firing.open_visit()
    if visit is None:
        return STAGE_LEFT
    assert firing.cycle is not None
    stage = firing.spec().stage(visit.stage)
    if stage.stall is None:
        return Verdict(CANCELLED, "the stage has no stall rule")
    session, now = firing.session, firing.now
    if visit.last_activity_at + stage.stall.after > now:
        upcoming = rules.stall_timer(stage, visit)
        if upcoming is not None:
            store.add_next(session, firing.timer, visit, upcoming, now)
        return Verdict(CANCELLED, "there was activity since; checking again later")
    idle_days = (now - visit.last_activity_at).days
    stalled.set_flag(
        session,
        visit,
        NO_ACTIVITY,
        f"no activity since {_readable(visit.last_activity_at)} ({idle_days} days)",
        now,
    )
    stalled.check_turnover(session, firing.cycle, visit, now)
    assert visit.id is not None
    reasons = [
        {"reason": flag.reason, "detail": flag.detail}
        for flag in stalled.active_flags(session, visit.id)
    ]
    firing.record(
        "stalled", {"reasons": reasons, "last_activity_at": visit.last_activity_at.isoformat()}
    )
    return Verdict(FIRED)


def default_handlers() -> TimerHandlers:
    """The handlers of the built-in kinds (the notifications package adds "digest")."""
    return TimerHandlers(
        {
            REMINDER: fire_reminder,
            DUE: fire_due,
            OVERDUE: fire_overdue,
            STALL: fire_stall,
        }
    )


def _readable(moment: datetime) -> str:
    """A stored reason's time, for people: '10 Sep 2026 15:00 UTC' (pages add local time)."""
    return moment.strftime("%d %b %Y %H:%M UTC")
