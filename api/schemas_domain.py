"""Bodies of the Learning Alliance resources: alliances, organisations, people, participation,
the work plan, products, contexts, questions, learning, outbox rows and webhooks.

Request models forbid unknown fields (ids, states and versions are the server's to set).
Public models are built from the tables with `from_attributes`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AnyHttpUrl, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from cycle_engine.api.schemas import RequestModel

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]
Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2999, 12, 31))]


class Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- alliances, organisations, people ----------------------------------------------------


class AllianceCreate(RequestModel):
    name: Text
    theme: Text
    timezone: Short = "UTC"
    language: Short = "en"
    working_hours_start: int = Field(default=9, ge=0, le=23)
    working_hours_end: int = Field(default=17, ge=1, le=24)
    weekend_days: Annotated[str, StringConstraints(max_length=20)] = "5,6"


class AlliancePublic(Public):
    id: int
    name: str
    theme: str
    timezone: str
    language: str
    working_hours_start: int
    working_hours_end: int
    weekend_days: str
    created_at: datetime


class OrganisationCreate(RequestModel):
    name: Text
    kind: Short
    country: Text
    timezone: Short = "UTC"
    alliance_id: RowId | None = Field(
        default=None, description="Seat it in this alliance (required for a coordinator)."
    )


class OrganisationPublic(Public):
    id: int
    name: str
    kind: str
    country: str
    timezone: str
    created_at: datetime


class MemberCreate(RequestModel):
    organisation_id: RowId
    joined_on: Day | None = None
    works_with_id: RowId | None = None


class MemberPublic(BaseModel):
    organisation: OrganisationPublic
    joined_on: date
    works_with_id: int | None


class RoleGrant(RequestModel):
    person_id: RowId
    role: Short


class PersonCreate(RequestModel):
    name: Text
    email: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254)]
    organisation_id: RowId
    joined_on: Day | None = None
    language: Short = "en"
    timezone: Short | None = None


class PersonPublic(Public):
    id: int
    name: str
    email: str
    language: str
    timezone: str
    organisation_id: int
    joined_on: date
    left_on: date | None


class DepartureCreate(RequestModel):
    left_on: Day | None = None
    note: Annotated[str, StringConstraints(max_length=5000)] | None = None


class DeparturePublic(BaseModel):
    person_id: int
    stages_needing_focal_point: dict[str, list[str]]


# -- participation, plan ----------------------------------------------------------------


class ParticipationSet(RequestModel):
    stage: Short
    organisation_id: RowId
    level: Short
    focal_point_id: RowId | None = None
    deputy_id: RowId | None = None


class ParticipationPublic(Public):
    id: int
    stage: str
    organisation_id: int
    level: str
    focal_point_id: int | None
    deputy_id: int | None
    needs_focal_point: bool
    updated_at: datetime


class DueDateMove(RequestModel):
    stage: Short
    due: Annotated[
        Day | AwareDatetime,
        Field(
            union_mode="left_to_right",
            description="A day (end of that working day in the alliance's zone) or a moment.",
        ),
    ]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class PlanPublic(Public):
    stage: str
    position: int
    planned_start: datetime
    planned_due: datetime
    original_due: datetime
    changes: int


# -- products, contexts, questions, learning --------------------------------------------


class ProductCreate(RequestModel):
    kind: Short
    title: Text
    author_organisation_id: RowId | None = Field(
        default=None, description="Defaults to a partner key's own organisation."
    )
    stage: Short | None = None
    link: Annotated[str, StringConstraints(max_length=1000)] | None = None
    form: Short | None = None


class ProductPublic(Public):
    id: int
    cycle_id: int
    stage: str
    kind: str
    form: str | None
    title: str
    link: str | None
    file_name: str | None
    content_type: str | None
    size_bytes: int | None
    sha256: str | None
    author_organisation_id: int
    created_at: datetime
    created_by: str


class ContextCreate(RequestModel):
    name: Text
    country: Text
    community: Text
    organisation_id: RowId


class ContextStatusSet(RequestModel):
    status: Short


class ContextReport(RequestModel):
    summary: LongText
    rating: Short


class ContextPublic(Public):
    id: int
    name: str
    country: str
    community: str
    organisation_id: int
    status: str
    created_at: datetime


class ContextResultPublic(Public):
    id: int
    context_id: int
    stage: str
    visit: int
    rating: str
    summary: str
    reported_at: datetime
    reported_by: str


class QuestionsCreate(RequestModel):
    texts: list[LongText] = Field(min_length=1, max_length=50)


class AnswersCreate(RequestModel):
    answers: dict[RowId, LongText] = Field(
        min_length=1, max_length=50, description="Question id -> answer."
    )


class QuestionPublic(Public):
    id: int
    position: int
    text: str
    answer: str | None
    answered_at: datetime | None
    answered_by: str | None
    created_at: datetime


class LearningCreate(RequestModel):
    kind: Short
    title: Text
    text: LongText
    organisation_ids: list[RowId] = Field(default=[], max_length=100)


class LearningPublic(BaseModel):
    id: int
    stage: str
    kind: str
    title: str
    text: str
    organisation_ids: list[int]
    created_at: datetime
    created_by: str


# -- outbox and webhooks ----------------------------------------------------------------


class OutboxPublic(Public):
    id: int
    channel: str
    kind: str
    cycle_id: int | None
    stage: str | None
    recipient: str
    status: str
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None
    created_at: datetime


class OutboxSummary(BaseModel):
    counts: dict[str, dict[str, int]] = Field(description="channel -> status -> rows")


class WebhookCreate(RequestModel):
    url: AnyHttpUrl
    events: list[Short] = Field(min_length=1, max_length=10)


class WebhookUpdate(RequestModel):
    url: AnyHttpUrl | None = None
    events: list[Short] | None = Field(default=None, min_length=1, max_length=10)
    active: bool | None = None


class WebhookPublic(Public):
    id: int
    alliance_id: int
    url: str
    events: list[str]
    active: bool
    created_at: datetime
    created_by: str


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="Signs every delivery; shown only now.")


class Report(BaseModel):
    report: dict[str, Any]
