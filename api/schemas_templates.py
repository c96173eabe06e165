"""Bodies of the template routes beyond the basics in `api.schemas`: who owns a version, copies,
diffs, and migration plans with their previews and reports.

A preview's times are UTC (ISO 8601) with the cycle's time zone beside them, and every change
also comes as `text`, in that zone and in words, so a client can show what the dashboard shows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from cycle_engine.api.schemas import (
    PublishedTemplatePublic,
    RequestModel,
    TemplateDetail,
    TemplatePublic,
)
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.tables import TemplateRecord
from cycle_engine.store.templates import PublishedTemplate
from cycle_engine.templates.deadlines import MomentChange
from cycle_engine.templates.diff import TemplateDiff
from cycle_engine.templates.forecast import CycleForecast
from cycle_engine.templates.migrations import MigrationPreview, MigrationReport
from cycle_engine.templates.plans import MigrationPlan

StageKey = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[a-z0-9_]+$")]
TemplateKeyText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$"),
]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]


class OwnedTemplatePublic(TemplatePublic):
    """A template version with its owner (`alliance_id` null: built-in) and status."""

    alliance_id: int | None = None
    status: str = "published"

    @classmethod
    def of(cls, record: TemplateRecord) -> OwnedTemplatePublic:
        return cls.model_validate(record.model_dump(exclude={"id", "source_text"}))


class TemplateVersionDetail(TemplateDetail):
    alliance_id: int | None = None
    status: str = "published"

    @classmethod
    def of_record(cls, record: TemplateRecord, spec: TemplateSpec) -> TemplateVersionDetail:
        base = TemplateDetail.of_spec(record, spec).model_dump()
        return cls(**base, alliance_id=record.alliance_id, status=record.status)


class PublishedVersion(PublishedTemplatePublic):
    alliance_id: int | None = None
    status: str = "published"

    @classmethod
    def of_published(cls, record: TemplateRecord, published: PublishedTemplate) -> PublishedVersion:
        body = OwnedTemplatePublic.of(record).model_dump()
        return cls(**body, created=published.created)


class TemplateCopy(RequestModel):
    key: TemplateKeyText = Field(description="The key of the copy in the alliance.")
    alliance_id: Id | None = Field(default=None, description="The alliance the copy belongs to.")
    version: Id | None = Field(default=None, description="The version copied (default latest).")
    from_alliance_id: Id | None = Field(
        default=None, description="The alliance owning the template copied (null: built-in)."
    )


class DiffLinePublic(BaseModel):
    area: str
    subject: str
    change: str
    text: str


class TemplateDiffPublic(BaseModel):
    before: str
    after: str
    renames: dict[str, str]
    unchanged: bool
    lines: list[DiffLinePublic]

    @classmethod
    def of(cls, diff: TemplateDiff) -> TemplateDiffPublic:
        return cls(
            before=diff.before,
            after=diff.after,
            renames=dict(diff.renames),
            unchanged=diff.unchanged,
            lines=[DiffLinePublic(**vars(line)) for line in diff.lines],
        )


class MigrationPlanCreate(RequestModel):
    to_version: Id | None = Field(default=None, description="Target version (default latest).")
    alliance_id: Id | None = Field(
        default=None, description="Whose cycles move (default: the template's, or your own)."
    )
    from_key: TemplateKeyText | None = Field(
        default=None, description="Move cycles on this template (default: the target's key)."
    )
    from_version: Id | None = Field(default=None, description="Only cycles on this version.")
    cycle_ids: list[Id] = Field(default=[], max_length=10_000, description="Only these cycles.")
    stage_map: dict[StageKey, StageKey] = Field(
        default={},
        max_length=200,
        description="Old stage key -> new stage key.",
        json_schema_extra={"propertyNames": {"pattern": "^[a-z0-9_]+$", "maxLength": 100}},
    )
    unentered: Literal["replan", "keep"] = Field(
        default="replan",
        description="Stages not entered yet: re-planned from the new durations, or keep dates.",
    )


class MigrationPlanPublic(BaseModel):
    id: int
    alliance_id: int | None
    target: str
    target_key: str
    target_version: int
    selection: str
    source_key: str
    source_version: int | None
    cycle_ids: list[int]
    stage_map: dict[str, str]
    unentered: str
    status: str
    created_by: str
    created_at: datetime
    previewed_at: datetime | None
    previewed_cycles: int
    applied_at: datetime | None
    applied_by: str | None
    report: dict[str, Any]

    @classmethod
    def of(cls, plan: MigrationPlan) -> MigrationPlanPublic:
        return cls(
            **{
                name: getattr(plan, name)
                for name in (
                    "id",
                    "alliance_id",
                    "target",
                    "target_key",
                    "target_version",
                    "selection",
                    "source_key",
                    "source_version",
                    "stage_map",
                    "unentered",
                    "status",
                    "created_by",
                    "created_at",
                    "previewed_at",
                    "applied_at",
                    "applied_by",
                    "report",
                )
            },
            cycle_ids=list(plan.cycle_ids),
            previewed_cycles=len(plan.preview_versions),
        )


class MomentChangePublic(BaseModel):
    what: str
    label: str
    stage: str
    rule: str
    change: str
    before: datetime | None
    after: datetime | None
    text: str

    @classmethod
    def of(cls, moment: MomentChange, timezone: str) -> MomentChangePublic:
        return cls(
            what=moment.what,
            label=moment.label,
            stage=moment.stage,
            rule=moment.rule,
            change=moment.change,
            before=moment.before,
            after=moment.after,
            text=moment.text(timezone),
        )


class CycleForecastPublic(BaseModel):
    cycle_id: int
    title: str
    alliance_id: int | None
    timezone: str
    cycle_version: int
    outcome: Literal["migrate", "current", "blocked"]
    reason: str | None
    template_before: str
    template_after: str
    stage_before: str
    stage_before_title: str
    stage_after: str | None
    stage_after_title: str | None
    paused: bool
    deadlines: list[MomentChangePublic]
    timers: list[MomentChangePublic]
    newly_blocking: dict[str, list[str]]
    flags_cleared: list[str]

    @classmethod
    def of(cls, forecast: CycleForecast) -> CycleForecastPublic:
        zone = forecast.timezone
        return cls(
            cycle_id=forecast.cycle_id,
            title=forecast.title,
            alliance_id=forecast.alliance_id,
            timezone=zone,
            cycle_version=forecast.cycle_version,
            outcome=forecast.outcome,
            reason=forecast.reason,
            template_before=forecast.template_before,
            template_after=forecast.template_after,
            stage_before=forecast.stage_before,
            stage_before_title=forecast.stage_before_title,
            stage_after=forecast.stage_after,
            stage_after_title=forecast.stage_after_title,
            paused=forecast.paused,
            deadlines=[MomentChangePublic.of(m, zone) for m in forecast.deadlines],
            timers=[MomentChangePublic.of(m, zone) for m in forecast.timers],
            newly_blocking={b.trigger: list(b.reasons) for b in forecast.newly_blocking},
            flags_cleared=list(forecast.flags_cleared),
        )


class MigrationPreviewPublic(BaseModel):
    plan: MigrationPlanPublic
    at: datetime
    migrating: int
    blocked: int
    current: int
    cycles: list[CycleForecastPublic]

    @classmethod
    def of(cls, preview: MigrationPreview) -> MigrationPreviewPublic:
        return cls(
            plan=MigrationPlanPublic.of(preview.plan),
            at=preview.at,
            migrating=len(preview.migrating),
            blocked=len(preview.blocked),
            current=len(preview.current),
            cycles=[CycleForecastPublic.of(c) for c in preview.cycles],
        )


class CycleResultPublic(BaseModel):
    cycle_id: int
    migrated: bool
    reason: str | None
    event_id: int | None


class MigrationReportPublic(BaseModel):
    plan_id: int
    target: str
    applied_by: str
    started_at: datetime
    seconds: float
    migrated: int
    skipped: int
    results: list[CycleResultPublic]

    @classmethod
    def of(cls, report: MigrationReport) -> MigrationReportPublic:
        return cls(
            plan_id=report.plan_id,
            target=report.target,
            applied_by=report.applied_by,
            started_at=report.started_at,
            seconds=round(report.seconds, 3),
            migrated=len(report.migrated),
            skipped=len(report.skipped),
            results=[CycleResultPublic(**vars(r)) for r in report.results],
        )
