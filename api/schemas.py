"""Request and response bodies: `XCreate` / `XUpdate` (what a client may send) and `XPublic`
(what it gets back), beside the tables in cycle_engine.

Every request model forbids unknown fields (`extra="forbid"`), so a client that tries to set an
id, a state or a version gets 422 naming that field instead of having it silently ignored. Field
types come from `api.fields`, so the document states the constraints the server enforces.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from cycle_engine.api.fields import Note, RowId, Text100, Text200, Text300, Text2000
from cycle_engine.spec.durations import format_duration
from cycle_engine.spec.machine import TriggerOption
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.spec.validate import SNAKE_NAME, TEMPLATE_KEY
from cycle_engine.store.tables import CycleRecord, EventRecord, StageRecord, TemplateRecord

T = TypeVar("T")
Name = Text100
Title = Text300
TemplateKeyText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=TEMPLATE_KEY.pattern),
    Field(description="A template key, e.g. learning-cycle."),
]
TriggerName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=SNAKE_NAME.pattern),
    Field(description="A trigger of the template, e.g. questions_agreed."),
]


class RequestModel(BaseModel):
    """Base of every request body: unknown (or read-only) fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """One page of a list; `next_offset` is null on the last page."""

    items: list[T]
    limit: int
    offset: int
    next_offset: int | None


def page_of(rows: list[T], limit: int, offset: int) -> Page[T]:
    """A page from `rows` fetched with limit+1 (the extra row only says there is more)."""
    more = len(rows) > limit
    return Page[T](
        items=rows[:limit], limit=limit, offset=offset, next_offset=offset + limit if more else None
    )


# -- templates -------------------------------------------------------------------------------


class TemplatePublic(BaseModel):
    key: str
    version: int
    title: str
    content_hash: str
    source_name: str
    published_at: datetime

    @classmethod
    def of(cls, record: TemplateRecord) -> TemplatePublic:
        return cls.model_validate(record.model_dump(exclude={"id", "source_text"}))


class StageSpecPublic(BaseModel):
    key: str
    title: str
    description: str
    duration: str | None
    final: bool
    hold: bool


class TransitionSpecPublic(BaseModel):
    trigger: str
    sources: list[str]
    dest: str
    roles: list[str]
    requires: list[dict[str, Any]]
    description: str


class TemplateDetail(TemplatePublic):
    description: str
    initial: str
    stages: list[StageSpecPublic]
    transitions: list[TransitionSpecPublic]

    @classmethod
    def of_spec(cls, record: TemplateRecord, spec: TemplateSpec) -> TemplateDetail:
        stages = [
            StageSpecPublic(
                key=s.key,
                title=s.title,
                description=s.description,
                duration=format_duration(s.duration) if s.duration else None,
                final=s.final,
                hold=s.hold,
            )
            for s in spec.stages
        ]
        transitions = [
            TransitionSpecPublic(
                trigger=t.trigger,
                sources=list(t.sources),
                dest=t.dest,
                roles=list(t.roles),
                requires=[{g.name: g.arg} for g in t.guards],
                description=t.description,
            )
            for t in spec.transitions
        ]
        base = TemplatePublic.of(record).model_dump()
        return cls(
            **base,
            description=spec.description,
            initial=spec.initial,
            stages=stages,
            transitions=transitions,
        )


class TemplateValidation(BaseModel):
    valid: bool
    key: str
    title: str
    stages: int
    transitions: int
    content_hash: str


class PublishedTemplatePublic(TemplatePublic):
    created: bool


class DiagramPublic(BaseModel):
    key: str
    version: int
    format: str
    diagram: str


# -- cycles ----------------------------------------------------------------------------------


#: A cycle names its alliance, or says `standalone: true` and names none (nor questions, which
#: need an alliance): written into the OpenAPI schema, so clients and fuzzers see the rule.
_ALLIANCE_OR_STANDALONE: dict[str, Any] = {
    "anyOf": [
        {
            "required": ["alliance_id"],
            "properties": {"alliance_id": {"type": "integer"}, "standalone": {"const": False}},
        },
        {
            "required": ["standalone"],
            "properties": {
                "standalone": {"const": True},
                "alliance_id": {"type": "null"},
                "questions": {"maxItems": 0},
            },
        },
    ]
}


class CycleCreate(RequestModel):
    """A new cycle: of an alliance (`alliance_id`), or explicitly standalone (administrators)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_ALLIANCE_OR_STANDALONE)

    template_key: TemplateKeyText
    title: Title
    alliance_id: RowId | None = Field(
        default=None, description="The alliance the cycle belongs to (required unless standalone)."
    )
    standalone: bool = Field(
        default=False,
        description="Run it without an alliance (administrators only; only they see it).",
    )
    template_version: RowId | None = None
    topic: Text200 | None = None
    note: Note | None = None
    questions: list[Text2000] = Field(default=[], max_length=50)

    @model_validator(mode="after")
    def _alliance_or_standalone(self) -> CycleCreate:
        if self.standalone and self.alliance_id is not None:
            raise ValueError("a standalone cycle has no alliance_id; drop one of the two")
        if not self.standalone and self.alliance_id is None:
            raise ValueError("give alliance_id, or standalone: true (administrators only)")
        if self.standalone and self.questions:
            raise ValueError("learning questions need the cycle's alliance")
        return self


class StagePublic(BaseModel):
    id: int
    stage: str
    visit: int
    entered_at: datetime
    due_at: datetime | None
    left_at: datetime | None
    last_activity_at: datetime

    @classmethod
    def of(cls, record: StageRecord) -> StagePublic:
        return cls.model_validate(record.model_dump(exclude={"cycle_id"}))


class TriggerPublic(BaseModel):
    trigger: str
    dest: str
    allowed: bool
    reasons: list[str]
    roles: list[str]
    description: str

    @classmethod
    def of(cls, option: TriggerOption) -> TriggerPublic:
        return cls(
            trigger=option.trigger,
            dest=option.dest,
            allowed=option.allowed,
            reasons=list(option.reasons),
            roles=list(option.roles),
            description=option.description,
        )


class CyclePublic(BaseModel):
    id: int
    title: str
    topic: str | None
    alliance_id: int | None
    template_key: str
    state: str
    resume_state: str | None
    status: str
    version: int
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    created_by: str

    @classmethod
    def of(cls, record: CycleRecord) -> CyclePublic:
        return cls.model_validate(record.model_dump(exclude={"template_id", "current_stage_id"}))


class CycleDetail(CyclePublic):
    template_version: int
    stage: StagePublic | None
    triggers: list[TriggerPublic]


class TransitionCreate(RequestModel):
    trigger: TriggerName
    note: Note | None = None


class TransitionPublic(BaseModel):
    cycle_id: int
    trigger: str
    from_state: str
    to_state: str
    version: int
    event_id: int


class EventPublic(BaseModel):
    id: int
    seq: int
    at: datetime
    actor: str
    kind: str
    trigger: str | None
    from_state: str | None
    to_state: str | None
    note: str | None
    data: dict[str, Any]

    @classmethod
    def of(cls, record: EventRecord) -> EventPublic:
        return cls.model_validate(record.model_dump(exclude={"cycle_id"}))
