"""ISO 8601 durations as template authors write them (`P3W`, `P10D`, `PT4H`, `P1DT12H`).

Months and years are refused: their length depends on the calendar, so a deadline computed from
them would move with the start date. Authors write weeks or days instead.
"""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


def parse_duration(text: str) -> timedelta:
    """Parse an ISO 8601 duration of weeks, days, hours, minutes and seconds.

    Raises:
        ValueError: the text is not such a duration (the message says what is accepted).
    """
    if not isinstance(text, str):
        raise ValueError(f"expected an ISO 8601 duration such as 'P3W', got {text!r}")
    match = _DURATION.match(text.strip())
    if not match or text.strip() in {"P", "PT"} or text.strip().endswith("T"):
        date_part = text.split("T")[0]
        if "Y" in date_part or "M" in date_part:
            raise ValueError(
                f"{text!r}: months and years have no fixed length; write weeks or days (e.g. 'P4W')"
            )
        raise ValueError(f"expected an ISO 8601 duration such as 'P3W' or 'P10D', got {text!r}")
    parts = {name: int(value) for name, value in match.groupdict().items() if value}
    return timedelta(**parts)


def format_duration(delta: timedelta) -> str:
    """Inverse of `parse_duration` for display (`P3W`, `P1DT12H`, `PT4H`)."""
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    days, rest = divmod(abs(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days and days % 7 == 0 and not (hours or minutes or secs):
        return f"{sign}P{days // 7}W"
    text = f"{days}D" if days else ""
    if hours or minutes or secs:
        text += "T" + "".join(
            f"{value}{unit}" for value, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if value
        )
    return f"{sign}P{text or '0D'}"
