"""The outbox's `ChangeListener`: decides, inside each command's transaction, who is emailed.

    started / transition   stage started (to the people who carry it; when the cycle starts
                           and at role assignment with a link to choose their organisation's
                           level, `outbox.level_choice`) and, for a completed
                           stage, its results to every participating organisation, informed
                           ones included
    reminder_due           reminder (a zero-offset entry reminder is the "stage started"
                           email, with its calendar entry; a zero-offset due one is "due today")
    stage_overdue          overdue notice, when no "due today" reminder already went out
    overdue_reminder       overdue notice to the rule's roles, and one rung up the escalation
                           ladder (deputy, then the lead organisation) from the second one on
    escalated              escalation to the coordinators
    stalled                stall alert to the managers (coordinators when there are none)
    nudged                 a reminder a coordinator asked for
    extension_requested,
    marked_done            to the coordinators
    snoozed                holds the person's pending reminders for the stage until it ends

Rendering and sending happen later, in `notifications`; this module only adds rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session, col, update

from cycle_engine.changes import Change
from cycle_engine.clock import as_utc
from cycle_engine.outbox.enqueue import (
    MESSAGE_ID_DOMAIN,
    SNOOZABLE,
    Notice,
    Scope,
    enqueue_all,
    stage_translations,
)
from cycle_engine.outbox.level_choice import LEVEL_ACTION, PROPOSERS, offers_level_choice
from cycle_engine.outbox.recipients import (
    RESPONSIBLE,
    Addressee,
    by_roles,
    describe_person,
    escalation_addressees,
    ladder_rung,
    responsible_person,
)
from cycle_engine.store.prepared import Prepared, fetch
from cycle_engine.store.tables import StageRecord
from cycle_engine.store.tables.alliances import ProductRecord
from cycle_engine.store.tables.outbox import EMAIL, PENDING, OutboxRecord

_PRODUCT = ProductRecord.__table__  # type: ignore[attr-defined]
#: The products a completed stage's email lists, prebuilt (it runs on every completing fire).
_STAGE_PRODUCTS = Prepared(
    select(_PRODUCT.c.title, _PRODUCT.c.link)
    .where(_PRODUCT.c.cycle_id == bindparam("cycle_id"), _PRODUCT.c.stage == bindparam("stage"))
    .order_by(_PRODUCT.c.id)
)
ACTIONS = ("acknowledge", "done", "extend", "snooze")
STARTED_TO = ("focal_point", "deputy", "lead", "active")
COMPLETED_TO = ("lead", "active", "informed")


class OutboxListener:
    """Adds email rows for each change; never commits."""

    def __init__(self, *, message_id_domain: str = MESSAGE_ID_DOMAIN) -> None:
        self.domain = message_id_domain
        self._handlers: dict[str, Callable[[Change], None]] = {
            "started": self._entered,
            "transition": self._transition,
            "reminder_due": self._reminder,
            "stage_overdue": self._deadline_passed,
            "overdue_reminder": self._overdue,
            "escalated": self._escalated,
            "stalled": self._stalled,
            "nudged": self._nudged,
            "extension_requested": self._to_coordinators,
            "marked_done": self._to_coordinators,
            "snoozed": self._snoozed,
        }

    def on_change(self, change: Change) -> None:
        if change.cycle.alliance_id is None:
            return  # no alliance, no participants or role holders: nobody to write to
        handler = self._handlers.get(change.event.kind)
        if handler is not None:
            handler(change)

    # -- helpers ---------------------------------------------------------------------------

    def _send(
        self,
        change: Change,
        visit: StageRecord | None,
        stage: str,
        kind: str,
        rule: str,
        occurrence: int,
        people: Sequence[Addressee],
        details: dict[str, Any] | None = None,
        actions: Sequence[str] | None = None,
    ) -> None:
        scope = Scope(
            cycle=change.cycle, spec=change.spec, stage=stage, visit=visit, now=change.now
        )
        choose = (
            kind == "stage_started"
            and visit is not None
            and offers_level_choice(change.spec, stage)
        )
        notices = [
            Notice(
                kind=kind,
                rule=rule,
                occurrence=occurrence,
                to=addressee,
                details=details or {},
                actions=(
                    tuple(actions)
                    if actions is not None
                    else (ACTIONS if addressee.role in RESPONSIBLE and visit is not None else ())
                )
                + ((LEVEL_ACTION,) if choose and addressee.role in PROPOSERS else ()),
            )
            for addressee in people
        ]
        enqueue_all(change.session, scope, notices, domain=self.domain)

    def _timer_visit(self, change: Change) -> StageRecord | None:
        visit_id = change.event.data.get("stage_visit_id")
        return change.session.get(StageRecord, visit_id) if visit_id is not None else None

    def _people(self, change: Change, stage: str, roles: Sequence[str]) -> list[Addressee]:
        assert change.cycle.id is not None
        return by_roles(change.session, change.cycle.id, stage, roles)

    # -- stage lifecycle -------------------------------------------------------------------

    def _entered(self, change: Change, *, resumed: bool = False) -> None:
        visit = change.entered
        if visit is None or resumed or not change.spec.has_stage(visit.stage):
            return
        stage = change.spec.stage(visit.stage)
        if (
            stage.final
            or stage.hold
            or any(r.anchor == "entry" and not r.offset for r in stage.reminders)
        ):
            return  # a zero-offset entry reminder sends "stage started" when it fires
        self._send(
            change,
            visit,
            visit.stage,
            "stage_started",
            "started",
            0,
            self._people(change, visit.stage, STARTED_TO),
        )

    def _transition(self, change: Change) -> None:
        left = change.left
        resumed = (
            left is not None
            and change.spec.has_stage(left.stage)
            and (change.spec.stage(left.stage).hold)
        )
        if left is not None and self._completes(change, left):
            self._completed(change, left)
        self._entered(change, resumed=resumed)

    def _completes(self, change: Change, left: StageRecord) -> bool:
        """A work stage left forward: not into a pause, not into a second (e.g. cancelled) end."""
        spec = change.spec
        if not spec.has_stage(left.stage) or left.stage not in {s.key for s in spec.work_stages}:
            return False
        dest = change.event.to_state
        if dest is None or not spec.has_stage(dest):
            return False
        target = spec.stage(dest)
        return not target.hold and (not target.final or dest == spec.final_stages[0])

    def _completed(self, change: Change, left: StageRecord) -> None:
        products = fetch(
            change.session, _STAGE_PRODUCTS, {"cycle_id": change.cycle.id, "stage": left.stage}
        )
        dest = change.event.to_state
        next_stage = None
        if dest and change.spec.has_stage(dest) and not change.spec.stage(dest).final:
            following = change.spec.stage(dest)
            next_stage = {"key": dest, "title": following.title, **stage_translations(following)}
        details = {
            "products": [{"title": title, "url": link} for title, link in products],
            "next_stage": next_stage,
        }
        self._send(
            change,
            left,
            left.stage,
            "stage_completed",
            "completed",
            0,
            self._people(change, left.stage, COMPLETED_TO),
            details,
            actions=(),
        )

    # -- timer firings ---------------------------------------------------------------------

    def _reminder(self, change: Change) -> None:
        data = change.event.data
        visit = self._timer_visit(change)
        if visit is None:
            return
        kind = "reminder"
        if change.spec.has_stage(visit.stage):
            for rule in change.spec.stage(visit.stage).reminders:
                if rule.name == data.get("rule") and not rule.offset:
                    kind = "stage_started" if rule.anchor == "entry" else "due_today"
        self._send(
            change,
            visit,
            visit.stage,
            kind,
            str(data.get("rule", "reminder")),
            int(data.get("occurrence", 1)),
            self._people(change, visit.stage, data.get("to") or STARTED_TO),
            {"rule": data.get("rule")},
        )

    def _deadline_passed(self, change: Change) -> None:
        visit = self._timer_visit(change)
        if visit is None or not change.spec.has_stage(visit.stage):
            return
        stage = change.spec.stage(visit.stage)
        if any(r.anchor == "due" and not r.offset for r in stage.reminders):
            return  # "due today" already told them
        roles = stage.overdue.to if stage.overdue else ("focal_point",)
        self._send(
            change,
            visit,
            visit.stage,
            "overdue",
            "due",
            0,
            self._people(change, visit.stage, roles),
            {"overdue_days": 0, "occurrence": 0},
        )

    def _overdue(self, change: Change) -> None:
        data = change.event.data
        visit = self._timer_visit(change)
        if visit is None:
            return
        series = int(data.get("series", data.get("occurrence", 1)))
        days = overdue_days(visit, change.now)
        self._send(
            change,
            visit,
            visit.stage,
            "overdue",
            "overdue",
            series,
            self._people(change, visit.stage, data.get("to") or ("focal_point",)),
            {"overdue_days": days, "occurrence": series},
        )
        rung = ladder_rung(series, escalated=False)
        if rung is not None:
            self._escalate(change, visit, rung, series)

    def _escalated(self, change: Change) -> None:
        visit = self._timer_visit(change)
        if visit is None:
            return
        series = int(change.event.data.get("series", change.event.data.get("occurrence", 1)))
        rung = ladder_rung(series, escalated=True)
        assert rung is not None
        self._escalate(change, visit, rung, series)

    def _escalate(self, change: Change, visit: StageRecord, rung: int, series: int) -> None:
        assert change.cycle.id is not None
        level, people = escalation_addressees(change.session, change.cycle.id, visit.stage, rung)
        carrier = responsible_person(change.session, change.cycle.id, visit.stage)
        details = {
            "level": level,
            "overdue_days": overdue_days(visit, change.now),
            "responsible": describe_person(change.session, carrier),
        }
        actions = ("acknowledge", "done") if level != "coordinator" else ("done",)
        self._send(
            change,
            visit,
            visit.stage,
            "escalation",
            "escalation",
            series,
            people,
            details,
            actions=actions,
        )

    def _stalled(self, change: Change) -> None:
        data = change.event.data
        visit = self._timer_visit(change)
        if visit is None:
            return
        people = self._people(change, visit.stage, ("manager",)) or self._people(
            change, visit.stage, ("coordinator",)
        )
        last = data.get("last_activity_at") or visit.last_activity_at.isoformat()
        idle = (change.now - as_utc(datetime.fromisoformat(last))).days
        self._send(
            change,
            visit,
            visit.stage,
            "stalled",
            "stall",
            int(data.get("occurrence", change.event.seq)),
            people,
            {"idle_days": idle, "last_activity_at": last, "reasons": data.get("reasons", [])},
            actions=(),
        )

    # -- people's actions ------------------------------------------------------------------

    def _nudged(self, change: Change) -> None:
        data = change.event.data
        visit = self._timer_visit(change) or change.entered
        if visit is None:
            return
        self._send(
            change,
            visit,
            visit.stage,
            "reminder",
            "nudge",
            change.event.seq,
            self._people(change, visit.stage, data.get("to") or STARTED_TO),
            {"rule": "nudge"},
        )

    def _to_coordinators(self, change: Change) -> None:
        data = change.event.data
        visit = self._timer_visit(change)
        if visit is None:
            return
        who = describe_person(change.session, data.get("person_id"))
        if change.event.kind == "extension_requested":
            details = {"requester": who, "days": data.get("days"), "reason": data.get("reason")}
        else:
            details = {"by": who, "product_url": data.get("product_url"), "note": data.get("note")}
        rule = "extension" if change.event.kind == "extension_requested" else "done"
        self._send(
            change,
            visit,
            visit.stage,
            change.event.kind,
            rule,
            change.event.seq,
            self._people(change, visit.stage, ("coordinator",)),
            details,
            actions=(),
        )

    def _snoozed(self, change: Change) -> None:
        data = change.event.data
        visit = self._timer_visit(change)
        if visit is None or data.get("person_id") is None or data.get("until") is None:
            return
        hold_pending(
            change.session,
            change.cycle.id,
            visit,
            int(data["person_id"]),
            as_utc(datetime.fromisoformat(str(data["until"]))),
        )


def overdue_days(visit: StageRecord, now: datetime) -> int:
    if visit.due_at is None or now <= visit.due_at:
        return 0
    return (now - visit.due_at).days


def hold_pending(
    session: Session, cycle_id: int | None, visit: StageRecord, person_id: int, until: datetime
) -> None:
    """Move the person's pending reminders for the visit to `until` (a snooze)."""
    session.exec(
        update(OutboxRecord)
        .where(
            col(OutboxRecord.cycle_id) == cycle_id,
            col(OutboxRecord.stage) == visit.stage,
            col(OutboxRecord.visit) == visit.visit,
            col(OutboxRecord.person_id) == person_id,
            col(OutboxRecord.channel) == EMAIL,
            col(OutboxRecord.status) == PENDING,
            col(OutboxRecord.kind).in_(SNOOZABLE),
            col(OutboxRecord.next_attempt_at) < until,
        )
        .values(next_attempt_at=until)
    )
