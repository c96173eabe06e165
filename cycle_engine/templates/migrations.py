"""`MigrationService` (`engine.migrations`): move running cycles to another template version,
with a preview first.

    plan = engine.migrations.create_plan("learning-cycle", to_version=2, alliance_id=3,
                                         stage_map={"prototype": "prototyping"})
    preview = engine.migrations.preview(plan.id)     # per cycle: stage, deadlines, timers...
    report = engine.migrations.apply(plan.id, progress=print)

The preview writes nothing to any cycle, timer or history; the plan remembers the version of
each cycle it showed. Applying migrates each of those cycles in its own transaction under the
cycle's lock (`store.events.lock_cycle`): a cycle that changed since the preview, or that already
runs on the target, is skipped and reported, never half-migrated, so applying twice changes
nothing the second time and a run stopped half-way is finished by applying again.

Only coordinators of the plan's alliance (administrators for every alliance) create, preview and
apply plans; its managers read them; anyone else does not find them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from cycle_engine.actors import SYSTEM, Actor
from cycle_engine.alliances.reach import Reach
from cycle_engine.changes import Changes
from cycle_engine.clock import Clock
from cycle_engine.errors import (
    ActionNotAllowed,
    CycleEngineError,
    CycleNotFound,
    NotPermitted,
    RecordNotFound,
)
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.db import Database
from cycle_engine.store.events import lock_cycle
from cycle_engine.store.tables import ACTIVE, CycleRecord, TemplateRecord
from cycle_engine.store.tables.templates import (
    PLAN_APPLIED,
    PLAN_CREATED,
    PLAN_PREVIEWED,
    REPLAN,
    TemplateMigrationRecord,
)
from cycle_engine.store.templates import TemplateStore
from cycle_engine.templates import ownership, plans
from cycle_engine.templates.apply import apply_forecast
from cycle_engine.templates.blocking import newly_blocking
from cycle_engine.templates.deadlines import MigrationRule
from cycle_engine.templates.forecast import CycleForecast, forecast_cycle
from cycle_engine.templates.plans import MigrationPlan
from cycle_engine.templates.snapshot import load_snapshot

#: Called after each cycle of an apply with (cycles done, cycles in all).
Progress = Callable[[int, int], None]


@dataclass(frozen=True, kw_only=True)
class MigrationPreview:
    """What applying a plan now would do, cycle by cycle."""

    plan: MigrationPlan
    at: datetime
    cycles: tuple[CycleForecast, ...]

    @property
    def migrating(self) -> list[CycleForecast]:
        return [c for c in self.cycles if c.outcome == "migrate"]

    @property
    def blocked(self) -> list[CycleForecast]:
        return [c for c in self.cycles if c.outcome == "blocked"]

    @property
    def current(self) -> list[CycleForecast]:
        return [c for c in self.cycles if c.outcome == "current"]


@dataclass(frozen=True, kw_only=True)
class CycleResult:
    """What applying did to one cycle: migrated (with its event), or skipped and why."""

    cycle_id: int
    migrated: bool
    reason: str | None = None
    event_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class MigrationReport:
    """The outcome of one apply."""

    plan_id: int
    target: str
    applied_by: str
    started_at: datetime
    seconds: float
    results: tuple[CycleResult, ...]

    @property
    def migrated(self) -> list[CycleResult]:
        return [r for r in self.results if r.migrated]

    @property
    def skipped(self) -> list[CycleResult]:
        return [r for r in self.results if not r.migrated]

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "applied_by": self.applied_by,
            "started_at": self.started_at.isoformat(),
            "seconds": round(self.seconds, 3),
            "migrated": [r.cycle_id for r in self.migrated],
            "skipped": [{"cycle_id": r.cycle_id, "reason": r.reason} for r in self.skipped],
        }


class MigrationService:
    """Migration plans of one database: create, read, preview, apply."""

    def __init__(
        self, *, db: Database, clock: Clock, templates: TemplateStore, changes: Changes
    ) -> None:
        self.db = db
        self.clock = clock
        self.templates = templates
        self.changes = changes

    def create_plan(
        self,
        key: str,
        *,
        to_version: int | None = None,
        alliance_id: int | None = None,
        from_key: str | None = None,
        from_version: int | None = None,
        cycle_ids: Sequence[int] = (),
        stage_map: Mapping[str, str] | None = None,
        unentered: str = REPLAN,
        actor: Actor = SYSTEM,
        reach: Reach | None = None,
    ) -> MigrationPlan:
        """A plan moving cycles of `alliance_id` to `key` at `to_version` (latest when None).

        The cycles: `cycle_ids`, or every running cycle on `from_key` (default `key`) at
        `from_version` (any version when None). A template of an alliance moves that
        alliance's cycles only; `alliance_id` None (every alliance) is for administrators.

        Raises TemplateNotFound, CycleNotFound, InvalidInput (naming the field) and
        NotPermitted (not a coordinator of the alliance).
        """
        with self.db.transaction() as session:
            target = ownership.find(session, key, to_version, alliance_id=alliance_id, reach=reach)
            scope = target.alliance_id if target.alliance_id is not None else alliance_id
            _require_coordinator(session, actor, reach, scope)
            record = plans.new_plan(
                session,
                self.templates,
                target=target,
                alliance_id=scope,
                source_key=from_key,
                source_version=from_version,
                cycle_ids=cycle_ids,
                stage_map=stage_map,
                unentered=unentered,
                actor=actor,
                reach=reach,
                now=self.clock.now(),
            )
            return plans.plan_of(session, record)

    def get(self, plan_id: int, *, reach: Reach | None = None) -> MigrationPlan:
        """The plan; raises RecordNotFound (also outside the caller's reach)."""
        with self.db.read_session() as session:
            return plans.plan_of(session, _record(session, plan_id, reach))

    def list(
        self, *, key: str | None = None, alliance_id: int | None = None, reach: Reach | None = None
    ) -> list[MigrationPlan]:
        """Plans in reach (to versions of `key`, of one alliance), newest first."""
        with self.db.read_session() as session:
            query = select(TemplateMigrationRecord)
            if alliance_id is not None:
                query = query.where(TemplateMigrationRecord.alliance_id == alliance_id)
            records = session.exec(query.order_by(col(TemplateMigrationRecord.id).desc())).all()
            found = [plans.plan_of(session, r) for r in records if _reaches(reach, r.alliance_id)]
        return [p for p in found if key is None or p.target_key == key]

    def running(self, alliance_id: int | None = None) -> dict[int, int]:
        """How many running cycles (of one alliance) each template version has, by its id."""
        query = select(CycleRecord.template_id, func.count()).where(CycleRecord.status == ACTIVE)
        if alliance_id is not None:
            query = query.where(CycleRecord.alliance_id == alliance_id)
        with self.db.read_session() as session:
            rows = session.exec(query.group_by(col(CycleRecord.template_id))).all()
        return {int(template_id): int(count) for template_id, count in rows}

    def preview(
        self, plan_id: int, *, actor: Actor = SYSTEM, reach: Reach | None = None
    ) -> MigrationPreview:
        """What applying the plan now would do to each of its cycles; the plan remembers the
        version of each cycle it would migrate. Raises RecordNotFound, NotPermitted."""
        now = self.clock.now()
        with self.db.read_session() as session:
            record = _record(session, plan_id, reach)
            _require_coordinator(session, actor, reach, record.alliance_id)
            target_record, target = self._target(session, record)
            rule = MigrationRule(stage_map=dict(record.stage_map), unentered=record.unentered)
            forecasts = []
            for cycle in plans.selected_cycles(session, record):
                snap = load_snapshot(session, cycle, self.templates)
                forecast = forecast_cycle(snap, target_record, target, rule, now)
                if forecast.outcome == "migrate":
                    blocks = newly_blocking(
                        session, snap, target, forecast, self.templates.guards, now
                    )
                    forecast = replace(forecast, newly_blocking=blocks)
                forecasts.append(forecast)
        versions = {str(f.cycle_id): f.cycle_version for f in forecasts if f.outcome == "migrate"}
        with self.db.transaction() as session:
            stored = session.get(TemplateMigrationRecord, plan_id)
            assert stored is not None
            stored.previewed_at = now
            stored.preview_versions = versions
            if stored.status == PLAN_CREATED:
                stored.status = PLAN_PREVIEWED
            session.add(stored)
            session.flush()
            plan = plans.plan_of(session, stored)
        return MigrationPreview(plan=plan, at=now, cycles=tuple(forecasts))

    def apply(
        self,
        plan_id: int,
        *,
        actor: Actor = SYSTEM,
        reach: Reach | None = None,
        progress: Progress | None = None,
    ) -> MigrationReport:
        """Migrate each cycle the plan's last preview showed, each in its own transaction under
        the cycle's lock; `progress(done, total)` after each. Raises RecordNotFound,
        NotPermitted, ActionNotAllowed (never previewed)."""
        started, clock = self.clock.now(), time.monotonic()
        with self.db.read_session() as session:
            record = _record(session, plan_id, reach)
            _require_coordinator(session, actor, reach, record.alliance_id)
            if record.previewed_at is None:
                raise ActionNotAllowed(
                    f"apply migration plan {plan_id}",
                    "preview it first: a plan applies to the cycles its preview showed",
                )
            target_record, target = self._target(session, record)
            plan = plans.plan_of(session, record)
        results = []
        expected = sorted(plan.preview_versions.items())
        for done, (cycle_id, version) in enumerate(expected, start=1):
            results.append(self._apply_one(plan, cycle_id, version, target_record, target, actor))
            if progress is not None:
                progress(done, len(expected))
        report = MigrationReport(
            plan_id=plan_id,
            target=target_record.label,
            applied_by=actor.name,
            started_at=started,
            seconds=time.monotonic() - clock,
            results=tuple(results),
        )
        if report.migrated or plan.status != PLAN_APPLIED:
            self._record_report(plan_id, report)
        return report

    def _target(
        self, session: Session, record: TemplateMigrationRecord
    ) -> tuple[TemplateRecord, TemplateSpec]:
        target = session.get(TemplateRecord, record.template_id)
        assert target is not None and target.id is not None
        return target, self.templates.spec(session, target.id)

    def _apply_one(
        self,
        plan: MigrationPlan,
        cycle_id: int,
        expected: int,
        target_record: TemplateRecord,
        target: TemplateSpec,
        actor: Actor,
    ) -> CycleResult:
        now = self.clock.now()
        try:
            with self.db.transaction() as session:
                cycle = lock_cycle(session, cycle_id)
                if cycle.template_id == target_record.id:
                    return _skipped(cycle_id, f"already on {target_record.label}")
                if cycle.version != expected:
                    return _skipped(
                        cycle_id,
                        f"it changed since the preview (version {expected}, now "
                        f"{cycle.version}); preview the plan again to include it",
                    )
                snap = load_snapshot(session, cycle, self.templates)
                forecast = forecast_cycle(snap, target_record, target, plan.rule, now)
                if forecast.outcome != "migrate":
                    return _skipped(cycle_id, forecast.reason)
                event = apply_forecast(
                    session,
                    snap,
                    forecast,
                    target_record=target_record,
                    target=target,
                    rule=plan.rule,
                    plan_id=plan.id,
                    actor=actor,
                    now=now,
                    changes=self.changes,
                )
                return CycleResult(cycle_id=cycle_id, migrated=True, event_id=event.id)
        except CycleNotFound:
            return _skipped(cycle_id, "it no longer exists")
        except CycleEngineError as error:  # a host listener refused the change
            return _skipped(cycle_id, str(error))

    def _record_report(self, plan_id: int, report: MigrationReport) -> None:
        with self.db.transaction() as session:
            stored = session.get(TemplateMigrationRecord, plan_id)
            assert stored is not None
            stored.status = PLAN_APPLIED
            stored.applied_at = report.started_at
            stored.applied_by = report.applied_by[:200]
            stored.report = report.as_json()
            session.add(stored)


def _skipped(cycle_id: int, reason: str | None) -> CycleResult:
    return CycleResult(cycle_id=cycle_id, migrated=False, reason=reason)


def _reaches(reach: Reach | None, alliance_id: int | None) -> bool:
    """Whether the caller reads plans of `alliance_id` (every alliance's: administrators)."""
    if reach is None:
        return True
    return reach.everything if alliance_id is None else reach.manages(alliance_id)


def _record(session: Session, plan_id: int, reach: Reach | None) -> TemplateMigrationRecord:
    record = session.get(TemplateMigrationRecord, plan_id)
    if record is None or not _reaches(reach, record.alliance_id):
        raise RecordNotFound("migration plan", plan_id)
    return record


def _require_coordinator(
    session: Session, actor: Actor, reach: Reach | None, alliance_id: int | None
) -> None:
    """Only coordinators of the alliance (administrators, for every alliance) move cycles."""
    if alliance_id is None:
        if actor.role not in ownership.ADMINS or (reach is not None and not reach.everything):
            raise NotPermitted(
                "migrate cycles of every alliance",
                "only an administrator moves every alliance's cycles; name your alliance",
            )
        return
    if reach is not None and not reach.manages(alliance_id):
        if ownership.sees_owner(session, reach, alliance_id):
            raise NotPermitted("migrate cycles", "only the alliance's coordinators move its cycles")
        raise RecordNotFound("alliance", alliance_id)
    if actor.role not in ownership.CHANGERS:
        raise NotPermitted(
            "migrate cycles",
            f"only the alliance's coordinators move its cycles (you: {actor.role})",
        )
