"""Who may reach the engine over HTTP, and which outside tools hear about its events.

API keys are stored as a SHA-256 hash with a short public prefix for lookup, so the token itself
is shown once and never kept. A key holds one role and, below admin, the alliance or the
organisation it is limited to. Webhook subscriptions belong to one alliance. API idempotency rows
remember the first answer to a command sent with an `Idempotency-Key`, per API key.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from cycle_engine.store.tables.types import JSONType, UTCDateTime

KEY_ROLES = ("admin", "coordinator", "manager", "partner")

WEBHOOK_EVENTS = (
    "stage.entered",
    "stage.overdue",
    "cycle.stalled",
    "cycle.completed",
    "cycle.cancelled",
    "product.added",
    "participation.changed",
    "context.added",
    "context.updated",
    "result.reported",
    "question.added",
    "questions.answered",
    "learning.added",
    "due_date.moved",
    "person.left",
    "organisation.left",
)


class ApiKeyRecord(SQLModel, table=True):
    """An API key: its lookup prefix, the hash of its token, its role and its reach."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    prefix: str = Field(max_length=16, unique=True)
    hash: str = Field(max_length=64)
    name: str = Field(max_length=200)
    role: str = Field(max_length=20)
    alliance_id: int | None = Field(default=None, foreign_key="alliances.id", index=True)
    organisation_id: int | None = Field(default=None, foreign_key="organisations.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookSubscriptionRecord(SQLModel, table=True):
    """An alliance's subscription: which event kinds to POST, signed, to which URL."""

    __tablename__ = "webhook_subscriptions"

    id: int | None = Field(default=None, primary_key=True)
    alliance_id: int = Field(foreign_key="alliances.id", index=True)
    url: str = Field(max_length=2000)
    secret: str = Field(max_length=200)
    events: list[str] = Field(default_factory=list, sa_type=JSONType)
    active: bool = Field(default=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(default="system", max_length=200)


class ApiIdempotencyRecord(SQLModel, table=True):
    """The first answer to an API command sent with an Idempotency-Key, replayed on repeats."""

    __tablename__ = "api_idempotency"
    __table_args__ = (UniqueConstraint("api_key_id", "key", name="uq_api_idempotency_key"),)

    id: int | None = Field(default=None, primary_key=True)
    api_key_id: int = Field(foreign_key="api_keys.id", index=True)
    key: str = Field(max_length=200)
    fingerprint: str = Field(max_length=64)
    status_code: int | None = Field(default=None)
    response_body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_type=UTCDateTime)
