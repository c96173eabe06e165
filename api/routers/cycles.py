"""Cycles: start, list (filters for state, alliance, organisation, overdue and stalled), read one
with the triggers available to the caller and why others are blocked, its stage visits and its
history. Reads carry an ETag (the cycle's version) that commands accept as If-Match.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from sqlmodel import Session, col, select

from cycle_engine.api.auth import Principal, alliance_in_reach, scope_cycles, visible_cycle
from cycle_engine.api.cycle_access import blocked_for_partner, etag_of
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath, PageDep, ReadSession, require_role
from cycle_engine.api.idempotency import IdempotencyKey, fingerprint, run_once
from cycle_engine.api.schemas import (
    CycleCreate,
    CycleDetail,
    CyclePublic,
    EventPublic,
    Page,
    StagePublic,
    TriggerPublic,
    page_of,
)
from cycle_engine.engine import CycleEngine
from cycle_engine.errors import AllianceNotFound
from cycle_engine.store.tables import ACTIVE, CycleRecord, EventRecord, StageRecord, TemplateRecord
from cycle_engine.store.tables.alliances import ParticipationRecord
from cycle_engine.store.tables.timers import StallRecord

router = APIRouter(prefix="/cycles", tags=["cycles"])
Id = Annotated[int, Query(ge=1, le=2**31 - 1)]


def cycle_detail(
    engine: CycleEngine, session: Session, principal: Principal, cycle: CycleRecord
) -> CycleDetail:
    """The cycle with its current stage visit and the triggers as the caller sees them."""
    assert cycle.id is not None
    template = session.get(TemplateRecord, cycle.template_id)
    assert template is not None
    stage = session.get(StageRecord, cycle.current_stage_id) if cycle.current_stage_id else None
    options = engine.available_triggers(cycle.id, actor=principal.actor)
    reason = blocked_for_partner(session, principal, cycle)
    triggers = [TriggerPublic.of(o) for o in options]
    if reason is not None:
        triggers = [
            t.model_copy(update={"allowed": False, "reasons": [reason, *t.reasons]})
            for t in triggers
        ]
    return CycleDetail(
        **CyclePublic.of(cycle).model_dump(),
        template_version=template.version,
        stage=StagePublic.of(stage) if stage else None,
        triggers=triggers,
    )


@router.get("", summary="List cycles in reach")
def list_cycles(
    engine: EngineDep,
    key: CurrentKey,
    session: ReadSession,
    page: PageDep,
    state: Annotated[str | None, Query(max_length=100, description="Stage key.")] = None,
    status: Annotated[str | None, Query(pattern="^(active|finished)$")] = None,
    template_key: Annotated[str | None, Query(max_length=100)] = None,
    alliance_id: Annotated[int | None, Id] = None,
    organisation_id: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="Cycles this organisation takes part in.")
    ] = None,
    overdue: Annotated[bool | None, Query(description="Open stage past its due date.")] = None,
    stalled: Annotated[bool | None, Query(description="Flagged stalled now.")] = None,
) -> Page[CyclePublic]:
    query = scope_cycles(select(CycleRecord), key)
    if state is not None:
        query = query.where(CycleRecord.state == state)
    if status is not None:
        query = query.where(CycleRecord.status == status)
    if template_key is not None:
        query = query.where(CycleRecord.template_key == template_key)
    if alliance_id is not None:
        query = query.where(CycleRecord.alliance_id == alliance_id)
    if organisation_id is not None:
        query = query.where(
            col(CycleRecord.id).in_(
                select(ParticipationRecord.cycle_id).where(
                    ParticipationRecord.organisation_id == organisation_id
                )
            )
        )
    if overdue is not None:
        late = select(StageRecord.id).where(
            col(StageRecord.left_at).is_(None), col(StageRecord.due_at) < engine.clock.now()
        )
        is_late: Any = col(CycleRecord.current_stage_id).in_(late) & (CycleRecord.status == ACTIVE)
        query = query.where(is_late if overdue else ~is_late)
    if stalled is not None:
        flagged = select(StallRecord.cycle_id).where(col(StallRecord.cleared_at).is_(None))
        is_stalled: Any = col(CycleRecord.id).in_(flagged)
        query = query.where(is_stalled if stalled else ~is_stalled)
    rows = session.exec(
        query.order_by(col(CycleRecord.id)).offset(page.offset).limit(page.limit + 1)
    ).all()
    return page_of([CyclePublic.of(r) for r in rows], page.limit, page.offset)


@router.post(
    "",
    summary="Start a cycle",
    status_code=201,
    response_model=CycleDetail,
    responses={
        201: {
            "headers": {
                "ETag": {"schema": {"type": "string"}},
                "Location": {"schema": {"type": "string"}},
            }
        }
    },
)
def start_cycle(
    payload: CycleCreate,
    engine: EngineDep,
    key: CurrentKey,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Start a cycle of an alliance on a template (admin, or that alliance's coordinator)."""
    require_role(key, "coordinator")
    with engine.db.read_session() as session:
        if not alliance_in_reach(session, key, payload.alliance_id):
            raise AllianceNotFound(payload.alliance_id)

    def command() -> CycleDetail:
        cycle = engine.start_cycle(
            payload.template_key,
            payload.title,
            template_version=payload.template_version,
            actor=key.actor,
            note=payload.note,
            alliance_id=payload.alliance_id,
            topic=payload.topic,
            questions=payload.questions,
        )
        assert cycle.id is not None
        with engine.db.read_session() as session:
            return cycle_detail(engine, session, key, visible_cycle(session, key, cycle.id))

    response = run_once(
        engine, key, idempotency_key, fingerprint("POST", "/cycles", payload), 201, command
    )
    created = json.loads(bytes(response.body))
    response.headers["Location"] = f"/api/v1/cycles/{created['id']}"
    response.headers["ETag"] = f'"{created["version"]}"'
    return response


@router.get(
    "/{cycle_id}",
    summary="A cycle with its available triggers",
    responses={200: {"headers": {"ETag": {"schema": {"type": "string"}}}}},
)
def get_cycle(
    cycle_id: IdPath, engine: EngineDep, key: CurrentKey, session: ReadSession, response: Response
) -> CycleDetail:
    cycle = visible_cycle(session, key, cycle_id)
    response.headers["ETag"] = etag_of(cycle)
    return cycle_detail(engine, session, key, cycle)


@router.get("/{cycle_id}/triggers", summary="Triggers from the cycle's stage, with reasons")
def cycle_triggers(
    cycle_id: IdPath, engine: EngineDep, key: CurrentKey, session: ReadSession
) -> list[TriggerPublic]:
    cycle = visible_cycle(session, key, cycle_id)
    return cycle_detail(engine, session, key, cycle).triggers


@router.get("/{cycle_id}/stages", summary="The cycle's stage visits")
def cycle_stages(
    cycle_id: IdPath, key: CurrentKey, session: ReadSession, page: PageDep
) -> Page[StagePublic]:
    visible_cycle(session, key, cycle_id)
    rows = session.exec(
        select(StageRecord)
        .where(StageRecord.cycle_id == cycle_id)
        .order_by(col(StageRecord.id))
        .offset(page.offset)
        .limit(page.limit + 1)
    ).all()
    return page_of([StagePublic.of(r) for r in rows], page.limit, page.offset)


@router.get("/{cycle_id}/history", summary="The cycle's history, oldest first")
def cycle_history(
    cycle_id: IdPath, key: CurrentKey, session: ReadSession, page: PageDep
) -> Page[EventPublic]:
    visible_cycle(session, key, cycle_id)
    rows = session.exec(
        select(EventRecord)
        .where(EventRecord.cycle_id == cycle_id)
        .order_by(col(EventRecord.seq))
        .offset(page.offset)
        .limit(page.limit + 1)
    ).all()
    return page_of([EventPublic.of(r) for r in rows], page.limit, page.offset)
