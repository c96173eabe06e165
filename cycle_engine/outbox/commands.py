"""`OutboxService` (`engine.outbox`): who was told what, preferences, email actions, nudges.

Queries: the outbox (what was sent, what waits, what failed and the server's reply, per
recipient), a person's upcoming deadlines (for their calendar feed), partner engagement per
organisation. `subscriptions` holds the alliances' webhook subscriptions. Commands: notification
preferences (immediate or daily digest, kinds switched off), and the actions a person takes
from an email link: acknowledge, mark done, ask for more time, snooze. Each action is one
transaction that appends an event, calls the listeners, and records the link's use, so a
second click (or a replay) only reports that it was already done.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, or_, select

from cycle_engine.actors import Actor
from cycle_engine.alliances.common import get_person
from cycle_engine.alliances.credentials import current_person
from cycle_engine.alliances.learning_checks import LearningChecks
from cycle_engine.alliances.reach import Reach, check_cycle_command
from cycle_engine.alliances.roster import Recipient
from cycle_engine.changes import Change, Changes
from cycle_engine.clock import Clock
from cycle_engine.errors import ActionNotAllowed, InvalidInput, OutboxMessageNotFound
from cycle_engine.outbox import nudges
from cycle_engine.outbox.engagement import Engagement, engagement
from cycle_engine.outbox.enqueue import Notice, Scope, enqueue
from cycle_engine.outbox.health import ChannelHealth, outbox_health
from cycle_engine.outbox.level_choice import (
    LEVEL_ACTION,
    LevelChoices,
    LevelsProposed,
    level_choices,
    propose_levels,
)
from cycle_engine.outbox.preferences import replan_person, validate_preferences
from cycle_engine.outbox.recipients import Addressee
from cycle_engine.outbox.signin import SignInLink, queue_signin_email
from cycle_engine.outbox.subscriptions import WebhookSubscriptions
from cycle_engine.store.db import Database
from cycle_engine.store.events import append_event, lock_cycle
from cycle_engine.store.tables import CycleRecord, StageRecord
from cycle_engine.store.tables.alliances import ParticipationRecord, PersonRecord
from cycle_engine.store.tables.outbox import (
    ActionUseRecord,
    NotificationPreferenceRecord,
    OutboxRecipientRecord,
    OutboxRecord,
)
from cycle_engine.store.templates import TemplateStore

#: Email link actions and the event each one appends.
ACTION_EVENTS = {
    "acknowledge": "action_acknowledged",
    "done": "marked_done",
    "extend": "extension_requested",
    "snooze": "snoozed",
}
#: Every action an email's token may offer: the ones above, and choosing the organisation's
#: level on the cycle's stages (`outbox.level_choice`).
EMAIL_ACTIONS = (*ACTION_EVENTS, LEVEL_ACTION)


@dataclass(frozen=True, kw_only=True)
class ActionResult:
    """What an email action did: `performed` is False when the link had been used before."""

    action: str
    performed: bool
    at: datetime
    event_id: int | None


@dataclass(frozen=True, kw_only=True)
class Deadline:
    """An open step a person carries, with its deadline (for the calendar feed)."""

    cycle_id: int
    cycle_title: str
    stage: str
    stage_title: str
    stage_visit_id: int
    visit: int
    due_at: datetime


class OutboxService:
    """Outbox queries, notification preferences, actions taken from emails, and nudges."""

    def __init__(
        self, *, db: Database, clock: Clock, templates: TemplateStore, changes: Changes
    ) -> None:
        self.db = db
        self.clock = clock
        self.templates = templates
        self.changes = changes
        self.subscriptions = WebhookSubscriptions(db=db, clock=clock)

    # -- outbox queries -------------------------------------------------------------------

    def health(self, channels: tuple[str, ...] = ("email", "webhook")) -> list[ChannelHealth]:
        """Rows per channel and status, and the oldest due pending message (for metrics)."""
        with self.db.read_session() as session:
            return outbox_health(session, self.clock.now(), channels)

    def messages(
        self,
        *,
        cycle_id: int | None = None,
        person_id: int | None = None,
        status: str | None = None,
        channel: str | None = None,
        alliance_id: int | None = None,
        reach: Reach | None = None,
        limit: int = 100,
        offset: int = 0,
        by_time: bool = False,
    ) -> list[OutboxRecord]:
        """Outbox rows, newest first, with filters; `status="failed"` is what coordinators see.

        With `alliance_id`, the rows of that alliance's cycles; with `reach` (short of
        everything), only rows of cycles in it. Newest is the latest written (id) unless
        `by_time`: then the latest dated (`created_at`, as the mail log shows it; rows a backfill
        or the demo wrote with earlier dates fall in their place).
        """
        if not 1 <= limit <= 1000:
            raise InvalidInput("limit", f"must be between 1 and 1000, got {limit}")
        if offset < 0:
            raise InvalidInput("offset", f"must be 0 or more, got {offset}")
        query = select(OutboxRecord)
        for column, value in (
            (OutboxRecord.cycle_id, cycle_id),
            (OutboxRecord.person_id, person_id),
            (OutboxRecord.status, status),
            (OutboxRecord.channel, channel),
        ):
            if value is not None:
                query = query.where(col(column) == value)
        query = _of_cycles(query, alliance_id, reach)
        newest = (col(OutboxRecord.created_at).desc(),) if by_time else ()
        query = query.order_by(*newest, col(OutboxRecord.id).desc()).offset(offset).limit(limit)
        with self.db.read_session() as session:
            return list(session.exec(query))

    def message_counts(self, *, reach: Reach | None = None) -> dict[str, dict[str, int]]:
        """Outbox rows (of cycles in `reach`) counted by channel, then status."""
        query = _of_cycles(
            select(OutboxRecord.channel, OutboxRecord.status, func.count()), None, reach
        ).group_by(OutboxRecord.channel, OutboxRecord.status)
        counts: dict[str, dict[str, int]] = {}
        with self.db.read_session() as session:
            for channel, status, count in session.exec(query):
                counts.setdefault(channel, {})[status] = int(count)
        return counts

    def message(self, outbox_id: int) -> OutboxRecord:
        with self.db.read_session() as session:
            row = session.get(OutboxRecord, outbox_id)
            if row is None:
                raise OutboxMessageNotFound(outbox_id)
            return row

    def recipients(self, outbox_id: int) -> list[OutboxRecipientRecord]:
        """The server's answer per address for one message (recorded on refusals and failures)."""
        with self.db.read_session() as session:
            return list(
                session.exec(
                    select(OutboxRecipientRecord)
                    .where(OutboxRecipientRecord.outbox_id == outbox_id)
                    .order_by(col(OutboxRecipientRecord.id))
                )
            )

    # -- preferences ----------------------------------------------------------------------

    def notification_preferences(self, person_id: int) -> NotificationPreferenceRecord:
        """The person's choices (defaults when they never chose); raises PersonNotFound."""
        with self.db.read_session() as session:
            get_person(session, person_id)
            prefs = session.get(NotificationPreferenceRecord, person_id)
            return prefs or NotificationPreferenceRecord(
                person_id=person_id, updated_at=self.clock.now()
            )

    def set_notification_preferences(
        self,
        person_id: int,
        *,
        mode: str | None = None,
        digest_hour: int | None = None,
        unsubscribed: Sequence[str] | None = None,
    ) -> NotificationPreferenceRecord:
        """Change the person's choices and re-plan their waiting emails to match.

        Raises PersonNotFound, or InvalidInput naming the bad field.
        """
        now = self.clock.now()
        with self.db.transaction() as session:
            person = get_person(session, person_id)
            prefs = session.get(NotificationPreferenceRecord, person_id) or (
                NotificationPreferenceRecord(person_id=person_id, updated_at=now)
            )
            validate_preferences(
                prefs, mode=mode, digest_hour=digest_hour, unsubscribed=unsubscribed
            )
            prefs.updated_at = now
            session.add(prefs)
            replan_person(session, prefs, person.timezone, now)
            return prefs

    def unsubscribe(self, person_id: int, kinds: Sequence[str]) -> NotificationPreferenceRecord:
        """Switch off `kinds` for the person (the List-Unsubscribe target)."""
        current = self.notification_preferences(person_id).unsubscribed
        return self.set_notification_preferences(person_id, unsubscribed=sorted({*current, *kinds}))

    # -- actions from email links ---------------------------------------------------------

    def record_email_action(
        self,
        *,
        action: str,
        person_id: int,
        cycle_id: int,
        stage_visit_id: int,
        use_key: str,
        data: dict[str, Any] | None = None,
    ) -> ActionResult:
        """Perform an email action once; a used `use_key` returns `performed=False`.

        `data`: `days` and `reason` for "extend", `product_url` and `note` for "done",
        `days` for "snooze". Raises InvalidInput, PersonNotFound, CycleNotFound, or
        ActionNotAllowed when the step is no longer open.
        """
        if action not in ACTION_EVENTS:
            raise InvalidInput(
                "action", f"must be one of {', '.join(ACTION_EVENTS)}; got {action!r}"
            )
        details = action_data(action, data or {})
        now = self.clock.now()
        try:
            with self.db.transaction() as session:
                cycle = lock_cycle(session, cycle_id)
                used = session.get(ActionUseRecord, use_key)
                if used is not None:
                    return ActionResult(
                        action=action, performed=False, at=used.used_at, event_id=used.event_id
                    )
                visit = open_visit_of(session, cycle, stage_visit_id, action)
                return self._perform(
                    session, cycle, visit, action, person_id, use_key, details, now
                )
        except IntegrityError:  # the same link used at the same moment elsewhere
            with self.db.read_session() as session:
                used = session.get(ActionUseRecord, use_key)
            if used is None:
                raise
            return ActionResult(
                action=action, performed=False, at=used.used_at, event_id=used.event_id
            )

    def _perform(
        self,
        session: Session,
        cycle: CycleRecord,
        visit: StageRecord,
        action: str,
        person_id: int,
        use_key: str,
        details: dict[str, Any],
        now: datetime,
    ) -> ActionResult:
        person = get_person(session, person_id)
        if person.left_on is not None:
            raise ActionNotAllowed(action, f"{person.name} has left their organisation")
        actor = Actor(
            name=f"{person.name} (email)"[:200],
            role="partner",
            organisation_id=person.organisation_id,
            person_id=person_id,
        )
        until = now + timedelta(days=int(details["days"])) if action == "snooze" else None
        if until is not None:
            details["until"] = until.isoformat()
        event = append_event(
            session,
            cycle,
            kind=ACTION_EVENTS[action],
            actor=actor,
            now=now,
            data={
                "person_id": person_id,
                "stage": visit.stage,
                "stage_visit_id": visit.id,
                "via": "email",
                **details,
            },
        )
        session.flush()
        assert event.id is not None and visit.id is not None and cycle.id is not None
        session.add(
            ActionUseRecord(
                use_key=use_key,
                action=action,
                person_id=person_id,
                cycle_id=cycle.id,
                stage_visit_id=visit.id,
                event_id=event.id,
                snoozed_until=until,
                used_at=now,
            )
        )
        spec = self.templates.spec(session, cycle.template_id)
        change = Change(session=session, cycle=cycle, spec=spec, event=event, actor=actor, now=now)
        self.changes.record(change)
        session.flush()
        return ActionResult(action=action, performed=True, at=now, event_id=event.id)

    def action_used(self, use_key: str) -> bool:
        """Whether an email link with this single-use key was already used."""
        with self.db.read_session() as session:
            return session.get(ActionUseRecord, use_key) is not None

    def level_choices(self, person_id: int, cycle_id: int) -> LevelChoices:
        """What a level link's page shows: the person's organisation's levels and waiting
        proposals on the cycle's stages not yet finished."""
        with self.db.read_session() as session:
            return level_choices(session, self.templates.spec, person_id, cycle_id)

    def propose_levels_by_email(
        self,
        *,
        person_id: int,
        cycle_id: int,
        stage_visit_id: int,
        use_key: str,
        levels: dict[str, str],
        note: str | None = None,
    ) -> LevelsProposed:
        """Propose the person's organisation's levels from an email link, once per `use_key`
        (see `outbox.level_choice`); the coordinator decides them as any other proposal."""
        checks = LearningChecks(
            db=self.db, clock=self.clock, templates=self.templates, changes=self.changes
        )
        return propose_levels(
            checks,
            person_id=person_id,
            cycle_id=cycle_id,
            stage_visit_id=stage_visit_id,
            use_key=use_key,
            levels=levels,
            note=note,
        )

    def request_fresh_link(
        self, *, person_id: int, cycle_id: int, stage_visit_id: int, action: str
    ) -> bool:
        """Email the person a new link for `action` (at most one per hour); True when queued."""
        if action not in ACTION_EVENTS:
            raise InvalidInput(
                "action", f"must be one of {', '.join(ACTION_EVENTS)}; got {action!r}"
            )
        now = self.clock.now()
        with self.db.transaction() as session:
            cycle = lock_cycle(session, cycle_id)
            visit = open_visit_of(session, cycle, stage_visit_id, action)
            person = get_person(session, person_id)
            assert person.id is not None
            spec = self.templates.spec(session, cycle.template_id)
            scope = Scope(cycle=cycle, spec=spec, stage=visit.stage, visit=visit, now=now)
            recipient = Recipient(
                person_id=person.id,
                name=person.name,
                email=person.email,
                language=person.language,
                timezone=person.timezone,
                organisation_id=person.organisation_id,
            )
            return enqueue(
                session,
                scope,
                Notice(
                    kind="fresh_link",
                    rule=f"fresh_{action}",
                    occurrence=int(now.timestamp()) // 3600,
                    to=Addressee(person=recipient, role="person"),
                    details={"action": action},
                    actions=(action,),
                ),
            )

    # -- sign-in emails and engagement ----------------------------------------------------

    def send_signin_link(
        self,
        email: str,
        link_for: Callable[[PersonRecord], SignInLink],
        *,
        client: str | None = None,
    ) -> OutboxRecord | None:
        """Queue a sign-in email with `link_for(person)` if `email` is a current person's.

        Returns the outbox row, or None when the address is unknown or the person, or the
        `client` asking (an opaque key, see `outbox.signin`), asked for too many links lately
        (callers answer the same either way).
        """
        now = self.clock.now()
        with self.db.transaction() as session:
            person = current_person(session, email)
            if person is None:
                return None
            return queue_signin_email(session, person, link_for(person), now=now, client=client)

    def engagement(self, alliance_id: int, *, window: timedelta) -> list[Engagement]:
        """Per member organisation: reminders answered within `window`, overdue steps it leads,
        staff turnover (see `outbox.engagement`)."""
        with self.db.read_session() as session:
            return engagement(session, alliance_id, self.clock.now(), window)

    # -- calendar -------------------------------------------------------------------------

    def upcoming_deadlines(self, person_id: int) -> list[Deadline]:
        """Open steps the person carries (focal point, deputy, or their lead/active
        organisation) with a deadline, soonest first; raises PersonNotFound."""
        with self.db.read_session() as session:
            person = get_person(session, person_id)
            rows = session.exec(
                select(ParticipationRecord, StageRecord, CycleRecord)
                .join(
                    StageRecord,
                    (col(StageRecord.cycle_id) == ParticipationRecord.cycle_id)
                    & (col(StageRecord.stage) == ParticipationRecord.stage),
                )
                .join(CycleRecord, col(CycleRecord.current_stage_id) == StageRecord.id)
                .where(
                    col(StageRecord.left_at).is_(None),
                    col(StageRecord.due_at).is_not(None),
                    or_(
                        col(ParticipationRecord.focal_point_id) == person_id,
                        col(ParticipationRecord.deputy_id) == person_id,
                        (col(ParticipationRecord.organisation_id) == person.organisation_id)
                        & col(ParticipationRecord.level).in_(("lead", "active")),
                    ),
                )
            ).all()
            deadlines: dict[int, Deadline] = {}
            for _, visit, cycle in rows:
                assert visit.id is not None and cycle.id is not None and visit.due_at
                spec = self.templates.spec(session, cycle.template_id)
                known = spec.has_stage(visit.stage)
                title = spec.stage(visit.stage).title if known else visit.stage
                deadlines[visit.id] = Deadline(
                    cycle_id=cycle.id,
                    cycle_title=cycle.title,
                    stage=visit.stage,
                    stage_title=title,
                    stage_visit_id=visit.id,
                    visit=visit.visit,
                    due_at=visit.due_at,
                )
            return sorted(deadlines.values(), key=lambda d: (d.due_at, d.stage_visit_id))

    # -- nudges ---------------------------------------------------------------------------

    def nudge(
        self,
        cycle_id: int,
        *,
        actor: Actor,
        note: str | None = None,
        reach: Reach | None = None,
    ) -> int:
        """Nudge the people of the cycle's open stage; returns how many emails were queued.

        Raises:
            CycleNotFound: no such cycle, or not in `reach` (checked on the locked cycle).
            ActionNotAllowed: the cycle is finished, has no open stage, or was nudged recently,
                or the caller may not act on it.
        """
        with self.db.transaction() as session:
            cycle = lock_cycle(session, cycle_id)
            refusal = check_cycle_command(
                session, cycle, reach=reach, expected_version=None, action="nudge"
            )
            if refusal is not None:
                raise ActionNotAllowed("nudge", refusal)
            return nudges.nudge(
                session,
                self.templates,
                self.changes,
                cycle_id,
                actor=actor,
                now=self.clock.now(),
                note=note,
            )


def _of_cycles(query: Any, alliance_id: int | None, reach: Reach | None) -> Any:
    """`query` over OutboxRecord limited to rows of the alliance's cycles, in `reach`."""
    if alliance_id is None and (reach is None or reach.everything):
        return query
    cycles = select(CycleRecord.id)
    if alliance_id is not None:
        cycles = cycles.where(CycleRecord.alliance_id == alliance_id)
    if reach is not None:
        cycles = cycles.where(reach.cycles(alliance_id))
    return query.where(col(OutboxRecord.cycle_id).in_(cycles))


def open_visit_of(
    session: Session, cycle: CycleRecord, stage_visit_id: int, action: str
) -> StageRecord:
    """The visit, checked to be the cycle's current open step; raises ActionNotAllowed."""
    visit = session.get(StageRecord, stage_visit_id)
    if visit is None or visit.cycle_id != cycle.id:
        raise ActionNotAllowed(action, f"cycle {cycle.id} has no step visit {stage_visit_id}")
    if visit.left_at is not None or cycle.current_stage_id != visit.id:
        raise ActionNotAllowed(
            action, f"the step {visit.stage!r} is closed; the cycle is now in {cycle.state!r}"
        )
    return visit


def action_data(action: str, data: dict[str, Any]) -> dict[str, Any]:
    """The checked extra fields of an action; raises InvalidInput naming the bad one."""
    if action == "extend":
        days = _whole_number("days", data.get("days", 7), 1, 90)
        reason = str(data.get("reason") or "").strip()
        if len(reason) > 1000:
            raise InvalidInput("reason", "must be at most 1000 characters")
        return {"days": days, "reason": reason or None}
    if action == "done":
        url = str(data.get("product_url") or "").strip()
        if url and (
            not url.lower().startswith(("https://", "http://"))
            or len(url) > 1000
            or any(c in url for c in "\r\n\t ")
        ):
            raise InvalidInput("product_url", f"must be an http(s) link, got {url[:80]!r}")
        note = str(data.get("note") or "").strip()
        if len(note) > 1000:
            raise InvalidInput("note", "must be at most 1000 characters")
        return {"product_url": url or None, "note": note or None}
    if action == "snooze":
        return {"days": _whole_number("days", data.get("days", 3), 1, 14)}
    return {}


def _whole_number(field: str, value: Any, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise InvalidInput(field, f"must be a whole number of days, got {value!r}") from None
    if not low <= number <= high:
        raise InvalidInput(field, f"must be between {low} and {high}, got {number}")
    return number
