"""Dates and times as each person reads them: in their time zone, their language, zone named.

Stored times are UTC; emails show e.g. "Friday 6 March 2026, 17:00 (America/Bogota)" or
"viernes 6 de marzo de 2026, 17:00 (America/Bogota)". Month and day names are kept here for
the languages the templates ship (no locale database needed).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cycle_engine.clock import as_utc
from cycle_engine.i18n import pick_language

_MONTHS = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "es": (
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ),
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
}
_DAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
}
_DATE = {
    "en": "{weekday} {day} {month} {year}",
    "es": "{weekday} {day} de {month} de {year}",
    "fr": "{weekday} {day} {month} {year}",
}


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone `name`; UTC when missing or unknown (the zone is shown, so no silent lie)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def parse_moment(value: datetime | str) -> datetime:
    """A stored moment (ISO text in JSON contexts, or a datetime) as aware UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return as_utc(value)


#: Formatted moments kept: the emails of one batch mostly share a few due dates per zone and
#: language, and each email formats several (a pure function of its arguments).
FORMATS_KEPT = 4096


@lru_cache(maxsize=FORMATS_KEPT)
def format_date(value: datetime | str, tz_name: str | None, language: str) -> str:
    """The local calendar date, e.g. "Friday 6 March 2026"."""
    local = parse_moment(value).astimezone(zone(tz_name))
    lang = pick_language(language)
    return _DATE[lang].format(
        weekday=_DAYS[lang][local.weekday()],
        day=local.day,
        month=_MONTHS[lang][local.month - 1],
        year=local.year,
    )


@lru_cache(maxsize=FORMATS_KEPT)
def format_datetime(value: datetime | str, tz_name: str | None, language: str) -> str:
    """The local date and time with the zone named.

    E.g. "Friday 6 March 2026, 17:00 (Europe/Paris)".
    """
    tz = zone(tz_name)
    local = parse_moment(value).astimezone(tz)
    return f"{format_date(value, tz_name, language)}, {local:%H:%M} ({tz.key})"
