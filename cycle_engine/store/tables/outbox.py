"""The outbox: every notification is a row written in the transaction of the event that causes it.

A row is claimed with a lease by a sender, delivered through its channel ("email", "webhook"),
and marked; its `dedupe_key` (cycle:stage(visit):rule:occurrence:recipient) makes a second copy
of the same notice impossible, and its `message_id` is fixed at creation so a resend after a
crash carries the same Message-ID (and sets `possible_duplicate`). A row is retried until it is
delivered, refused for good (`failed`, with the server's `reply`), or no longer worth sending
(`expired` at `expires_at`, with the reason). Beside it: per-recipient SMTP results, each
person's notification preferences, and the single-use record of actions taken from an email.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Column, Index, Text, false
from sqlmodel import Field, SQLModel

from cycle_engine.store.tables.types import JSONType, UTCDateTime

#: Statuses of an outbox row.
PENDING = "pending"
CLAIMED = "claimed"
SENT = "sent"
FAILED = "failed"
SUPPRESSED = "suppressed"
DIGESTED = "digested"
EXPIRED = "expired"
OUTBOX_STATUSES = (PENDING, CLAIMED, SENT, FAILED, SUPPRESSED, DIGESTED, EXPIRED)

#: How a row reaches its person: on its own, or folded into their daily digest.
IMMEDIATE = "immediate"
DIGEST = "digest"

EMAIL = "email"
WEBHOOK = "webhook"


class OutboxRecord(SQLModel, table=True):
    """One notification to deliver once, through one channel, to one recipient."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "delivery", "next_attempt_at"),
        Index("ix_outbox_person_status", "person_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(default=EMAIL, max_length=20)
    kind: str = Field(max_length=50)
    cycle_id: int | None = Field(default=None, foreign_key="cycles.id", index=True)
    stage: str | None = Field(default=None, max_length=100)
    visit: int | None = Field(default=None)
    rule: str = Field(default="", max_length=100)
    occurrence: int = Field(default=0)
    person_id: int | None = Field(default=None, foreign_key="people.id")
    recipient: str = Field(max_length=500)
    language: str = Field(default="en", max_length=10)
    dedupe_key: str = Field(max_length=700, unique=True)
    message_id: str = Field(max_length=250)
    delivery: str = Field(default=IMMEDIATE, max_length=20)
    not_before: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default=PENDING, max_length=20)
    #: Deliveries started; a resend after its sender vanished is the same attempt.
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    #: When the first attempt was due: a later send compares with it to say it is late.
    first_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: After this the row is no longer worth sending and becomes `expired` (None: never).
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: An earlier attempt may have been delivered (its sender died, or the server timed out).
    possible_duplicate: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: The receiving server's last answer (SMTP code and text, or HTTP status).
    reply: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    digest_id: int | None = Field(default=None, foreign_key="outbox.id")
    context: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    created_at: datetime = Field(sa_type=UTCDateTime)


class OutboxRecipientRecord(SQLModel, table=True):
    """What the mail server answered for one address of one message (accepted or refused)."""

    __tablename__ = "outbox_recipients"

    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(foreign_key="outbox.id", index=True)
    address: str = Field(max_length=500)
    accepted: bool
    code: int | None = Field(default=None)
    reply: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    at: datetime = Field(sa_type=UTCDateTime)


class NotificationPreferenceRecord(SQLModel, table=True):
    """How one person wants to hear from the engine; no row means immediate, everything on."""

    __tablename__ = "notification_preferences"

    person_id: int = Field(primary_key=True, foreign_key="people.id")
    mode: str = Field(default=IMMEDIATE, max_length=20)
    digest_hour: int = Field(default=8)
    unsubscribed: list[str] = Field(default_factory=list, sa_type=JSONType)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ActionUseRecord(SQLModel, table=True):
    """An action taken from an email link: recorded once, so a replay only reports it."""

    __tablename__ = "email_action_uses"

    use_key: str = Field(primary_key=True, max_length=300)
    action: str = Field(max_length=30)
    person_id: int = Field(foreign_key="people.id")
    cycle_id: int = Field(foreign_key="cycles.id", index=True)
    stage_visit_id: int = Field(foreign_key="stage_visits.id")
    event_id: int | None = Field(default=None, foreign_key="events.id")
    snoozed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_at: datetime = Field(sa_type=UTCDateTime)
