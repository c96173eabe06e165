"""Migration plans: move running cycles to a version of a template, with a preview first.

    POST /templates/{key}/migrations                      create a plan (coordinators)
    GET  /templates/{key}/migrations                      plans in reach (coordinators, managers)
    GET  /templates/{key}/migrations/{plan_id}            one plan, with its last report
    POST /templates/{key}/migrations/{plan_id}/preview    per cycle: stage, deadlines, reminders,
                                                          newly blocking guards; changes no cycle
    POST /templates/{key}/migrations/{plan_id}/apply      migrate what the preview showed

A plan belongs to one alliance (whose coordinators create, preview and apply it, and whose
managers read it) or, made with an admin key, to every alliance. Anything out of the key's reach
is not found (404); a key that sees the plan but may not change cycles gets 403. Included by
`routers.templates`, so it shares its prefix and tag.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from cycle_engine.api.access import Access
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath, PageDep
from cycle_engine.api.fields import KEY_PATTERN
from cycle_engine.api.schemas import Page, page_of
from cycle_engine.api.schemas_templates import (
    MigrationPlanCreate,
    MigrationPlanPublic,
    MigrationPreviewPublic,
    MigrationReportPublic,
)
from cycle_engine.engine import CycleEngine
from cycle_engine.errors import RecordNotFound
from cycle_engine.templates.plans import MigrationPlan

router = APIRouter()
_PATH = "/{key}/migrations"
TemplateKey = Annotated[str, Path(min_length=1, max_length=100, pattern=KEY_PATTERN)]


def _plan(engine: CycleEngine, caller: Access, key: str, plan_id: int) -> MigrationPlan:
    """The plan, if the key reaches it and it moves cycles to `key`; else 404."""
    plan = engine.migrations.get(plan_id, reach=caller.reach)
    if plan.target_key != key:
        raise RecordNotFound("migration plan", plan_id)
    return plan


def _scope(engine: CycleEngine, caller: Access, key: str, alliance_id: int | None) -> int | None:
    """Whose cycles move: the one named, the template's alliance, or the key's own."""
    if alliance_id is not None or caller.is_admin:
        return alliance_id
    record, _ = engine.templates.version(key, reach=caller.reach)
    if record.alliance_id is not None:
        return record.alliance_id
    coordinated = sorted(a for a, role in caller.alliance_roles.items() if role == "coordinator")
    return coordinated[0] if len(coordinated) == 1 else None


@router.post(_PATH, summary="Plan moving running cycles to a version", status_code=201)
def create_plan(
    key: TemplateKey, payload: MigrationPlanCreate, engine: EngineDep, caller: CurrentKey
) -> MigrationPlanPublic:
    """The cycles: `cycle_ids`, or every running cycle on `from_key` (default the target's key)
    at `from_version` (default any). `stage_map` maps old stage keys to new ones."""
    scope = _scope(engine, caller, key, payload.alliance_id)
    plan = engine.migrations.create_plan(
        key,
        to_version=payload.to_version,
        alliance_id=scope,
        from_key=payload.from_key,
        from_version=payload.from_version,
        cycle_ids=payload.cycle_ids,
        stage_map=payload.stage_map,
        unentered=payload.unentered,
        actor=caller.actor(scope),
        reach=caller.reach,
    )
    return MigrationPlanPublic.of(plan)


@router.get(_PATH, summary="Migration plans to a template")
def list_plans(
    key: TemplateKey, engine: EngineDep, caller: CurrentKey, page: PageDep
) -> Page[MigrationPlanPublic]:
    plans = engine.migrations.list(key=key, reach=caller.reach)
    window = plans[page.offset : page.offset + page.limit + 1]
    return page_of([MigrationPlanPublic.of(p) for p in window], page.limit, page.offset)


@router.get(_PATH + "/{plan_id}", summary="One migration plan")
def get_plan(
    key: TemplateKey, plan_id: IdPath, engine: EngineDep, caller: CurrentKey
) -> MigrationPlanPublic:
    return MigrationPlanPublic.of(_plan(engine, caller, key, plan_id))


@router.post(_PATH + "/{plan_id}/preview", summary="Preview a migration plan")
def preview_plan(
    key: TemplateKey, plan_id: IdPath, engine: EngineDep, caller: CurrentKey
) -> MigrationPreviewPublic:
    """What applying the plan now would do to each cycle; no cycle changes. The plan remembers
    each cycle's version: apply skips a cycle that changed since."""
    plan = _plan(engine, caller, key, plan_id)
    preview = engine.migrations.preview(
        plan_id, actor=caller.actor(plan.alliance_id), reach=caller.reach
    )
    return MigrationPreviewPublic.of(preview)


@router.post(_PATH + "/{plan_id}/apply", summary="Apply a previewed migration plan")
def apply_plan(
    key: TemplateKey, plan_id: IdPath, engine: EngineDep, caller: CurrentKey
) -> MigrationReportPublic:
    """Migrate each cycle the last preview showed, each in its own transaction; cycles changed
    since the preview, or already migrated, are skipped and listed. 409 before any preview."""
    plan = _plan(engine, caller, key, plan_id)
    report = engine.migrations.apply(
        plan_id, actor=caller.actor(plan.alliance_id), reach=caller.reach
    )
    return MigrationReportPublic.of(report)
