"""The dashboard's Jinja2 environment and the filters its pages use to show time and numbers.

Times are stored in UTC and shown in the viewer's time zone (`tz` in the page context), inside
`<time datetime=...>` so the exact instant stays machine-readable. A page uses that one zone
throughout and names it once, in its header ("times in America/Guatemala"), so no time carries
a zone abbreviation of its own and no two zones meet on one row (issue 14). Undefined variables
are errors (StrictUndefined): a typo in a template fails its test instead of rendering a blank.
Dates, lengths of time and labels follow the language of the page being rendered
(`notifications.reader.speaking`): "04 Mar 2026", "04 mar 2026", "04 mars 2026".
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_datetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup, escape

from cycle_engine.notifications.reader import N_, Words, current_words, install
from cycle_engine.notifications.template_texts import translate, trigger_label


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(
    moment: datetime | None,
    tz: str | None,
    *,
    with_time: bool = True,
    zone: bool = False,
    language: str | None = None,
) -> str:
    """`moment` in zone `tz`, like `04 Mar 2026 14:05` (or the date alone) in `language` (the
    page's by default); with `zone`, the zone's abbreviation follows (`14:05 CET`), for text
    read away from the page's header."""
    if moment is None:
        return "—"
    here = moment.astimezone(_zone(tz))
    lang = language or current_words().language
    if lang == "en":
        text = here.strftime("%d %b %Y %H:%M" if with_time else "%d %b %Y")
    else:  # CLDR's abbreviated months, without the full stop some languages add ("mars")
        pattern = "dd MMM y HH:mm" if with_time else "dd MMM y"
        text = format_datetime(here, pattern, tzinfo=here.tzinfo, locale=lang).replace(".", "")
    if not with_time:
        return text
    return f"{text} {here.tzname() or ''}".rstrip() if zone else text


def span(delta: timedelta | float | int, words: Words | None = None) -> str:
    """A rough length of time for people: `3 days`, `5 hours`, `12 minutes` (in `words`'
    language, the page's by default); weeks from two weeks on."""
    w = words or current_words()
    seconds = abs(delta.total_seconds() if isinstance(delta, timedelta) else float(delta))
    if seconds >= 2 * 604800:
        return w.ngettext("%(num)d week", "%(num)d weeks", int(seconds // 604800))
    if seconds >= 86400:
        return w.ngettext("%(num)d day", "%(num)d days", int(seconds // 86400))
    if seconds >= 3600:
        return w.ngettext("%(num)d hour", "%(num)d hours", int(seconds // 3600))
    if seconds >= 60:
        return w.ngettext("%(num)d minute", "%(num)d minutes", int(seconds // 60))
    return w.gettext("less than a minute")


def _time_element(moment: datetime, text: str) -> Markup:
    """`<time datetime="ISO">text</time>`, escaped (an f-string: `Markup.format` costs a
    `string.Formatter` walk per call, and lists show hundreds of times)."""
    return Markup(f'<time datetime="{escape(moment.isoformat())}">{escape(text)}</time>')


@pass_context
def _when(context: Context, moment: datetime | None) -> Markup:
    if moment is None:
        return Markup("—")
    return _time_element(moment, local_time(moment, context.get("tz")))


@pass_context
def _day(context: Context, moment: datetime | None) -> Markup:
    if moment is None:
        return Markup("—")
    return _time_element(moment, local_time(moment, context.get("tz"), with_time=False))


@pass_context
def _relative(context: Context, moment: datetime | None) -> str:
    now = context.get("now")
    if moment is None or not isinstance(now, datetime):
        return ""
    delta = moment - now
    words = current_words()
    if delta.total_seconds() > 0:
        return words.gettext("in %(span)s", span=span(delta, words))
    return words.gettext("%(span)s ago", span=span(delta, words))


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _label(key: str | None) -> str:
    """`good_practice_review` -> `Good practice review` (for keys without a title), in the
    page's language when the template texts' catalog knows it."""
    if not key:
        return ""
    return trigger_label(key, current_words().language)


def short_date(day: date | None, language: str | None = None) -> str:
    """A calendar date like `04 Mar 2026` in `language` (the page's by default)."""
    if day is None:
        return "—"
    lang = language or current_words().language
    if lang == "en":
        return day.strftime("%d %b %Y")
    return format_date(day, "dd MMM y", locale=lang).replace(".", "")


#: The engine's keys a page shows as words (roles, levels, statuses, badges, ratings).
VOCABULARY: dict[str, str] = {
    "admin": N_("administrator"),
    "coordinator": N_("coordinator"),
    "manager": N_("manager"),
    "partner": N_("partner"),
    "system": N_("system"),
    "focal_point": N_("focal point"),
    "deputy": N_("deputy"),
    "lead": N_("lead"),
    "active": N_("active"),
    "informed": N_("informed"),
    "finished": N_("finished"),
    "cancelled": N_("cancelled"),
    "all": N_("all"),
    "overdue": N_("overdue"),
    "stalled": N_("stalled"),
    "on time": N_("on time"),
    "on_time": N_("on time"),
    "proposed": N_("proposed"),
    "confirmed": N_("confirmed"),
    "declined": N_("declined"),
    "strong": N_("strong"),
    "mixed": N_("mixed"),
    "weak": N_("weak"),
    "planned": N_("planned"),
    "testing": N_("testing"),
    "done": N_("done"),
    "pending": N_("pending"),
    "sent": N_("sent"),
    "failed": N_("failed"),
    "expired": N_("expired"),
    "held": N_("held"),
    "retired": N_("retired"),
    "published": N_("published"),
    "applied": N_("applied"),
    "previewed": N_("previewed"),
    # kinds of email (the mail log)
    "reminder": N_("reminder"),
    "due_today": N_("due today"),
    "escalation": N_("escalation"),
    "stage_started": N_("stage started"),
    "stage_completed": N_("stage completed"),
    "stage_results": N_("stage results"),
    "extension_requested": N_("extension requested"),
    "marked_done": N_("marked done"),
    "fresh_link": N_("fresh link"),
    "digest": N_("digest"),
    "signin": N_("sign-in link"),
    # what a not-found page names
    "cycle": N_("cycle"),
    "alliance": N_("alliance"),
    "organisation": N_("organisation"),
    "person": N_("person"),
    "template": N_("template"),
    "product": N_("product"),
    "question": N_("question"),
    "context": N_("context"),
    "migration plan": N_("migration plan"),
    "template draft": N_("template draft"),
    "level proposal": N_("level proposal"),
    "message": N_("message"),
    "file": N_("file"),
}


def word_in(key: str | None, words: Words) -> str:
    """An engine key (`coordinator`, `overdue`) as a word in `words`' language."""
    if not key:
        return ""
    return words.gettext(VOCABULARY[key]) if key in VOCABULARY else key.replace("_", " ")


def word(key: str | None) -> str:
    """An engine key as a word in the page's language (the `word` filter)."""
    return word_in(key, current_words())


def template_text(text: str | None) -> str:
    """A template's own text (a stage title) in the page's language, when its catalog has it."""
    return translate(text, current_words().language) or ""


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
    # Words are marked with `_()`/`{% trans %}`; a page renders inside `speaking(words)`.
    install(env)
    filters: dict[str, Any] = {
        "when": _when,
        "day": _day,
        "relative": _relative,
        "span": span,
        "percent": _percent,
        "label": _label,
        "tt": template_text,
        "word": word,
        "short_date": short_date,
        "nl2br": _nl2br,
    }
    env.filters.update(filters)
    return env
