"""The dashboard's Jinja2 environment and the filters its pages use to show time and numbers.

Times are stored in UTC and shown in the viewer's time zone (`tz` in the page context), inside
`<time datetime=...>` so the exact instant stays machine-readable. A page uses that one zone
throughout and names it once, in its header ("times in America/Guatemala"), so no time carries
a zone abbreviation of its own and no two zones meet on one row (issue 14). Undefined variables
are errors (StrictUndefined): a typo in a template fails its test instead of rendering a blank.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup, escape


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(
    moment: datetime | None, tz: str | None, *, with_time: bool = True, zone: bool = False
) -> str:
    """`moment` in zone `tz`, like `04 Mar 2026 14:05` (or the date alone); with `zone`, the
    zone's abbreviation follows (`14:05 CET`), for text read away from the page's header."""
    if moment is None:
        return "—"
    here = moment.astimezone(_zone(tz))
    if not with_time:
        return here.strftime("%d %b %Y")
    text = here.strftime("%d %b %Y %H:%M")
    return f"{text} {here.tzname() or ''}".rstrip() if zone else text


def span(delta: timedelta | float | int) -> str:
    """A rough length of time for people: `3 days`, `5 hours`, `12 minutes`."""
    seconds = abs(delta.total_seconds() if isinstance(delta, timedelta) else float(delta))
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size * (2 if unit == "week" else 1):
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return "less than a minute"


@pass_context
def _when(context: Context, moment: datetime | None) -> Markup:
    if moment is None:
        return Markup("—")
    text = local_time(moment, context.get("tz"))
    return Markup('<time datetime="{}">{}</time>').format(moment.isoformat(), text)


@pass_context
def _day(context: Context, moment: datetime | None) -> Markup:
    if moment is None:
        return Markup("—")
    text = local_time(moment, context.get("tz"), with_time=False)
    return Markup('<time datetime="{}">{}</time>').format(moment.isoformat(), text)


@pass_context
def _relative(context: Context, moment: datetime | None) -> str:
    now = context.get("now")
    if moment is None or not isinstance(now, datetime):
        return ""
    delta = moment - now
    return f"in {span(delta)}" if delta.total_seconds() > 0 else f"{span(delta)} ago"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _label(key: str | None) -> str:
    """`good_practice_review` -> `Good practice review` (for keys without a title)."""
    if not key:
        return ""
    return key.replace("_", " ").capitalize()


def _nl2br(text: str | None) -> Markup:
    if not text:
        return Markup("")
    return Markup("<br>").join(escape(line) for line in text.splitlines())


def build_environment(directory: Path) -> Environment:
    """The one environment for dashboard pages: autoescaped HTML, strict undefined."""
    env = Environment(
        loader=FileSystemLoader(str(directory)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html",), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        extensions=["jinja2.ext.i18n"],
    )
    # Words are marked with `_()`/`{% trans %}`; pages install the reader's catalog per render.
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    filters: dict[str, Any] = {
        "when": _when,
        "day": _day,
        "relative": _relative,
        "span": span,
        "percent": _percent,
        "label": _label,
        "nl2br": _nl2br,
    }
    env.filters.update(filters)
    return env
