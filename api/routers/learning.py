"""Learning questions (asked at the start, answered when documenting) and the learning log
(what organisations learnt), per cycle."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import RootModel

from cycle_engine.alliances.learning import LearningEntry
from cycle_engine.api.cycle_commands import CycleCommandsDep
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath, PageDep
from cycle_engine.api.schemas import Page, page_of
from cycle_engine.api.schemas_domain import (
    AnswersCreate,
    LearningCreate,
    LearningPublic,
    QuestionPublic,
    QuestionsCreate,
)

router = APIRouter(prefix="/cycles", tags=["learning"])


class Questions(RootModel[list[QuestionPublic]]):
    """Questions, in order."""


def _learning(entry: LearningEntry) -> LearningPublic:
    record = entry.record
    assert record.id is not None
    return LearningPublic(
        id=record.id,
        stage=record.stage,
        kind=record.kind,
        title=record.title,
        text=record.text,
        created_at=record.created_at,
        created_by=record.created_by,
        organisation_ids=[o.id for o in entry.organisations if o.id],
    )


@router.get("/{cycle_id}/questions", summary="The cycle's learning questions")
def list_questions(cycle_id: IdPath, engine: EngineDep, key: CurrentKey) -> list[QuestionPublic]:
    engine.cycles.get_cycle(cycle_id, reach=key.reach)
    return [QuestionPublic.model_validate(q) for q in engine.work.learning_questions(cycle_id)]


@router.post(
    "/{cycle_id}/questions",
    summary="Add learning questions",
    status_code=201,
    response_model=list[QuestionPublic],
)
def add_questions(
    cycle_id: IdPath,
    payload: QuestionsCreate,
    commands: CycleCommandsDep,
) -> JSONResponse:
    return commands.run(
        cycle_id,
        payload=payload,
        action="questions",
        command=lambda: Questions(
            [
                QuestionPublic.model_validate(q)
                for q in commands.engine.work.add_questions(
                    cycle_id,
                    payload.texts,
                    actor=commands.actor,
                    expected_version=commands.expected_version,
                    reach=commands.reach,
                )
            ]
        ),
    )


@router.post(
    "/{cycle_id}/questions/answers",
    summary="Answer learning questions",
    status_code=200,
    response_model=list[QuestionPublic],
)
def answer_questions(
    cycle_id: IdPath,
    payload: AnswersCreate,
    commands: CycleCommandsDep,
) -> JSONResponse:
    return commands.run(
        cycle_id,
        payload=payload,
        action="answers",
        status=200,
        command=lambda: Questions(
            [
                QuestionPublic.model_validate(q)
                for q in commands.engine.work.answer_questions(
                    cycle_id,
                    payload.answers,
                    actor=commands.actor,
                    expected_version=commands.expected_version,
                    reach=commands.reach,
                )
            ]
        ),
    )


@router.get("/{cycle_id}/learning", summary="The cycle's learning log")
def list_learning(
    cycle_id: IdPath, engine: EngineDep, key: CurrentKey, page: PageDep
) -> Page[LearningPublic]:
    engine.cycles.get_cycle(cycle_id, reach=key.reach)
    rows = engine.work.learning_log(cycle_id)[page.offset : page.offset + page.limit + 1]
    return page_of([_learning(e) for e in rows], page.limit, page.offset)


@router.post(
    "/{cycle_id}/learning",
    summary="Record a learning entry",
    status_code=201,
    response_model=LearningPublic,
)
def add_learning(
    cycle_id: IdPath,
    payload: LearningCreate,
    commands: CycleCommandsDep,
) -> JSONResponse:
    return commands.run(
        cycle_id,
        payload=payload,
        action="learning",
        command=lambda: _learning(
            commands.engine.work.add_learning(
                cycle_id,
                payload.kind,
                payload.title,
                payload.text,
                payload.organisation_ids,
                actor=commands.actor,
                expected_version=commands.expected_version,
                reach=commands.reach,
            )
        ),
    )
