"""Request and response bodies of shared learning above the cycle (issue 12): the agenda and
answer statuses, follow-on cycles, adoption and outcome records, level proposals and
organisations leaving. Requests refuse unknown fields (`RequestModel`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from cycle_engine.alliances.agenda import AgendaItem, QuestionState
from cycle_engine.api.fields import Day, Note, OneOf, RowId, Text100, Text200, Text300, Text2000
from cycle_engine.api.fields import Text10000 as Text10k
from cycle_engine.api.schemas import RequestModel
from cycle_engine.store.tables.alliances import LEVELS
from cycle_engine.store.tables.learning import ADOPTION_USES, ANSWER_STATUSES, OUTCOME_KINDS


def _iso_text(value: object) -> object:
    """A day must come as ISO text ("2026-01-10"), as the schema says, not as a number."""
    if not isinstance(value, str | date):
        raise ValueError("give the date as text like 2026-01-10")
    return value


#: `Day`, refusing the numbers pydantic would otherwise read as a timestamp.
IsoDay = Annotated[Day, BeforeValidator(_iso_text)]


class Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class QuestionRaise(RequestModel):
    text: Text2000
    reason: Text2000
    organisation_id: RowId | None = None


class AgendaQuestionCreate(RequestModel):
    text: Text2000
    reason: Text2000
    organisation_id: RowId | None = None


class AgendaTakeUp(RequestModel):
    agenda_question_id: RowId


class QuestionStatusSet(RequestModel):
    status: Annotated[str, OneOf(ANSWER_STATUSES)]
    text: Text10k | None = None
    note: Note | None = None


class QuestionStatePublic(BaseModel):
    question_id: int
    position: int
    text: str
    agenda_question_id: int | None
    carried_from_id: int | None
    status: str
    answer: str | None
    note: str | None

    @classmethod
    def of(cls, state: QuestionState) -> QuestionStatePublic:
        return cls(
            question_id=state.question.id or 0,
            position=state.question.position,
            text=state.question.text,
            agenda_question_id=state.agenda_question_id,
            carried_from_id=state.carried_from_id,
            status=state.status,
            answer=state.text,
            note=state.note,
        )


class AgendaCyclePublic(BaseModel):
    cycle_id: int
    cycle_title: str
    question_id: int
    status: str


class AgendaQuestionPublic(BaseModel):
    id: int
    text: str
    reason: str | None
    raised_at: datetime
    raised_by: str
    raised_by_organisation_id: int | None
    raised_in_cycle_id: int | None
    raised_in_stage: str | None
    open: bool
    cycles: list[AgendaCyclePublic]

    @classmethod
    def of(cls, item: AgendaItem) -> AgendaQuestionPublic:
        r = item.record
        return cls(
            id=r.id or 0,
            text=r.text,
            reason=r.reason,
            raised_at=r.raised_at,
            raised_by=r.raised_by,
            raised_by_organisation_id=r.raised_by_organisation_id,
            raised_in_cycle_id=r.raised_in_cycle_id,
            raised_in_stage=r.raised_in_stage,
            open=item.open,
            cycles=[
                AgendaCyclePublic(
                    cycle_id=c.cycle_id,
                    cycle_title=c.cycle_title,
                    question_id=c.question_id,
                    status=c.status,
                )
                for c in item.cycles
            ],
        )


class FollowOnCreate(RequestModel):
    title: Text300
    template_key: Text100 | None = None
    topic: Text200 | None = None
    question_ids: list[RowId] | None = Field(default=None, max_length=200)
    product_ids: list[RowId] | None = Field(default=None, max_length=200)
    note: Note | None = None


class CycleLinkPublic(Public):
    from_cycle_id: int
    to_cycle_id: int
    note: str | None
    created_at: datetime
    created_by: str


class CycleLinksPublic(BaseModel):
    links: list[CycleLinkPublic]
    input_product_ids: list[int]


class FollowOnPublic(BaseModel):
    cycle_id: int
    title: str
    link: CycleLinkPublic


class AdoptionCreate(RequestModel):
    product_id: RowId
    organisation_id: RowId
    use: Annotated[str, OneOf(ADOPTION_USES)]
    country: Text100
    place: Text200
    adopted_on: IsoDay
    description: Text2000


class AdoptionPublic(Public):
    id: int
    product_id: int
    organisation_id: int
    use: str
    country: str
    place: str
    adopted_on: date
    description: str
    recorded_by: str


class OutcomeCreate(RequestModel):
    kind: Annotated[str, OneOf(OUTCOME_KINDS)]
    title: Text300
    description: Text10k
    observed_on: IsoDay
    cycle_ids: list[RowId] = Field(min_length=1, max_length=100)
    learning_ids: list[RowId] = Field(default_factory=list, max_length=100)
    organisation_id: RowId | None = None


class OutcomePublic(BaseModel):
    id: int
    kind: str
    title: str
    description: str
    organisation_id: int | None
    observed_on: date
    cycle_ids: list[int]
    learning_ids: list[int]


class LevelProposalCreate(RequestModel):
    stage: Text100
    organisation_id: RowId
    level: Annotated[str, OneOf(LEVELS)]
    note: Note | None = None


class LevelDecision(RequestModel):
    level: Annotated[str, OneOf(LEVELS)] | None = None
    decline: bool = False
    note: Note | None = None


class LevelProposalPublic(Public):
    id: int
    stage: str
    organisation_id: int
    level: str
    status: str
    source: str
    proposed_at: datetime
    proposed_by: str
    decided_level: str | None
    decided_at: datetime | None
    decided_by: str | None
    decision_note: str | None


class OrganisationLeaving(RequestModel):
    organisation_id: RowId
    reason: Text2000
    left_on: IsoDay | None = None


class OrganisationDeparturePublic(Public):
    organisation_id: int
    left_on: date
    reason: str
    recorded_by: str


class LeavingPublic(BaseModel):
    organisation_id: int
    flagged: dict[int, list[str]]


class FollowerCreate(RequestModel):
    """Who follows the cycle: a person of a member organisation (a partner: its own people)."""

    person_id: RowId


class FollowerPublic(Public):
    cycle_id: int
    person_id: int
    followed_at: datetime
    followed_by: str
