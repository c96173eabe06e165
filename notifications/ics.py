"""Calendar entries (RFC 5545): a person's feed of upcoming deadlines, and the deadline attached
to "stage started" emails, written with the `icalendar` library.

A deadline is one VEVENT with a stable UID (the stage visit, so a moved deadline updates the
same event), a DTSTAMP, the deadline as DTSTART and a one-day reminder (VALARM). Given the
person's time zone, DTSTART is their local time with its TZID, and the calendar carries the
zone's VTIMEZONE (built from the zone database), so a calendar shows the deadline at the local
hour it was planned for, across daylight-saving changes; without one it is a UTC time. The
library escapes text values and folds long lines as the RFC requires.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Alarm, Calendar, Event

from cycle_engine.clock import as_utc

PRODID = "-//Cycle Engine//Learning cycle deadlines//EN"


@dataclass(frozen=True, kw_only=True)
class CalendarEntry:
    """One deadline to show in a calendar; `timezone` (IANA) shows it as local time there."""

    uid: str
    summary: str
    due_at: datetime
    description: str = ""
    url: str | None = None
    sequence: int = 0
    timezone: str | None = None


def _local(moment: datetime, timezone: str | None) -> datetime:
    """`moment` in `timezone` (UTC when none is given or the name is unknown)."""
    if timezone and timezone != "UTC":
        try:
            return as_utc(moment).astimezone(ZoneInfo(timezone))
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return as_utc(moment)


def _clean(text: str) -> str:
    """A URL or one-line value without line breaks (they would end the property)."""
    return text.replace("\r", "").replace("\n", "")


def _event(entry: CalendarEntry, now: datetime) -> Event:
    event = Event()
    event.add("uid", entry.uid)
    event.add("dtstamp", as_utc(now))
    event.add("sequence", entry.sequence)
    event.add("dtstart", _local(entry.due_at, entry.timezone))
    event.add("duration", timedelta(minutes=30))
    event.add("summary", entry.summary)
    event.add("transp", "TRANSPARENT")
    if entry.description:
        event.add("description", entry.description)
    if entry.url:
        event.add("url", _clean(entry.url))
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", entry.summary)
    alarm.add("trigger", timedelta(days=-1))
    event.add_component(alarm)
    return event


def calendar(
    entries: Iterable[CalendarEntry], now: datetime, *, name: str = "", method: str = "PUBLISH"
) -> bytes:
    """A VCALENDAR document with one event per entry and a VTIMEZONE per local zone used
    (CRLF line endings, UTF-8)."""
    document = Calendar()
    document.add("prodid", PRODID)
    document.add("version", "2.0")
    document.add("calscale", "GREGORIAN")
    document.add("method", method)
    if name:
        document.add("x-wr-calname", name)
    for entry in entries:
        document.add_component(_event(entry, now))
    document.add_missing_timezones()
    return bytes(document.to_ical())


def stage_entry(
    cycle_id: int,
    cycle_title: str,
    stage_title: str,
    stage_visit_id: int,
    due_at: datetime,
    *,
    url: str | None = None,
    description: str = "",
    sequence: int = 0,
    timezone: str | None = None,
) -> CalendarEntry:
    """The deadline of one stage visit (its UID stays the same when the date moves), shown in
    `timezone` (the person's) when given."""
    return CalendarEntry(
        uid=f"cycle-{cycle_id}-visit-{stage_visit_id}@cycle-engine",
        summary=f"{stage_title} due ({cycle_title})",
        due_at=due_at,
        description=description,
        url=url,
        sequence=sequence,
        timezone=timezone,
    )
