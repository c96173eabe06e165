"""Writing one email notice into the outbox, inside the transaction of the event that causes it.

A notice becomes one row per person with everything the template will need (`context`), a
dedupe key `cycle:stage(visit):rule:occurrence:recipient` that the database keeps unique (a
second insert is ignored, so nobody gets the same reminder twice), and a Message-ID fixed now
so a resend after a crash is recognisably the same message. When it may go out is decided here
too: never before the recipient's working day starts, after any snooze they asked for, and at
their digest hour when they chose a daily digest; and until when it is worth sending at all
(`outbox.expiry`). Unsubscribed kinds are still written, as `suppressed`, so nothing is silently
discarded.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from cycle_engine.errors import InvalidInput
from cycle_engine.outbox.expiry import email_expiry
from cycle_engine.outbox.recipients import Addressee
from cycle_engine.scheduler.working_hours import (
    local_moment,
    next_working_time,
    parse_weekend_days,
    zone,
)
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.tables import CycleRecord, StageRecord
from cycle_engine.store.tables.alliances import AllianceRecord, OrganisationRecord
from cycle_engine.store.tables.outbox import (
    DIGEST,
    EMAIL,
    IMMEDIATE,
    SUPPRESSED,
    ActionUseRecord,
    NotificationPreferenceRecord,
    OutboxRecord,
)

MESSAGE_ID_DOMAIN = "cycle-engine.local"
#: Every kind of email the engine sends; each has text and HTML templates in every language.
EMAIL_KINDS = (
    "reminder",
    "due_today",
    "overdue",
    "escalation",
    "stage_started",
    "stage_completed",
    "stalled",
    "extension_requested",
    "marked_done",
    "fresh_link",
    "digest",
    "signin",  # the dashboard's sign-in link (outbox.signin)
)
#: Kinds a person may fold into their daily digest (the digest itself and link requests not).
DIGESTIBLE = frozenset(
    {
        "reminder",
        "due_today",
        "overdue",
        "escalation",
        "stage_started",
        "stage_completed",
        "stalled",
        "extension_requested",
        "marked_done",
    }
)
#: Kinds a snooze holds back.
SNOOZABLE = frozenset({"reminder", "due_today", "overdue", "stage_started"})


@dataclass(frozen=True, kw_only=True)
class Scope:
    """Where a notice is about: a cycle, one stage (and its visit when there is one), and now."""

    cycle: CycleRecord
    spec: TemplateSpec
    stage: str
    visit: StageRecord | None
    now: datetime


@dataclass(frozen=True, kw_only=True)
class Notice:
    """One email to one person: its kind, the rule and occurrence it answers, what it says."""

    kind: str
    rule: str
    occurrence: int
    to: Addressee
    details: dict[str, Any] = field(default_factory=dict)
    actions: tuple[str, ...] = ()


def dedupe_key(
    cycle_id: int | None,
    stage: str | None,
    visit: int | None,
    rule: str,
    occurrence: int,
    recipient: str,
) -> str:
    """`cycle:stage(visit):rule:occurrence:recipient`, the key that makes duplicates impossible."""
    return f"{cycle_id}:{stage}({visit}):{rule}:{occurrence}:{recipient.strip().lower()}"


def new_message_id(domain: str = MESSAGE_ID_DOMAIN) -> str:
    return f"<{uuid.uuid4().hex}@{domain}>"


def stage_context(session: Session, scope: Scope) -> dict[str, Any]:
    """The cycle and stage as the templates see them (times as ISO UTC text)."""
    spec_stage = scope.spec.stage(scope.stage) if scope.spec.has_stage(scope.stage) else None
    visit = scope.visit
    return {
        "cycle": {"id": scope.cycle.id, "title": scope.cycle.title},
        "stage": {
            "key": scope.stage,
            "title": spec_stage.title if spec_stage else scope.stage,
            "description": spec_stage.description if spec_stage else "",
            "visit": visit.visit if visit else None,
            "visit_id": visit.id if visit else None,
            "due_at": visit.due_at.isoformat() if visit and visit.due_at else None,
            "entered_at": visit.entered_at.isoformat() if visit else None,
        },
    }


def person_context(session: Session, addressee: Addressee) -> dict[str, Any]:
    person = addressee.person
    organisation = session.get(OrganisationRecord, person.organisation_id)
    return {
        "person": {"id": person.person_id, "name": person.name},
        "organisation": {"name": organisation.name} if organisation else None,
        "timezone": person.timezone,
        "role": addressee.role,
    }


def enqueue(
    session: Session, scope: Scope, notice: Notice, *, domain: str = MESSAGE_ID_DOMAIN
) -> bool:
    """Add the notice's row unless one with its dedupe key exists; True when added."""
    person = notice.to.person
    cycle = scope.cycle
    alliance = session.get(AllianceRecord, cycle.alliance_id) if cycle.alliance_id else None
    context = {
        **stage_context(session, scope),
        **person_context(session, notice.to),
        "alliance": {"name": alliance.name} if alliance else None,
        "actions": list(notice.actions),
        "details": notice.details,
    }
    visit_number = scope.visit.visit if scope.visit else None
    not_before = working_start(alliance, person.timezone, scope.now)
    row = OutboxRecord(
        channel=EMAIL,
        kind=notice.kind,
        cycle_id=cycle.id,
        stage=scope.stage,
        visit=visit_number,
        rule=notice.rule,
        occurrence=notice.occurrence,
        person_id=person.person_id,
        recipient=person.email,
        language=person.language,
        dedupe_key=dedupe_key(
            cycle.id, scope.stage, visit_number, notice.rule, notice.occurrence, person.email
        ),
        message_id=new_message_id(domain),
        not_before=not_before,
        next_attempt_at=not_before,
        expires_at=email_expiry(
            notice.kind, created=scope.now, deadline=scope.visit.due_at if scope.visit else None
        ),
        context=context,
        created_at=scope.now,
    )
    apply_preferences(session, row, person.timezone, scope)
    return insert_ignoring_duplicate(session, row) is not None


def apply_preferences(session: Session, row: OutboxRecord, tz_name: str, scope: Scope) -> None:
    """Suppress unsubscribed kinds, hold snoozed reminders, route digest readers' mail."""
    assert row.person_id is not None
    prefs = session.get(NotificationPreferenceRecord, row.person_id)
    if prefs is not None and row.kind in prefs.unsubscribed:
        row.status = SUPPRESSED
        row.last_error = f"{row.kind} emails are switched off in the person's preferences"
        return
    if row.kind in SNOOZABLE and scope.visit is not None and scope.visit.id is not None:
        until = snoozed_until(session, row.person_id, scope.visit.id, scope.now)
        if until is not None and until > row.next_attempt_at:
            row.next_attempt_at = until
    if prefs is not None and prefs.mode == DIGEST and row.kind in DIGESTIBLE:
        row.delivery = DIGEST
        row.next_attempt_at = digest_time(row.next_attempt_at, tz_name, prefs.digest_hour)
    else:
        row.delivery = IMMEDIATE


def snoozed_until(
    session: Session, person_id: int, stage_visit_id: int, now: datetime
) -> datetime | None:
    """The end of the person's latest snooze on the stage visit, if it is still running."""
    until = session.exec(
        select(ActionUseRecord.snoozed_until)
        .where(
            ActionUseRecord.person_id == person_id,
            ActionUseRecord.stage_visit_id == stage_visit_id,
            col(ActionUseRecord.snoozed_until).is_not(None),
        )
        .order_by(col(ActionUseRecord.snoozed_until).desc())
    ).first()
    return until if until is not None and until > now else None


def working_start(alliance: AllianceRecord | None, tz_name: str, moment: datetime) -> datetime:
    """`moment`, held to the start of the recipient's working day (alliance hours, their zone)."""
    if alliance is None:
        return moment
    weekend = parse_weekend_days(alliance.weekend_days)
    try:
        return next_working_time(
            moment, tz_name, alliance.working_hours_start, alliance.working_hours_end, weekend
        )
    except InvalidInput:  # a person's zone the registry no longer knows: use the alliance's
        return next_working_time(
            moment,
            alliance.timezone,
            alliance.working_hours_start,
            alliance.working_hours_end,
            weekend,
        )


def digest_time(after: datetime, tz_name: str, hour: int) -> datetime:
    """The first `hour`:00 local time in `tz_name` at or after `after` (UTC)."""
    try:
        tz = zone(tz_name)
    except InvalidInput:
        tz = zone("UTC")
    day = after.astimezone(tz).date()
    candidate = local_moment(day, time(hour), tz)
    if candidate < after:
        candidate = local_moment(day + timedelta(days=1), time(hour), tz)
    return candidate


def insert_ignoring_duplicate(session: Session, row: OutboxRecord) -> int | None:
    """INSERT ... ON CONFLICT (dedupe_key) DO NOTHING; the new row's id, or None if it existed."""
    values = row.model_dump(exclude={"id"})
    table = OutboxRecord.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    builder = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        builder(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table.c.id)
    )
    inserted = session.exec(statement).first()
    return int(inserted[0]) if inserted is not None else None
