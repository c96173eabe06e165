"""Working hours in a time zone: hold a moment that falls in the night or on a weekend.

Reminders go out in the recipient's working day, not at 3 a.m. their time. Storage stays UTC;
only this module turns a UTC instant into local wall time and back, always through `zoneinfo`,
so a DST change neither skips nor doubles a reminder: a local time that does not exist (spring
forward) moves forward by the gap, an ambiguous one (fall back) is its first occurrence (PEP 495,
fold=0). The scheduler holds timers to the alliance's working day; the notifications outbox
calls `next_working_time` again per recipient.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cycle_engine.clock import as_utc
from cycle_engine.errors import InvalidInput

#: Saturday and Sunday, as `date.weekday()` numbers them (Monday = 0).
DEFAULT_WEEKEND = frozenset({5, 6})


def zone(tz_name: str) -> ZoneInfo:
    """The IANA zone `tz_name`; raises InvalidInput naming the bad value."""
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidInput("timezone", f"unknown time zone {tz_name!r}") from None


def parse_weekend_days(text: str | Collection[int]) -> frozenset[int]:
    """Weekend days from `"5,6"` (or a collection of ints); Monday = 0 ... Sunday = 6."""
    if isinstance(text, str):
        return _weekend_of_text(text)
    return _checked_weekend(frozenset(text), text)


@lru_cache(maxsize=128)
def _weekend_of_text(text: str) -> frozenset[int]:
    """An alliance's stored days, parsed once (a fire asks for them for every outbox row)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        days = frozenset(int(p) for p in parts)
    except ValueError:
        raise InvalidInput(
            "weekend_days", f"expected day numbers 0-6 separated by commas, got {text!r}"
        ) from None
    return _checked_weekend(days, text)


def _checked_weekend(days: frozenset[int], given: object) -> frozenset[int]:
    if any(not 0 <= day <= 6 for day in days) or len(days) == 7:
        raise InvalidInput("weekend_days", f"expected up to six day numbers 0-6, got {given!r}")
    return days


def local_moment(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall time `at` on `day` in `tz`.

    PEP 495 rules (fold=0): a wall time in a spring-forward gap moves forward by the gap's
    length (02:30 -> 03:30), an ambiguous one in a fall-back overlap is its first occurrence.
    """
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def _check_hours(start_hour: int, end_hour: int) -> None:
    if not 0 <= start_hour < end_hour <= 24:
        raise InvalidInput(
            "working_hours", f"expected 0 <= start < end <= 24, got {start_hour}-{end_hour}"
        )


def next_working_time(
    moment_utc: datetime,
    tz_name: str,
    start_hour: int = 9,
    end_hour: int = 17,
    weekend_days: Collection[int] = DEFAULT_WEEKEND,
) -> datetime:
    """`moment_utc` if it falls inside working hours in `tz_name`, else the next working start.

    Args:
        moment_utc: an aware instant (naive is taken as UTC).
        tz_name: IANA zone of the recipient or alliance, e.g. "America/Bogota".
        start_hour, end_hour: the local working day, both ends included (a deadline at the
            end of the working day keeps its reminders on that day).
        weekend_days: `date.weekday()` numbers of non-working days (Monday = 0).

    Returns the UTC instant. Raises InvalidInput for an unknown zone or bad hours.
    """
    _check_hours(start_hour, end_hour)
    weekend = parse_weekend_days(weekend_days)
    tz = zone(tz_name)
    moment = as_utc(moment_utc)
    local = moment.astimezone(tz)
    day = local.date()
    if day.weekday() not in weekend:
        start = local_moment(day, time(start_hour), tz)
        end = (
            local_moment(day, time(end_hour), tz)
            if end_hour < 24
            else local_moment(day + timedelta(days=1), time(0), tz)
        )
        if start <= moment <= end:
            return moment
        if moment < start:
            return start
    for _ in range(7):
        day += timedelta(days=1)
        if day.weekday() not in weekend:
            return local_moment(day, time(start_hour), tz)
    raise AssertionError("unreachable: at least one working day per week")  # pragma: no cover


@dataclass(frozen=True, kw_only=True)
class WorkingCalendar:
    """Where and when a cycle's people work: its alliance's zone, hours and weekend."""

    timezone: str = "UTC"
    start_hour: int = 0
    end_hour: int = 24
    weekend_days: frozenset[int] = frozenset()

    def hold(self, moment_utc: datetime) -> datetime:
        """`moment_utc`, held to the start of the next working time when outside it."""
        if self.start_hour == 0 and self.end_hour == 24 and not self.weekend_days:
            return as_utc(moment_utc)
        return next_working_time(
            moment_utc, self.timezone, self.start_hour, self.end_hour, self.weekend_days
        )

    def shift(self, moment_utc: datetime, offset: timedelta) -> datetime:
        """`moment_utc + offset`, counting whole days on the local calendar (DST-safe).

        "7 days before the deadline" keeps the deadline's local time of day even when a DST
        change lies between; offsets with hours or minutes are exact elapsed time.
        """
        if offset % timedelta(days=1):
            return as_utc(moment_utc) + offset
        tz = zone(self.timezone)
        local = as_utc(moment_utc).astimezone(tz)
        return local_moment(local.date() + offset, local.time().replace(tzinfo=None), tz)


UTC_CALENDAR = WorkingCalendar()
