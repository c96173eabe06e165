"""The learning agenda on a cycle (issue 12): raise a question at any stage, take up one from the
alliance's agenda, record each question answered, advanced or carried forward; partners'
level proposals and the coordinator's decisions; follow-on cycles and the links between cycles.

Every route goes through the engine with the caller's reach (`api.access`): members of the
cycle's alliance see these records; partners act for their own organisation; coordinators of
the alliance decide proposals and start follow-on cycles. An If-Match names the cycle version
the command expects (412 when stale).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from cycle_engine.actors import Actor
from cycle_engine.api.access import Access
from cycle_engine.api.cycle_commands import IfMatch, etag_of, expected_version
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath
from cycle_engine.api.schemas_learning import (
    AgendaTakeUp,
    CycleLinkPublic,
    CycleLinksPublic,
    FollowOnCreate,
    FollowOnPublic,
    LevelDecision,
    LevelProposalCreate,
    LevelProposalPublic,
    QuestionRaise,
    QuestionStatePublic,
    QuestionStatusSet,
)
from cycle_engine.engine import CycleEngine
from cycle_engine.errors import CycleNotFound

router = APIRouter(prefix="/cycles", tags=["learning agenda"])


def _actor(engine: CycleEngine, key: Access, cycle_id: int) -> Actor:
    """The caller as it acts in the cycle's alliance (the engine checks reach itself)."""
    try:
        alliance_id = engine.get_cycle(cycle_id).alliance_id
    except CycleNotFound:
        alliance_id = None
    return key.actor(alliance_id)


def _tag(engine: CycleEngine, response: Response, cycle_id: int) -> None:
    response.headers["ETag"] = etag_of(engine.get_cycle(cycle_id).version)


@router.get("/{cycle_id}/question-statuses", summary="The cycle's questions and their status")
def question_statuses(
    cycle_id: IdPath, engine: EngineDep, key: CurrentKey
) -> list[QuestionStatePublic]:
    states = engine.learning.question_states(cycle_id, reach=key.reach)
    return [QuestionStatePublic.of(s) for s in states]


@router.post(
    "/{cycle_id}/raised-questions",
    summary="Raise a learning question at any stage (who and why)",
    status_code=201,
)
def raise_question(
    cycle_id: IdPath,
    payload: QuestionRaise,
    engine: EngineDep,
    key: CurrentKey,
    response: Response,
    if_match: IfMatch = None,
) -> QuestionStatePublic:
    state = engine.learning.raise_question(
        cycle_id,
        payload.text,
        payload.reason,
        organisation_id=payload.organisation_id,
        actor=_actor(engine, key, cycle_id),
        expected_version=expected_version(if_match),
        reach=key.reach,
    )
    _tag(engine, response, cycle_id)
    return QuestionStatePublic.of(state)


@router.post(
    "/{cycle_id}/taken-up-questions",
    summary="Work on a question of the alliance's agenda in this cycle",
    status_code=201,
)
def take_up_question(
    cycle_id: IdPath,
    payload: AgendaTakeUp,
    engine: EngineDep,
    key: CurrentKey,
    response: Response,
    if_match: IfMatch = None,
) -> QuestionStatePublic:
    state = engine.learning.take_up_question(
        cycle_id,
        payload.agenda_question_id,
        actor=_actor(engine, key, cycle_id),
        expected_version=expected_version(if_match),
        reach=key.reach,
    )
    _tag(engine, response, cycle_id)
    return QuestionStatePublic.of(state)


@router.post(
    "/{cycle_id}/questions/{question_id}/status",
    summary="Record a question answered, advanced or carried forward (with a note)",
)
def set_question_status(
    cycle_id: IdPath,
    question_id: IdPath,
    payload: QuestionStatusSet,
    engine: EngineDep,
    key: CurrentKey,
    response: Response,
    if_match: IfMatch = None,
) -> QuestionStatePublic:
    state = engine.learning.record_question_status(
        cycle_id,
        question_id,
        payload.status,
        text=payload.text,
        note=payload.note,
        actor=_actor(engine, key, cycle_id),
        expected_version=expected_version(if_match),
        reach=key.reach,
    )
    _tag(engine, response, cycle_id)
    return QuestionStatePublic.of(state)


@router.get("/{cycle_id}/level-proposals", summary="Level proposals and decisions (the history)")
def level_proposals(
    cycle_id: IdPath, engine: EngineDep, key: CurrentKey
) -> list[LevelProposalPublic]:
    rows = engine.learning.proposals(cycle_id, reach=key.reach)
    return [LevelProposalPublic.model_validate(r) for r in rows]


@router.post(
    "/{cycle_id}/level-proposals",
    summary="Propose the caller's organisation's level on a stage",
    status_code=201,
)
def propose_level(
    cycle_id: IdPath,
    payload: LevelProposalCreate,
    engine: EngineDep,
    key: CurrentKey,
    response: Response,
    if_match: IfMatch = None,
) -> LevelProposalPublic:
    row = engine.learning.propose_level(
        cycle_id,
        payload.stage,
        payload.organisation_id,
        payload.level,
        note=payload.note,
        actor=_actor(engine, key, cycle_id),
        expected_version=expected_version(if_match),
        reach=key.reach,
    )
    _tag(engine, response, cycle_id)
    return LevelProposalPublic.model_validate(row)


@router.post(
    "/{cycle_id}/level-proposals/{proposal_id}/decision",
    summary="Confirm, change or decline a level proposal (coordinators)",
)
def decide_level(
    cycle_id: IdPath,
    proposal_id: IdPath,
    payload: LevelDecision,
    engine: EngineDep,
    key: CurrentKey,
    response: Response,
    if_match: IfMatch = None,
) -> LevelProposalPublic:
    row = engine.learning.decide_proposal(
        cycle_id,
        proposal_id,
        level=payload.level,
        decline=payload.decline,
        note=payload.note,
        actor=_actor(engine, key, cycle_id),
        expected_version=expected_version(if_match),
        reach=key.reach,
    )
    _tag(engine, response, cycle_id)
    return LevelProposalPublic.model_validate(row)


@router.post(
    "/{cycle_id}/follow-on",
    summary="Start a follow-on cycle: open questions, adapted prototypes, same participants",
    status_code=201,
)
def start_follow_on(
    cycle_id: IdPath, payload: FollowOnCreate, engine: EngineDep, key: CurrentKey
) -> FollowOnPublic:
    follow = engine.learning.start_follow_on(
        cycle_id,
        payload.title,
        template_key=payload.template_key,
        question_ids=payload.question_ids,
        product_ids=payload.product_ids,
        topic=payload.topic,
        note=payload.note,
        actor=_actor(engine, key, cycle_id),
        reach=key.reach,
    )
    return FollowOnPublic(
        cycle_id=follow.cycle.id or 0,
        title=follow.cycle.title,
        link=CycleLinkPublic.model_validate(follow.link),
    )


@router.get("/{cycle_id}/links", summary="Cycles that fed this one, or that it fed; its inputs")
def cycle_links(cycle_id: IdPath, engine: EngineDep, key: CurrentKey) -> CycleLinksPublic:
    links, inputs = engine.learning.links(cycle_id, reach=key.reach)
    return CycleLinksPublic(
        links=[CycleLinkPublic.model_validate(link) for link in links],
        input_product_ids=[p.id or 0 for p in inputs],
    )
