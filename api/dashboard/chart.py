"""The plan-against-actual chart of a cycle's stages, drawn as inline SVG in Python.

One row per work stage: the planned span (start to due date, from the work plan) as a light
bar on top, and each actual visit of the stage (entered to left, or to now while open) below
it, green while within the deadline and red past it. A dashed line marks now. Every bar has a
`<title>` with its dates, and the table beside the chart (in the page) says the same in text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from cycle_engine.api.dashboard.formatting import local_time, template_text
from cycle_engine.notifications.reader import current_words
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.tables import StageRecord
from cycle_engine.store.tables.alliances import PlanRecord

LABEL_W = 170
PLOT_W = 560
ROW_H = 36
TOP = 26


@dataclass(frozen=True, kw_only=True)
class StageLine:
    """One work stage: its plan and its visits."""

    key: str
    title: str
    plan: PlanRecord | None
    visits: tuple[StageRecord, ...]


def stage_lines(
    spec: TemplateSpec, plan: Sequence[PlanRecord], visits: Sequence[StageRecord]
) -> list[StageLine]:
    by_stage = {row.stage: row for row in plan}
    return [
        StageLine(
            key=stage.key,
            title=stage.title,
            plan=by_stage.get(stage.key),
            visits=tuple(v for v in visits if v.stage == stage.key),
        )
        for stage in spec.work_stages
    ]


def _bounds(lines: Sequence[StageLine], now: datetime) -> tuple[datetime, datetime]:
    moments: list[datetime] = [now]
    for line in lines:
        if line.plan is not None:
            moments += [line.plan.planned_start, line.plan.planned_due]
        for visit in line.visits:
            moments += [visit.entered_at, visit.left_at or now]
            if visit.due_at is not None:
                moments.append(visit.due_at)
    start, end = min(moments), max(moments)
    if end - start < timedelta(days=7):
        end = start + timedelta(days=7)
    return start, end


def plan_chart_svg(lines: Sequence[StageLine], now: datetime, tz: str) -> str:
    """The chart as an `<svg>`; dates in the tooltips are in the viewer's zone `tz`, words and
    stage titles in the language being spoken (`notifications.reader.speaking`)."""
    words = current_words()
    start, end = _bounds(lines, now)
    total = (end - start).total_seconds()

    def x(moment: datetime) -> float:
        return LABEL_W + PLOT_W * (moment - start).total_seconds() / total

    height = TOP + ROW_H * len(lines) + 16
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="ce-chart-title" '
        f'viewBox="0 0 {LABEL_W + PLOT_W + 10} {height}" font-family="system-ui, sans-serif" '
        f'font-size="12"><title id="ce-chart-title">'
        f"{escape(words.gettext('Planned and actual dates of each stage'))}</title>",
        f'<text x="{LABEL_W}" y="14" fill="#52606d">'
        f"{escape(local_time(start, tz, with_time=False))}</text>"
        f'<text x="{LABEL_W + PLOT_W}" y="14" text-anchor="end" fill="#52606d">'
        f"{escape(local_time(end, tz, with_time=False))}</text>",
    ]
    for index, line in enumerate(lines):
        y = TOP + index * ROW_H
        title = template_text(line.title)
        parts.append(
            f'<text x="{LABEL_W - 8}" y="{y + 21}" text-anchor="end">{escape(title)}</text>'
        )
        if line.plan is not None:
            x1, x2 = x(line.plan.planned_start), x(line.plan.planned_due)
            tip = words.gettext(
                "%(stage)s planned: %(start)s to %(end)s",
                stage=title,
                start=local_time(line.plan.planned_start, tz),
                end=local_time(line.plan.planned_due, tz),
            )
            parts.append(
                f'<rect x="{x1:.1f}" y="{y + 4}" width="{max(x2 - x1, 2):.1f}" '
                f'height="11" fill="#cbd2d9"><title>{escape(tip)}</title></rect>'
            )
        for visit in line.visits:
            parts.extend(_visit_bars(title, visit, now, tz, x, y))
    now_x = x(now)
    parts.append(
        f'<line x1="{now_x:.1f}" y1="{TOP - 6}" x2="{now_x:.1f}" y2="{height - 14}" '
        f'stroke="#1d4ed8" stroke-dasharray="4 3"/>'
        f'<text x="{now_x:.1f}" y="{height - 1}" '
        f'text-anchor="middle" fill="#1d4ed8">{escape(words.gettext("now"))}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _visit_bars(
    title: str, visit: StageRecord, now: datetime, tz: str, x: Callable[[datetime], float], y: int
) -> list[str]:
    words = current_words()
    end = visit.left_at or now
    tip = words.gettext(
        "%(stage)s visit %(visit)s: %(start)s to %(end)s",
        stage=title,
        visit=visit.visit,
        start=local_time(visit.entered_at, tz),
        end=local_time(visit.left_at, tz) if visit.left_at else words.gettext("now (open)"),
    )
    due = visit.due_at
    bars = []
    on_time_end = min(end, due) if due is not None else end
    x1, x2 = x(visit.entered_at), x(on_time_end)
    if on_time_end > visit.entered_at:
        bars.append(
            f'<rect x="{x1:.1f}" y="{y + 18}" width="{max(x2 - x1, 2):.1f}" height="11" '
            f'fill="#2f855a"><title>{escape(tip)}</title></rect>'
        )
    if due is not None and end > due:
        late_start = max(due, visit.entered_at)
        x3, x4 = x(late_start), x(end)
        late = words.gettext(
            "%(tip)s; past its deadline by %(days)s", tip=tip, days=_days(end - due)
        )
        bars.append(
            f'<rect x="{x3:.1f}" y="{y + 18}" width="{max(x4 - x3, 2):.1f}" height="11" '
            f'fill="#c53030"><title>{escape(late)}</title></rect>'
        )
    return bars


def _days(delta: timedelta) -> str:
    days = delta.total_seconds() / 86400
    return current_words().gettext("%(days)s days", days=f"{days:.1f}")
