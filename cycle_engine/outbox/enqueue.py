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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import bindparam, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from cycle_engine.alliances.roster import Preferences, kept_roster
from cycle_engine.errors import InvalidInput
from cycle_engine.outbox.expiry import email_expiry
from cycle_engine.outbox.recipients import Addressee
from cycle_engine.scheduler.working_hours import (
    local_moment,
    next_working_time,
    parse_weekend_days,
    zone,
)
from cycle_engine.spec.specs import StageSpec, TemplateSpec
from cycle_engine.store.events import loaded
from cycle_engine.store.prepared import Prepared, fetch, run_many
from cycle_engine.store.tables import CycleRecord, StageRecord
from cycle_engine.store.tables.alliances import AllianceRecord, OrganisationRecord
from cycle_engine.store.tables.outbox import (
    DIGEST,
    EMAIL,
    IMMEDIATE,
    PENDING,
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
    "stage_results",  # a completed stage's products and context results (outbox.results)
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


def stage_translations(spec_stage: StageSpec | TemplateSpec | None) -> dict[str, Any]:
    """`{"translations": {language: {title, description}}}` when the template gives the stage's
    (or its own) texts in other languages (read when the email is composed, in the reader's
    language), else nothing, so contexts of untranslated templates stay as they were."""
    if spec_stage is None or not spec_stage.translations:
        return {}
    return {
        "translations": {
            text.language: {"title": text.title, "description": text.description}
            for text in spec_stage.translations
        }
    }


def stage_context(session: Session, scope: Scope) -> dict[str, Any]:
    """The cycle and stage as the templates see them (times as ISO UTC text)."""
    spec_stage = scope.spec.stage(scope.stage) if scope.spec.has_stage(scope.stage) else None
    visit = scope.visit
    return {
        "cycle": {"id": scope.cycle.id, "title": scope.cycle.title},
        "template": {
            "key": scope.spec.key,
            "title": scope.spec.title,
            **stage_translations(scope.spec),
        },
        "stage": {
            "key": scope.stage,
            "title": spec_stage.title if spec_stage else scope.stage,
            "description": spec_stage.description if spec_stage else "",
            "visit": visit.visit if visit else None,
            "visit_id": visit.id if visit else None,
            "due_at": visit.due_at.isoformat() if visit and visit.due_at else None,
            "entered_at": visit.entered_at.isoformat() if visit else None,
            **stage_translations(spec_stage),
        },
    }


def person_context(addressee: Addressee, organisations: Mapping[int, str]) -> dict[str, Any]:
    person = addressee.person
    organisation = organisations.get(person.organisation_id)
    return {
        "person": {"id": person.person_id, "name": person.name},
        "organisation": {"name": organisation} if organisation is not None else None,
        "timezone": person.timezone,
        "role": addressee.role,
    }


def enqueue(
    session: Session, scope: Scope, notice: Notice, *, domain: str = MESSAGE_ID_DOMAIN
) -> bool:
    """Add the notice's row unless one with its dedupe key exists; True when added."""
    return enqueue_all(session, scope, [notice], domain=domain) == 1


def enqueue_all(
    session: Session, scope: Scope, notices: Sequence[Notice], *, domain: str = MESSAGE_ID_DOMAIN
) -> int:
    """Add one row per notice, skipping dedupe keys that exist; how many rows were added.

    A change tells 3 or 30 people at once, and the cost must not grow with them: the alliance,
    the addressees' organisations, their preferences and snoozes are each read in one query at
    most (none when the cycle's lock and roster already read them), and the rows go in one
    INSERT. Within the batch the first notice of a dedupe key wins, as it would one insert at a
    time.
    """
    if not notices:
        return 0
    cycle = scope.cycle
    alliance, organisations = _alliance_and_organisations(session, cycle.alliance_id, notices)
    people = {n.to.person.person_id for n in notices}
    preferences = _preferences(session, cycle.id, people)
    snoozed = (
        _snoozes(session, people, scope.visit.id, scope.now)
        if scope.visit is not None
        and scope.visit.id is not None
        and any(n.kind in SNOOZABLE for n in notices)
        else {}
    )
    where = stage_context(session, scope)
    rows: dict[str, dict[str, Any]] = {}
    starts: dict[str, datetime] = {}  # the working day's start, per time zone of the batch
    for notice in notices:
        zone_name = notice.to.person.timezone
        not_before = starts.get(zone_name)
        if not_before is None:
            not_before = starts[zone_name] = working_start(alliance, zone_name, scope.now)
        row = _row(scope, notice, where, alliance, organisations, domain, not_before)
        if row["dedupe_key"] in rows:
            continue
        person_id = notice.to.person.person_id
        apply_preferences(
            row, notice.to.person.timezone, preferences.get(person_id), snoozed.get(person_id)
        )
        rows[row["dedupe_key"]] = row
    return insert_all_ignoring_duplicates(session, list(rows.values()))


def _row(
    scope: Scope,
    notice: Notice,
    where: dict[str, Any],
    alliance: AllianceRecord | None,
    organisations: Mapping[int, str],
    domain: str,
    not_before: datetime,
) -> dict[str, Any]:
    """The column values of the notice's row, before the recipient's preferences apply (a
    plain mapping: a model instance per row cost more than the rest of the fire)."""
    person = notice.to.person
    cycle = scope.cycle
    context = {
        **where,
        **person_context(notice.to, organisations),
        "alliance": {"name": alliance.name} if alliance else None,
        "actions": list(notice.actions),
        "details": notice.details,
    }
    visit_number = scope.visit.visit if scope.visit else None
    return {
        "channel": EMAIL,
        "kind": notice.kind,
        "cycle_id": cycle.id,
        "stage": scope.stage,
        "visit": visit_number,
        "rule": notice.rule,
        "occurrence": notice.occurrence,
        "person_id": person.person_id,
        "recipient": person.email,
        "language": person.language,
        "dedupe_key": dedupe_key(
            cycle.id, scope.stage, visit_number, notice.rule, notice.occurrence, person.email
        ),
        "message_id": new_message_id(domain),
        "delivery": IMMEDIATE,
        "not_before": not_before,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": not_before,
        "first_due_at": None,
        "expires_at": email_expiry(
            notice.kind, created=scope.now, deadline=scope.visit.due_at if scope.visit else None
        ),
        "lease_owner": None,
        "lease_until": None,
        "possible_duplicate": False,
        "last_error": None,
        "reply": None,
        "sent_at": None,
        "digest_id": None,
        "context": context,
        "created_at": scope.now,
    }


def _alliance_and_organisations(
    session: Session, alliance_id: int | None, notices: Sequence[Notice]
) -> tuple[AllianceRecord | None, dict[int, str]]:
    """The cycle's alliance and the addressees' organisation names (by id), in one query at
    most: none when the session holds the alliance (the cycle's lock read it) and the roster
    named every addressee's organisation.

    The alliance row is joined to each organisation wanted (an outer join, so an alliance with
    none of them still comes back once).
    """
    names = {
        n.to.person.organisation_id: n.to.person.organisation_name
        for n in notices
        if n.to.person.organisation_name is not None
    }
    ids = {n.to.person.organisation_id for n in notices}
    held = loaded(session, AllianceRecord, alliance_id) if alliance_id is not None else None
    if ids <= names.keys() and (alliance_id is None or held is not None):
        return held, names
    if alliance_id is None:
        found = session.exec(
            select(OrganisationRecord).where(col(OrganisationRecord.id).in_(ids))
        ).all()
        return None, {row.id: row.name for row in found if row.id is not None}
    rows = session.exec(
        select(AllianceRecord, OrganisationRecord)
        .outerjoin(OrganisationRecord, col(OrganisationRecord.id).in_(ids))
        .where(AllianceRecord.id == alliance_id)
    ).all()
    alliance = rows[0][0] if rows else None
    return alliance, {o.id: o.name for _, o in rows if o is not None and o.id is not None}


def _preferences(
    session: Session, cycle_id: int | None, people: set[int]
) -> Mapping[int, Preferences | NotificationPreferenceRecord]:
    """The people's notification preferences (none for who never set any), in one query at
    most: none when the cycle's roster, read in this transaction, covers them all."""
    kept = kept_roster(session, cycle_id) if cycle_id is not None else None
    if kept is not None and people <= kept.people.keys():
        return {person: kept.preferences[person] for person in people if person in kept.preferences}
    found = session.exec(
        select(NotificationPreferenceRecord).where(
            col(NotificationPreferenceRecord.person_id).in_(people)
        )
    ).all()
    return {row.person_id: row for row in found}


#: The end of each person's latest snooze on a stage visit (few rows: only snoozes).
_SNOOZES = Prepared(
    select(col(ActionUseRecord.person_id), func.max(ActionUseRecord.snoozed_until))
    .where(
        col(ActionUseRecord.stage_visit_id) == bindparam("visit_id"),
        col(ActionUseRecord.snoozed_until).is_not(None),
    )
    .group_by(col(ActionUseRecord.person_id))
)


def _snoozes(
    session: Session, people: set[int], stage_visit_id: int, now: datetime
) -> dict[int, datetime]:
    """The end of each person's latest snooze on the stage visit still running, in one
    prepared query (the people kept here, so the statement never changes)."""
    return {
        person_id: until
        for person_id, until in fetch(session, _SNOOZES, {"visit_id": stage_visit_id})
        if person_id in people and until is not None and until > now
    }


def apply_preferences(
    row: dict[str, Any],
    tz_name: str,
    prefs: Preferences | NotificationPreferenceRecord | None,
    snoozed_until: datetime | None,
) -> None:
    """Suppress unsubscribed kinds, hold snoozed reminders, route digest readers' mail."""
    kind = row["kind"]
    if prefs is not None and kind in prefs.unsubscribed:
        row["status"] = SUPPRESSED
        row["last_error"] = f"{kind} emails are switched off in the person's preferences"
        return
    if kind in SNOOZABLE and snoozed_until is not None and snoozed_until > row["next_attempt_at"]:
        row["next_attempt_at"] = snoozed_until
    if prefs is not None and prefs.mode == DIGEST and kind in DIGESTIBLE:
        row["delivery"] = DIGEST
        row["next_attempt_at"] = digest_time(row["next_attempt_at"], tz_name, prefs.digest_hour)
    else:
        row["delivery"] = IMMEDIATE


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


def insert_all_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> int:
    """INSERT ... ON CONFLICT (dedupe_key) DO NOTHING for all rows at once; how many were new.

    One prepared statement with every row, in one executemany of the driver (sqlite3, or
    psycopg's pipeline); the driver's row count says how many rows were written (a skipped
    duplicate is not counted).
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    return run_many(session, _INSERT_IGNORING_PG if postgres else _INSERT_IGNORING_SQLITE, rows)


_OUTBOX = OutboxRecord.__table__  # type: ignore[attr-defined]
#: The outbox inserts that skip a known dedupe key, prebuilt once.
_INSERT_IGNORING_SQLITE = Prepared(
    sqlite_insert(_OUTBOX).on_conflict_do_nothing(index_elements=["dedupe_key"])
)
_INSERT_IGNORING_PG = Prepared(
    pg_insert(_OUTBOX).on_conflict_do_nothing(index_elements=["dedupe_key"])
)
