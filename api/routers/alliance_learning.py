"""The alliance's learning above the cycle (issue 12): its agenda, the map of its cycles, the
adoption and outcome records, organisations leaving, and the alliance learning report (as data,
Markdown or HTML).

Every member of the alliance reads these (`api.access`: partners see the alliances their
organisation sits in); partners record adoptions, outcomes and agenda questions for their own
organisation; the alliance's coordinators record for any member and record an organisation
leaving. Out of reach is 404.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from cycle_engine.alliances.adoption import Outcome
from cycle_engine.alliances.alliance_report import AllianceReport
from cycle_engine.alliances.departures import OrganisationsTurnover
from cycle_engine.alliances.follow_on import CycleMap
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath
from cycle_engine.api.schemas_learning import (
    AdoptionCreate,
    AdoptionPublic,
    AgendaQuestionCreate,
    AgendaQuestionPublic,
    LeavingPublic,
    OrganisationDeparturePublic,
    OrganisationLeaving,
    OutcomeCreate,
    OutcomePublic,
)

router = APIRouter(prefix="/alliances", tags=["alliance learning"])


def _outcome(o: Outcome) -> OutcomePublic:
    """An outcome as the API shows it: its record, with the cycles and learnings behind it."""
    return OutcomePublic(
        id=o.record.id or 0,
        kind=o.record.kind,
        title=o.record.title,
        description=o.record.description,
        organisation_id=o.record.organisation_id,
        observed_on=o.record.observed_on,
        cycle_ids=list(o.cycle_ids),
        learning_ids=list(o.learning_ids),
    )


@router.get("/{alliance_id}/agenda", summary="The alliance's learning agenda")
def agenda(alliance_id: IdPath, engine: EngineDep, key: CurrentKey) -> list[AgendaQuestionPublic]:
    items = engine.learning.agenda(alliance_id, reach=key.reach)
    return [AgendaQuestionPublic.of(item) for item in items]


@router.post(
    "/{alliance_id}/agenda",
    summary="Put a question on the agenda outside any cycle (who and why)",
    status_code=201,
)
def raise_agenda_question(
    alliance_id: IdPath, payload: AgendaQuestionCreate, engine: EngineDep, key: CurrentKey
) -> AgendaQuestionPublic:
    record = engine.learning.raise_agenda_question(
        alliance_id,
        payload.text,
        payload.reason,
        organisation_id=payload.organisation_id,
        actor=key.actor(alliance_id),
        reach=key.reach,
    )
    item = next(i for i in engine.learning.agenda(alliance_id) if i.record.id == record.id)
    return AgendaQuestionPublic.of(item)


@router.get("/{alliance_id}/cycle-map", summary="The alliance's cycles over time, which fed which")
def cycle_map(alliance_id: IdPath, engine: EngineDep, key: CurrentKey) -> CycleMap:
    return engine.learning.cycle_map(alliance_id, reach=key.reach)


@router.get("/{alliance_id}/adoptions", summary="Who used or adapted which tool, where")
def adoptions(alliance_id: IdPath, engine: EngineDep, key: CurrentKey) -> list[AdoptionPublic]:
    rows = engine.learning.adoptions(alliance_id, reach=key.reach)
    return [AdoptionPublic.model_validate(r) for r in rows]


@router.post("/{alliance_id}/adoptions", summary="Record a use or adaptation", status_code=201)
def record_adoption(
    alliance_id: IdPath, payload: AdoptionCreate, engine: EngineDep, key: CurrentKey
) -> AdoptionPublic:
    row = engine.learning.record_adoption(
        alliance_id,
        payload.product_id,
        payload.organisation_id,
        payload.use,
        country=payload.country,
        place=payload.place,
        adopted_on=payload.adopted_on,
        description=payload.description,
        actor=key.actor(alliance_id),
        reach=key.reach,
    )
    return AdoptionPublic.model_validate(row)


@router.get("/{alliance_id}/outcomes", summary="Outcomes and the cycles behind them")
def outcomes(alliance_id: IdPath, engine: EngineDep, key: CurrentKey) -> list[OutcomePublic]:
    return [_outcome(o) for o in engine.learning.outcomes(alliance_id, reach=key.reach)]


@router.post("/{alliance_id}/outcomes", summary="Record an outcome", status_code=201)
def record_outcome(
    alliance_id: IdPath, payload: OutcomeCreate, engine: EngineDep, key: CurrentKey
) -> OutcomePublic:
    o = engine.learning.record_outcome(
        alliance_id,
        payload.kind,
        payload.title,
        payload.description,
        observed_on=payload.observed_on,
        cycle_ids=payload.cycle_ids,
        learning_ids=payload.learning_ids,
        organisation_id=payload.organisation_id,
        actor=key.actor(alliance_id),
        reach=key.reach,
    )
    return _outcome(o)


@router.get("/{alliance_id}/departures", summary="Organisations that left the alliance")
def departures(
    alliance_id: IdPath, engine: EngineDep, key: CurrentKey
) -> list[OrganisationDeparturePublic]:
    rows = engine.learning.departures(alliance_id, reach=key.reach)
    return [OrganisationDeparturePublic.model_validate(r) for r in rows]


@router.post(
    "/{alliance_id}/departures",
    summary="Record that an organisation left (date, reason); flags its open roles",
    status_code=201,
)
def organisation_left(
    alliance_id: IdPath, payload: OrganisationLeaving, engine: EngineDep, key: CurrentKey
) -> LeavingPublic:
    flagged = engine.learning.organisation_left(
        alliance_id,
        payload.organisation_id,
        payload.reason,
        left_on=payload.left_on,
        actor=key.actor(alliance_id),
        reach=key.reach,
    )
    return LeavingPublic(organisation_id=payload.organisation_id, flagged=flagged)


@router.get(
    "/{alliance_id}/organisation-turnover", summary="Organisations seated and those that left"
)
def organisation_turnover(
    alliance_id: IdPath, engine: EngineDep, key: CurrentKey
) -> OrganisationsTurnover:
    return engine.learning.organisation_turnover(alliance_id, reach=key.reach)


@router.get("/{alliance_id}/learning-report", summary="The alliance learning report, as data")
def learning_report(alliance_id: IdPath, engine: EngineDep, key: CurrentKey) -> AllianceReport:
    return engine.learning.alliance_report(alliance_id, reach=key.reach)


@router.get(
    "/{alliance_id}/learning-report/{fmt}",
    summary="The alliance learning report, rendered",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/markdown": {}, "text/html": {}}}},
)
def rendered_learning_report(
    alliance_id: IdPath, fmt: Literal["markdown", "html"], engine: EngineDep, key: CurrentKey
) -> Response:
    text = engine.learning.render_alliance_report(alliance_id, fmt, reach=key.reach)
    if fmt == "html":
        return HTMLResponse(text)
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")
