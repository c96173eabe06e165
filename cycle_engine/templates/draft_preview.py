"""What publishing a draft would do, shown before the confirm button: the problems that block
it, the difference from the version it would follow, and, for the running cycles on that
template, the migration preview (each cycle's stage, deadlines and reminders after moving).

The draft is not published to compute this: its spec is validated in memory and compared with
the owner's latest version of the key (`diff.diff_templates`); each running cycle on that key
is forecast onto the unsaved next version with the template-change issue's own `forecast_cycle`
and `newly_blocking`, with no stage mapping and re-planned dates (what a plan made right after
publishing does by default). Nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlmodel import Session, col, select

from cycle_engine.errors import InvalidTemplate, TemplateProblem
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.tables import ACTIVE, CycleRecord, TemplateRecord
from cycle_engine.store.tables.drafts import TemplateDraftRecord
from cycle_engine.store.tables.templates import REPLAN
from cycle_engine.store.templates import TemplateStore, owned_by
from cycle_engine.templates.blocking import newly_blocking
from cycle_engine.templates.deadlines import MigrationRule
from cycle_engine.templates.diff import TemplateDiff, diff_templates
from cycle_engine.templates.forecast import CycleForecast, forecast_cycle
from cycle_engine.templates.snapshot import load_snapshot

#: At most this many running cycles are forecast on the page (the migration plan shows all).
MAX_FORECASTS = 200


@dataclass(frozen=True, kw_only=True)
class PublishPreview:
    """Problems (publishing is refused while any remain), the diff from the current version
    (None: the key is new), the label the new version would get, and the running cycles."""

    problems: tuple[TemplateProblem, ...]
    current: str | None
    next_label: str
    diff: TemplateDiff | None
    running: int
    forecasts: tuple[CycleForecast, ...]

    @property
    def publishable(self) -> bool:
        return not self.problems and (self.diff is None or not self.diff.unchanged)


def preview_publish(
    session: Session, store: TemplateStore, draft: TemplateDraftRecord, now: datetime
) -> PublishPreview:
    try:
        spec = store.validate(draft.source_text, f"{draft.key}.yaml")
    except InvalidTemplate as invalid:
        return PublishPreview(
            problems=invalid.problems,
            current=None,
            next_label=draft.key,
            diff=None,
            running=0,
            forecasts=(),
        )
    versions = store.list(session, spec.key, where=owned_by(draft.alliance_id))
    if not versions:
        label = f"{spec.key} v1"
        return PublishPreview(
            problems=(), current=None, next_label=label, diff=None, running=0, forecasts=()
        )
    latest = versions[-1]
    assert latest.id is not None
    before = store.spec(session, latest.id)
    target = TemplateRecord(
        key=spec.key,
        version=latest.version + 1,
        title=spec.title,
        content_hash=spec.content_hash,
        source_name=f"{spec.key}.yaml",
        source_text=draft.source_text,
        published_at=now,
        alliance_id=draft.alliance_id,
    )
    diff = TemplateDiff(
        before=latest.label,
        after=target.label,
        renames={},
        lines=tuple(diff_templates(before, spec, renames={})),
    )
    cycles = _running(session, [v.id for v in versions if v.id is not None], draft.alliance_id)
    forecasts = tuple(
        _forecast(session, store, cycle, target, spec, now) for cycle in cycles[:MAX_FORECASTS]
    )
    return PublishPreview(
        problems=(),
        current=latest.label,
        next_label=target.label,
        diff=diff,
        running=len(cycles),
        forecasts=forecasts,
    )


def _running(
    session: Session, template_ids: list[int], alliance_id: int | None
) -> list[CycleRecord]:
    query = select(CycleRecord).where(
        CycleRecord.status == ACTIVE, col(CycleRecord.template_id).in_(template_ids)
    )
    if alliance_id is not None:
        query = query.where(CycleRecord.alliance_id == alliance_id)
    return list(session.exec(query.order_by(col(CycleRecord.id))))


def _forecast(
    session: Session,
    store: TemplateStore,
    cycle: CycleRecord,
    target_record: TemplateRecord,
    target: TemplateSpec,
    now: datetime,
) -> CycleForecast:
    snap = load_snapshot(session, cycle, store)
    rule = MigrationRule(stage_map={}, unentered=REPLAN)
    forecast = forecast_cycle(snap, target_record, target, rule, now)
    if forecast.outcome == "migrate":
        blocks = newly_blocking(session, snap, target, forecast, store.guards, now)
        forecast = replace(forecast, newly_blocking=blocks)
    return forecast
