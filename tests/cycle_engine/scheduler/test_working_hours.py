"""Reminders land in working hours in the alliance's time zone, and DST changes neither skip
nor double one; storage stays UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cycle_engine import CycleEngine, InvalidInput
from cycle_engine.scheduler.working_hours import next_working_time
from cycle_engine.testing import ManualClock

from .conftest import days, drain, scheduler_events

BOGOTA = "America/Bogota"  # UTC-5, no DST
NEW_YORK = "America/New_York"  # DST from 2026-03-08 (UTC-5 -> UTC-4)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (utc(2026, 1, 7, 15, 0), utc(2026, 1, 7, 15, 0)),  # Wed 10:00 Bogota: inside
        (utc(2026, 1, 7, 8, 0), utc(2026, 1, 7, 14, 0)),  # Wed 03:00: held to 09:00
        (utc(2026, 1, 7, 22, 0), utc(2026, 1, 7, 22, 0)),  # Wed 17:00: end of day, inside
        (utc(2026, 1, 7, 23, 30), utc(2026, 1, 8, 14, 0)),  # Wed 18:30: next morning
        (utc(2026, 1, 9, 23, 0), utc(2026, 1, 12, 14, 0)),  # Fri 18:00: Monday morning
        (utc(2026, 1, 10, 15, 0), utc(2026, 1, 12, 14, 0)),  # Saturday: Monday morning
    ],
)
def test_next_working_time_holds_night_and_weekend(moment: datetime, expected: datetime) -> None:
    """A moment outside 09:00-17:00 Monday-Friday in Bogota moves to the next working start."""
    assert next_working_time(moment, BOGOTA, 9, 17, {5, 6}) == expected


def test_next_working_time_follows_dst_in_new_york() -> None:
    """The working day starts at 09:00 local on both sides of the DST change (14:00 UTC before,
    13:00 UTC after), including the Sunday night of the change itself."""
    assert next_working_time(utc(2026, 3, 6, 23, 0), NEW_YORK) == utc(2026, 3, 9, 13, 0)
    assert next_working_time(utc(2026, 3, 5, 23, 0), NEW_YORK) == utc(2026, 3, 6, 14, 0)
    assert next_working_time(utc(2026, 11, 1, 5, 30), NEW_YORK) == utc(2026, 11, 2, 14, 0)


def test_bad_zone_and_hours_are_refused_by_name() -> None:
    """An unknown zone or impossible hours raise InvalidInput naming the value."""
    with pytest.raises(InvalidInput, match="unknown time zone 'Mars/Olympus'"):
        next_working_time(utc(2026, 1, 1), "Mars/Olympus")
    with pytest.raises(InvalidInput, match="working_hours"):
        next_working_time(utc(2026, 1, 1), BOGOTA, 18, 9)


def test_night_reminders_are_held_to_the_alliance_working_day(
    pilot: CycleEngine, clock: ManualClock
) -> None:
    """A cycle started at 02:00 in Bogota gets its kickoff at 09:00 Bogota, its week-before
    reminder at the local time of its deadline (end of the working day), and its deadline
    at the exact instant."""
    alliance = pilot.alliances.create_alliance("Cauca", "Coffee", timezone=BOGOTA)
    clock.set(utc(2026, 1, 6, 7, 0))  # Tuesday 02:00 in Bogota
    cycle = pilot.start_cycle("sched-pilot", "Coffee rust", alliance_id=alliance.id)
    assert cycle.id is not None
    visit = pilot.cycles.current_stage(cycle.id)
    assert visit is not None and visit.due_at is not None
    drain(pilot, clock, visit.due_at + days(1))
    moments = {f.rule: f.at for f in scheduler_events(pilot, cycle.id)}
    assert moments["kickoff"] == utc(2026, 1, 6, 14, 0)
    assert visit.due_at == utc(2026, 1, 27, 22, 0)  # 17:00 Bogota, from the work plan
    assert moments["week_before"] == utc(2026, 1, 20, 22, 0)
    assert moments["due"] == visit.due_at


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (
            utc(2026, 2, 16, 15, 0),
            {  # spring forward on Sunday 2026-03-08
                "kickoff": utc(2026, 2, 16, 15, 0),
                "week_before": utc(2026, 3, 2, 22, 0),
                "day_before": utc(2026, 3, 9, 13, 0),
                "due_today": utc(2026, 3, 9, 21, 0),
            },
        ),
        (
            utc(2026, 10, 12, 14, 0),
            {  # fall back on Sunday 2026-11-01
                "kickoff": utc(2026, 10, 12, 14, 0),
                "week_before": utc(2026, 10, 26, 21, 0),
                "day_before": utc(2026, 11, 2, 14, 0),
                "due_today": utc(2026, 11, 2, 22, 0),
            },
        ),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_dst_change_neither_skips_nor_doubles_a_reminder(
    pilot: CycleEngine, clock: ManualClock, start: datetime, expected: dict[str, datetime]
) -> None:
    """Across a New York DST change each reminder fires once: "7 days before" keeps the
    deadline's local time (17:00 on both sides), and the day-before reminder that falls on the
    Sunday of the change waits for Monday 09:00 local."""
    alliance = pilot.alliances.create_alliance("Hudson", "Urban farms", timezone=NEW_YORK)
    clock.set(start)  # a Monday 10:00 local; due three weeks later at 17:00 local
    cycle = pilot.start_cycle("sched-pilot", "Rooftop beds", alliance_id=alliance.id)
    assert cycle.id is not None
    visit = pilot.cycles.current_stage(cycle.id)
    assert visit is not None and visit.due_at is not None
    drain(pilot, clock, visit.due_at + days(2))
    reminders = [
        (f.rule, f.at) for f in scheduler_events(pilot, cycle.id) if f.kind == "reminder_due"
    ]
    assert reminders == list(expected.items())
