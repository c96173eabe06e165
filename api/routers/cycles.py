"""Cycles: start, list (filters for state, alliance, organisation, overdue and stalled), read one
with the triggers available to the caller and why others are blocked, its stage visits and its
history. Reads carry an ETag (the cycle's version) that commands accept as If-Match.

The list is the engine's one list of cycles (`engine.cycles.list_cycles`), so "overdue" and
"stalled" mean here what they mean on the dashboard and in the scheduler's reports.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic_core import to_json
from sqlmodel import Session

from cycle_engine.api.access import Access, require_role
from cycle_engine.api.cycle_commands import etag_of
from cycle_engine.api.deps import (
    KEY_SECURITY,
    CurrentKey,
    EngineDep,
    IdPath,
    PageDep,
    readers,
    request_key,
)
from cycle_engine.api.fields import KEY_PATTERN, MAX_ID
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
from cycle_engine.cycles.listing import CycleFilter
from cycle_engine.cycles.view import CycleView
from cycle_engine.engine import CycleEngine
from cycle_engine.spec.validate import SNAKE_NAME

router = APIRouter(prefix="/cycles", tags=["cycles"])


_CYCLE_FIELDS = tuple(CyclePublic.model_fields)
_STAGE_FIELDS = tuple(StagePublic.model_fields)


def cycle_document(view: CycleView) -> dict[str, Any]:
    """A `CycleDetail` as plain values, its fields in the model's order.

    Built from the typed rows without validating them again: the rows already hold exactly
    these types, and a second validation cost a third of the read.
    """
    cycle, stage = view.cycle, view.stage
    document = {name: getattr(cycle, name) for name in _CYCLE_FIELDS}
    document["template_version"] = view.template_version
    document["stage"] = (
        None if stage is None else {name: getattr(stage, name) for name in _STAGE_FIELDS}
    )
    document["triggers"] = [
        {
            "trigger": o.trigger,
            "dest": o.dest,
            "allowed": o.allowed,
            "reasons": list(o.reasons),
            "roles": list(o.roles),
            "description": o.description,
        }
        for o in view.triggers
    ]
    return document


def cycle_detail(engine: CycleEngine, key: Access, cycle_id: int) -> CycleDetail:
    """The cycle with its current stage visit and the triggers as the caller sees them."""
    view = engine.cycles.view(cycle_id, actor=key.actor(), reach=key.reach)
    return CycleDetail.model_validate(cycle_document(view))


@router.get("", summary="List cycles in reach")
def list_cycles(
    engine: EngineDep,
    key: CurrentKey,
    page: PageDep,
    state: Annotated[
        str | None, Query(max_length=100, pattern=SNAKE_NAME.pattern, description="Stage key.")
    ] = None,
    status: Annotated[str | None, Query(pattern="^(active|finished)$")] = None,
    template_key: Annotated[str | None, Query(max_length=100, pattern=KEY_PATTERN)] = None,
    alliance_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="One alliance.")] = None,
    organisation_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Cycles this organisation takes part in.")
    ] = None,
    overdue: Annotated[bool | None, Query(description="Open stage due at or before now.")] = None,
    stalled: Annotated[bool | None, Query(description="Flagged stalled now.")] = None,
) -> Page[CyclePublic]:
    filters = CycleFilter(
        state=state,
        status=status,
        template_key=template_key,
        alliance_id=alliance_id,
        organisation_id=organisation_id,
        overdue=overdue,
        stalled=stalled,
        reach=key.reach,
    )
    rows = engine.cycles.list_cycles(filters, limit=page.limit + 1, offset=page.offset)
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

    def command() -> CycleDetail:
        cycle = engine.cycles.start_cycle(
            payload.template_key,
            payload.title,
            template_version=payload.template_version,
            actor=key.actor(),
            note=payload.note,
            alliance_id=payload.alliance_id,
            topic=payload.topic,
            questions=payload.questions,
            reach=key.reach,
            standalone=payload.standalone,
        )
        assert cycle.id is not None
        return cycle_detail(engine, key, cycle.id)

    response = run_once(
        engine, key, idempotency_key, fingerprint("POST", "/cycles", payload), 201, command
    )
    created = json.loads(bytes(response.body))
    response.headers["Location"] = f"/api/v1/cycles/{created['id']}"
    response.headers["ETag"] = etag_of(created["version"])
    return response


@router.get(
    "/{cycle_id}",
    summary="A cycle with its available triggers",
    response_model=CycleDetail,
    responses={200: {"headers": {"ETag": {"schema": {"type": "string"}}}}},
    openapi_extra=KEY_SECURITY,
)
async def get_cycle(cycle_id: IdPath, request: Request) -> Response:
    """The cycle with its current stage visit and the triggers as the caller sees them."""
    # The request clients make most, so: the key is checked without FastAPI's dependency
    # solving (`deps.request_key`); the cycle is read and serialized in one of the app's
    # reader threads (`store.reads`: a held session, a cheaper hop than the thread pool's),
    # once, from plain values (FastAPI would validate a returned model again). The body is
    # what `CycleDetail` gives (`tests/api/test_api_cycles.py`).
    key = await request_key(request)
    engine: CycleEngine = request.app.state.engine

    def read(session: Session) -> tuple[int, bytes]:
        view = engine.cycles.view_in(session, cycle_id, actor=key.actor(), reach=key.reach)
        return view.cycle.version, to_json(cycle_document(view))

    version, body = await asyncio.wrap_future(readers(request).submit(read))
    return Response(body, media_type="application/json", headers={"ETag": etag_of(version)})


@router.get("/{cycle_id}/triggers", summary="Triggers from the cycle's stage, with reasons")
def cycle_triggers(cycle_id: IdPath, engine: EngineDep, key: CurrentKey) -> list[TriggerPublic]:
    options = engine.cycles.available_triggers(cycle_id, actor=key.actor(), reach=key.reach)
    return [TriggerPublic.of(o) for o in options]


@router.get("/{cycle_id}/stages", summary="The cycle's stage visits")
def cycle_stages(
    cycle_id: IdPath, engine: EngineDep, key: CurrentKey, page: PageDep
) -> Page[StagePublic]:
    engine.cycles.get_cycle(cycle_id, reach=key.reach)
    rows = engine.cycles.stage_visits(cycle_id)[page.offset : page.offset + page.limit + 1]
    return page_of([StagePublic.of(r) for r in rows], page.limit, page.offset)


@router.get("/{cycle_id}/history", summary="The cycle's history, oldest first")
def cycle_history(
    cycle_id: IdPath, engine: EngineDep, key: CurrentKey, page: PageDep
) -> Page[EventPublic]:
    engine.cycles.get_cycle(cycle_id, reach=key.reach)
    rows = engine.cycles.history(cycle_id)[page.offset : page.offset + page.limit + 1]
    return page_of([EventPublic.of(r) for r in rows], page.limit, page.offset)
