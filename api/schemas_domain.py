"""Bodies of the Learning Alliance resources: alliances, organisations, people, participation,
the work plan, products, contexts, questions, learning, outbox rows and webhooks.

Request models forbid unknown fields (ids, states and versions are the server's to set).
Public models are built from the tables with `from_attributes`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from cycle_engine.alliances.contexts import CONTEXT_STATUSES, RATINGS
from cycle_engine.alliances.learning import LEARNING_KINDS
from cycle_engine.alliances.products import PRODUCT_FORMS, PRODUCT_KINDS
from cycle_engine.api.fields import (
    FIRST_DAY,
    LAST_DAY,
    Day,
    Language,
    Note,
    OneOf,
    RowId,
    Text100,
    Text200,
    Text300,
    Text2000,
    Text10000,
    Text20000,
    TimeZone,
)
from cycle_engine.api.schemas import RequestModel
from cycle_engine.outbox.addresses import MAX_URL_LENGTH
from cycle_engine.spec.validate import SNAKE_NAME
from cycle_engine.store.tables.access import WEBHOOK_EVENTS
from cycle_engine.store.tables.alliances import (
    ALLIANCE_ROLES,
    LANGUAGES,
    LEVELS,
    ORGANISATION_KINDS,
)

#: A stage key of the cycle's template, e.g. work_plan.
StageKey = Annotated[str, StringConstraints(max_length=100, pattern=SNAKE_NAME.pattern)]
#: The days of the weekend, Monday 0 to Sunday 6, comma-separated ("5,6"; "" for none).
WeekendDays = Annotated[str, StringConstraints(max_length=20, pattern=r"^([0-6](,[0-6])*)?$")]
#: An email address: something, one @, a domain with a dot; spaces around it are stripped.
Email = Annotated[
    str,
    StringConstraints(
        min_length=3,
        max_length=254,
        pattern=r"^[ ]*[^@ \t\r\n\x00]+@[^@ \t\r\n\x00]+\.[^@ \t\r\n\x00]+[ ]*$",
    ),
]
#: A link to a product: http or https.
Link = Annotated[
    str, StringConstraints(min_length=8, max_length=1000, pattern=r"^https?://[^\x00-\x20]+$")
]
#: A receiver's URL: http or https, no credentials; its address must be public (see below).
WebhookUrl = Annotated[
    str,
    StringConstraints(
        min_length=8,
        max_length=MAX_URL_LENGTH,
        pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://([A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?|\[[0-9A-Fa-f:.]+\])"
        r"(:[0-9]{1,5})?([/?#][^\x00-\x20\x7f\\]*)?$",
    ),
    Field(
        description="An http(s) URL without credentials whose host is a public address (no "
        "loopback, private, link-local, multicast or reserved address, in any spelling; no "
        "`localhost`, `*.local`, `*.internal` or dot-less name), unless the deployment "
        "allows it in CYCLE_ENGINE_WEBHOOK_ALLOW: 422 otherwise."
    ),
]
#: A question id, as a JSON object key.
QuestionKey = Annotated[int, Field(ge=1, le=999_999_999)]


#: A moment in time with its offset, within the dates the engine plans with.
Moment = Annotated[
    AwareDatetime,
    Field(
        ge=datetime.combine(FIRST_DAY, time(), UTC),
        le=datetime.combine(LAST_DAY, time(), UTC),
        json_schema_extra={"pattern": r"^(190[1-9]|19[1-9][0-9]|2[0-8][0-9]{2})-"},
    ),
]
WebhookEvent = Annotated[str, OneOf(WEBHOOK_EVENTS)]


def listed(values: tuple[str, ...]) -> Any:
    """Annotation for an answer's field: the value is one of the engine's `values`, stated as an
    `enum` in the document (answers are not validated against it, so an older row still reads)."""
    return Field(json_schema_extra={"enum": list(values)})


#: The states a client may set a testing context to ("reported" follows its results).
CONTEXT_STATES = ("planned", "testing", "withdrawn")


def _deputy_rule(schema: dict[str, Any]) -> None:
    """A `deputy_id` only with a `focal_point_id` (another person: the server checks that)."""
    schema["anyOf"] = [
        {"not": {"required": ["deputy_id"]}},
        {"properties": {"deputy_id": {"type": "null"}}},
        {"properties": {"focal_point_id": {"type": "integer"}}, "required": ["focal_point_id"]},
    ]


def _form_rule(schema: dict[str, Any]) -> None:
    """A `form` only with kind prototype or adapted_version."""
    schema["anyOf"] = [
        {"not": {"required": ["form"]}},
        {"properties": {"form": {"type": "null"}}},
        {
            "properties": {"kind": {"enum": ["prototype", "adapted_version"]}},
            "required": ["kind"],
        },
    ]


class Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- alliances, organisations, people ----------------------------------------------------


class AllianceCreate(RequestModel):
    """Working hours start before they end (`working_hours_start < working_hours_end`): checked
    by the engine (422), not stated in the schema, whose only way to compare two fields is a
    branch per start hour (schemathesis' coverage phase made 19,000 cases of those branches)."""

    name: Text200
    theme: Text300
    timezone: TimeZone = "UTC"
    language: Language = "en"
    working_hours_start: int = Field(default=9, ge=0, le=23)
    working_hours_end: int = Field(default=17, ge=1, le=24)
    weekend_days: WeekendDays = "5,6"


class AlliancePublic(Public):
    id: int
    name: str
    theme: str
    timezone: str
    language: Annotated[str, listed(LANGUAGES)]
    working_hours_start: int
    working_hours_end: int
    weekend_days: str
    created_at: datetime


class OrganisationCreate(RequestModel):
    name: Text200
    kind: Annotated[str, OneOf(ORGANISATION_KINDS)]
    country: Text100
    timezone: TimeZone = "UTC"
    alliance_id: RowId | None = Field(
        default=None, description="Seat it in this alliance (required for a coordinator)."
    )


class OrganisationPublic(Public):
    id: int
    name: str
    kind: Annotated[str, listed(ORGANISATION_KINDS)]
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
    role: Annotated[str, OneOf(ALLIANCE_ROLES)]


class PersonCreate(RequestModel):
    name: Text200
    email: Email
    organisation_id: RowId
    joined_on: Day | None = None
    language: Language | None = Field(
        default=None,
        description="The language of emails; by default the alliance's (of the first one the "
        "organisation sits in), else en.",
    )
    timezone: TimeZone | None = None


class PersonPublic(Public):
    id: int
    name: str
    email: str
    language: Annotated[str, listed(LANGUAGES)]
    timezone: str
    organisation_id: int
    joined_on: date
    left_on: date | None


class DepartureCreate(RequestModel):
    left_on: Day | None = None
    note: Note | None = None


class DeparturePublic(BaseModel):
    person_id: int
    stages_needing_focal_point: dict[str, list[str]]


# -- participation, plan ----------------------------------------------------------------


class ParticipationSet(RequestModel):
    """A deputy comes with a focal point, and is someone else."""

    model_config = ConfigDict(json_schema_extra=lambda schema: _deputy_rule(schema))

    stage: StageKey
    organisation_id: RowId
    level: Annotated[str, OneOf(LEVELS)]
    focal_point_id: RowId | None = None
    deputy_id: RowId | None = None


class ParticipationPublic(Public):
    id: int
    stage: str
    organisation_id: int
    level: Annotated[str, listed(LEVELS)]
    focal_point_id: int | None
    deputy_id: int | None
    needs_focal_point: bool
    updated_at: datetime


class DueDateMove(RequestModel):
    stage: StageKey
    due: Annotated[
        Day | Moment,
        Field(
            union_mode="left_to_right",
            description="A day (end of that working day in the alliance's zone) or a moment, "
            "within ten years of today and after the stage starts.",
        ),
    ]
    reason: Text2000


class PlanPublic(Public):
    stage: str
    position: int
    planned_start: datetime
    planned_due: datetime
    original_due: datetime
    changes: int


# -- products, contexts, questions, learning --------------------------------------------


class ProductCreate(RequestModel):
    """Only prototypes and adapted versions have a `form`."""

    model_config = ConfigDict(json_schema_extra=lambda schema: _form_rule(schema))

    kind: Annotated[str, OneOf(PRODUCT_KINDS)]
    title: Text300
    author_organisation_id: RowId | None = Field(
        default=None, description="Defaults to a partner key's own organisation."
    )
    stage: StageKey | None = None
    link: Link
    form: Annotated[str, OneOf(PRODUCT_FORMS)] | None = None


class ProductPublic(Public):
    id: int
    cycle_id: int
    stage: str
    kind: Annotated[str, listed(PRODUCT_KINDS)]
    form: Annotated[str, listed(PRODUCT_FORMS)] | None
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
    name: Text200
    country: Text100
    community: Text200
    organisation_id: RowId


class ContextStatusSet(RequestModel):
    status: Annotated[str, OneOf(CONTEXT_STATES)]


class ContextReport(RequestModel):
    summary: Text10000
    rating: Annotated[str, OneOf(RATINGS)]


class ContextPublic(Public):
    id: int
    name: str
    country: str
    community: str
    organisation_id: int
    status: Annotated[str, listed(CONTEXT_STATUSES)]
    created_at: datetime


class ContextResultPublic(Public):
    id: int
    context_id: int
    stage: str
    visit: int
    rating: Annotated[str, listed(RATINGS)]
    summary: str
    reported_at: datetime
    reported_by: str


class QuestionsCreate(RequestModel):
    texts: list[Text2000] = Field(min_length=1, max_length=50)


class AnswersCreate(RequestModel):
    answers: dict[QuestionKey, Text10000] = Field(
        min_length=1,
        max_length=50,
        description="Question id -> answer.",
        json_schema_extra={"propertyNames": {"pattern": "^[1-9][0-9]{0,8}$"}},
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
    kind: Annotated[str, OneOf(LEARNING_KINDS)]
    title: Text300
    text: Text20000
    organisation_ids: list[RowId] = Field(min_length=1, max_length=100)


class LearningPublic(BaseModel):
    id: int
    stage: str
    kind: Annotated[str, listed(LEARNING_KINDS)]
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
    reply: str | None = Field(
        default=None, description="The server's reply to a permanent failure (e.g. 550 ...)."
    )
    expires_at: datetime | None = Field(
        default=None, description="After this the message is no longer useful and expires."
    )
    possible_duplicate: bool = Field(
        default=False, description="Re-sent after a sender crashed mid-send (same Message-ID)."
    )
    created_at: datetime


class OutboxSummary(BaseModel):
    counts: dict[str, dict[str, int]] = Field(description="channel -> status -> rows")


class WebhookCreate(RequestModel):
    url: WebhookUrl
    events: list[WebhookEvent] = Field(min_length=1, max_length=len(WEBHOOK_EVENTS))


class WebhookUpdate(RequestModel):
    url: WebhookUrl | None = None
    events: list[WebhookEvent] | None = Field(
        default=None, min_length=1, max_length=len(WEBHOOK_EVENTS)
    )
    active: bool | None = None


class WebhookPublic(Public):
    id: int
    alliance_id: int
    url: str
    events: list[Annotated[str, listed(WEBHOOK_EVENTS)]]
    active: bool
    created_at: datetime
    created_by: str


class WebhookCreated(WebhookPublic):
    secret: str | None = Field(
        default=None,
        description="Signs every delivery (see the README's webhooks section); in this answer "
        "only: a replay of the creation (same Idempotency-Key) answers without it.",
    )


class Report(BaseModel):
    report: dict[str, Any]
