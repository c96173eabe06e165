"""Calendar entries (RFC 5545): a person's feed of upcoming deadlines, and the deadline attached
to "stage started" emails.

Written by hand: a deadline is one VEVENT with a stable UID (the stage visit), a DTSTAMP, the
deadline as a UTC DTSTART and a one-day reminder (VALARM). Text values are escaped (backslash,
semicolon, comma, newline) and lines are folded at 75 octets without splitting a UTF-8
character, as the RFC requires.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from cycle_engine.clock import as_utc

PRODID = "-//Cycle Engine//Learning cycle deadlines//EN"


@dataclass(frozen=True, kw_only=True)
class CalendarEntry:
    """One deadline to show in a calendar."""

    uid: str
    summary: str
    due_at: datetime
    description: str = ""
    url: str | None = None
    sequence: int = 0


def escape_text(value: str) -> str:
    """TEXT value escaping (RFC 5545 section 3.3.11)."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Fold a content line into 75-octet pieces joined by CRLF + space (section 3.1)."""
    encoded = line.encode("utf-8")
    if len(encoded) <= 75:
        return line
    pieces: list[str] = []
    current = ""
    size = 0
    limit = 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            pieces.append(current)
            current, size, limit = "", 0, 74  # continuation lines start with a space
        current += char
        size += width
    pieces.append(current)
    return "\r\n ".join(pieces)


def _stamp(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y%m%dT%H%M%SZ")


def _event(entry: CalendarEntry, now: datetime) -> list[str]:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{entry.uid}",
        f"DTSTAMP:{_stamp(now)}",
        f"SEQUENCE:{entry.sequence}",
        f"DTSTART:{_stamp(entry.due_at)}",
        "DURATION:PT30M",
        f"SUMMARY:{escape_text(entry.summary)}",
        "TRANSP:TRANSPARENT",
    ]
    if entry.description:
        lines.append(f"DESCRIPTION:{escape_text(entry.description)}")
    if entry.url:
        lines.append(f"URL:{entry.url.replace(chr(13), '').replace(chr(10), '')}")
    lines += [
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        f"DESCRIPTION:{escape_text(entry.summary)}",
        "TRIGGER:-P1D",
        "END:VALARM",
        "END:VEVENT",
    ]
    return lines


def calendar(
    entries: Iterable[CalendarEntry], now: datetime, *, name: str = "", method: str = "PUBLISH"
) -> bytes:
    """A VCALENDAR document with one event per entry, CRLF line endings, UTF-8."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
    ]
    if name:
        lines.append(f"X-WR-CALNAME:{escape_text(name)}")
    for entry in entries:
        lines += _event(entry, now)
    lines.append("END:VCALENDAR")
    return ("\r\n".join(fold(line) for line in lines) + "\r\n").encode("utf-8")


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
) -> CalendarEntry:
    """The deadline of one stage visit (its UID stays the same when the date moves)."""
    return CalendarEntry(
        uid=f"cycle-{cycle_id}-visit-{stage_visit_id}@cycle-engine",
        summary=f"{stage_title} due ({cycle_title})",
        due_at=due_at,
        description=description,
        url=url,
        sequence=sequence,
    )
