"""ISO 8601 durations as template authors write them (`P3W`, `P10D`, `PT4H`, `P1DT12H`).

Months and years are refused: their length depends on the calendar, so a deadline computed from
them would move with the start date. Authors write weeks or days instead. No duration is longer
than MAX_DURATION (ten years): a longer one is a typo, and deadlines computed from it would
leave the range of dates Python and the databases store.
"""

from __future__ import annotations

import re
from datetime import timedelta

from cycle_engine.errors import Message
from cycle_engine.spec.messages import N_

#: Ten years: the longest any duration in a template (and a template's stages together) may be.
MAX_DURATION = timedelta(days=3653)
_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


class DurationError(ValueError):
    """A text that is not a duration a template may use; `text` says why, for translation."""

    def __init__(self, text: Message) -> None:
        self.text = text
        super().__init__(text.render())


def parse_duration(text: str) -> timedelta:
    """Parse an ISO 8601 duration of weeks, days, hours, minutes and seconds.

    Raises:
        DurationError: (a ValueError) the text is not such a duration (the message says what is
            accepted), or it is longer than MAX_DURATION.
    """
    if not isinstance(text, str):
        raise DurationError(
            _error(N_("expected an ISO 8601 duration such as 'P3W', got {value}"), text)
        )
    match = _DURATION.match(text.strip())
    if not match or text.strip() in {"P", "PT"} or text.strip().endswith("T"):
        date_part = text.split("T")[0]
        if "Y" in date_part or "M" in date_part:
            raise DurationError(
                _error(
                    N_(
                        "{value}: months and years have no fixed length; write weeks or days"
                        " (e.g. 'P4W')"
                    ),
                    text,
                )
            )
        raise DurationError(
            _error(N_("expected an ISO 8601 duration such as 'P3W' or 'P10D', got {value}"), text)
        )
    values = {name: value for name, value in match.groupdict().items() if value}
    if any(len(value) > 12 for value in values.values()):
        raise DurationError(_too_long(text))
    try:
        delta = timedelta(**{name: int(value) for name, value in values.items()})
    except OverflowError:
        delta = MAX_DURATION * 2
    if delta > MAX_DURATION:
        raise DurationError(_too_long(text))
    return delta


def _error(msgid: str, text: object) -> Message:
    return Message(msgid, (("value", _shown(text)),))


def _shown(text: object) -> str:
    shown = repr(text)
    return shown if len(shown) <= 40 else shown[:36] + "...'"


def _too_long(text: str) -> Message:
    return Message(
        N_("{value} is longer than ten years ({limit})"),
        (("value", _shown(text)), ("limit", format_duration(MAX_DURATION))),
    )


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
