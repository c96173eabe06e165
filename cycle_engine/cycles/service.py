"""`CycleService` (`engine.cycles`): start cycles, fire triggers, explain what is allowed.

Each command is one transaction (the cycle, its event, its timers and its notifications commit
together); each query reads without taking the write lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from cycle_engine.actors import SYSTEM, Actor
from cycle_engine.alliances.common import CycleOp, get_alliance
from cycle_engine.alliances.questions import insert_questions
from cycle_engine.alliances.workplan import build_plan
from cycle_engine.changes import Change, Changes
from cycle_engine.clock import Clock
from cycle_engine.cycles.firing import (
    FireResult,
    ParticipationRoles,
    explain,
    fire,
    no_participation,
    open_visit,
)
from cycle_engine.errors import CycleNotFound, InvalidInput
from cycle_engine.spec.machine import TriggerOption
from cycle_engine.store.db import Database
from cycle_engine.store.events import append_event, current_visit, lock_cycle
from cycle_engine.store.tables import (
    CycleRecord,
    EventRecord,
    IdempotencyRecord,
    StageRecord,
)
from cycle_engine.store.templates import TemplateStore


@dataclass(frozen=True, kw_only=True)
class CycleFilter:
    """Filters for `list_cycles`; None means any."""

    state: str | None = None
    status: str | None = None
    template_key: str | None = None
    alliance_id: int | None = None


class CycleService:
    """Cycles of one database: start, fire, and the queries about one cycle or many."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        templates: TemplateStore,
        changes: Changes,
        participation: ParticipationRoles = no_participation,
    ) -> None:
        self.db = db
        self.clock = clock
        self.templates = templates
        self.changes = changes
        self.participation = participation

    def start_cycle(
        self,
        template_key: str,
        title: str,
        *,
        template_version: int | None = None,
        actor: Actor = SYSTEM,
        note: str | None = None,
        alliance_id: int | None = None,
        topic: str | None = None,
        questions: Sequence[str] = (),
    ) -> CycleRecord:
        """Start a cycle on the latest (or given) version of a template, in its initial stage.

        With `alliance_id`, the cycle belongs to that alliance and gets a work plan computed in
        the alliance's time zone; `questions` are recorded as its first learning questions
        (one `question_added` event each). Raises AllianceNotFound, InvalidInput.
        """
        if not title or not title.strip():
            raise InvalidInput("title", "a cycle needs a title (its learning topic)")
        if topic is not None and (not topic.strip() or len(topic.strip()) > 200):
            raise InvalidInput("topic", "must be 1 to 200 characters when given")
        if isinstance(questions, str):
            raise InvalidInput("questions", "give a list of questions, not one string")
        if questions and alliance_id is None:
            raise InvalidInput("questions", "learning questions need the cycle's alliance")
        now = self.clock.now()
        with self.db.transaction() as session:
            alliance = get_alliance(session, alliance_id) if alliance_id is not None else None
            record = self.templates.resolve(session, template_key, template_version)
            assert record.id is not None
            spec = self.templates.spec(session, record.id)
            cycle = CycleRecord(
                template_id=record.id,
                template_key=record.key,
                title=title.strip(),
                state=spec.initial,
                version=0,
                started_at=now,
                updated_at=now,
                created_by=actor.name,
                alliance_id=alliance_id,
                topic=topic.strip() if topic else None,
            )
            session.add(cycle)
            session.flush()
            if alliance is not None:
                build_plan(session, cycle, spec, alliance)
            entered = open_visit(session, cycle, spec, spec.initial, now)
            event = append_event(
                session,
                cycle,
                kind="started",
                actor=actor,
                now=now,
                to_state=spec.initial,
                note=note,
                data={"template": record.key, "template_version": record.version},
                cycle_values={"current_stage_id": entered.id},
            )
            session.flush()
            self.changes.record(
                Change(
                    session=session,
                    cycle=cycle,
                    spec=spec,
                    event=event,
                    actor=actor,
                    now=now,
                    entered=entered,
                )
            )
            if questions:
                op = CycleOp(
                    session=session,
                    cycle=cycle,
                    spec=spec,
                    actor=actor,
                    now=now,
                    changes=self.changes,
                )
                insert_questions(op, questions)
            return cycle

    def fire(
        self,
        cycle_id: int,
        trigger: str,
        *,
        actor: Actor = SYSTEM,
        note: str | None = None,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> FireResult:
        """Fire `trigger` on a cycle in one transaction.

        Raises:
            CycleNotFound: no such cycle.
            ConflictError: `expected_version` is not the cycle's version.
            UnknownTrigger: the trigger does not apply in the cycle's stage.
            TransitionNotAllowed: a guard or the actor's role blocks it (with reasons).
        """
        now = self.clock.now()
        try:
            with self.db.transaction() as session:
                if idempotency_key is not None:
                    earlier = self._earlier_result(session, idempotency_key)
                    if earlier is not None:
                        return earlier
                cycle = lock_cycle(session, cycle_id)
                machine = self.templates.machine(session, cycle.template_id)
                result = fire(
                    session,
                    cycle,
                    machine,
                    trigger,
                    actor=actor,
                    now=now,
                    note=note,
                    expected_version=expected_version,
                    changes=self.changes,
                    participation=self.participation,
                )
                if idempotency_key is not None:
                    session.add(
                        IdempotencyRecord(
                            key=idempotency_key,
                            command="fire",
                            cycle_id=cycle_id,
                            event_id=result.event_id,
                            created_at=now,
                        )
                    )
                return result
        except IntegrityError:
            if idempotency_key is None:
                raise
            with self.db.read_session() as session:  # another process stored the key first
                earlier = self._earlier_result(session, idempotency_key)
            if earlier is None:
                raise
            return earlier

    def _earlier_result(self, session: Session, key: str) -> FireResult | None:
        stored = session.get(IdempotencyRecord, key)
        if stored is None or stored.event_id is None:
            return None
        event = session.get(EventRecord, stored.event_id)
        assert event is not None and event.trigger and event.from_state and event.to_state
        return FireResult(
            cycle_id=event.cycle_id,
            trigger=event.trigger,
            from_state=event.from_state,
            to_state=event.to_state,
            version=event.seq,
            event_id=stored.event_id,
        )

    def get_cycle(self, cycle_id: int) -> CycleRecord:
        with self.db.read_session() as session:
            cycle = session.get(CycleRecord, cycle_id)
            if cycle is None:
                raise CycleNotFound(cycle_id)
            return cycle

    def current_stage(self, cycle_id: int) -> StageRecord | None:
        with self.db.read_session() as session:
            cycle = session.get(CycleRecord, cycle_id)
            if cycle is None:
                raise CycleNotFound(cycle_id)
            return current_visit(session, cycle)

    def available_triggers(
        self, cycle_id: int, *, actor: Actor = SYSTEM, note: str | None = None
    ) -> list[TriggerOption]:
        """Every trigger from the cycle's stage, allowed or blocked with the reasons."""
        with self.db.read_session() as session:
            cycle = session.get(CycleRecord, cycle_id)
            if cycle is None:
                raise CycleNotFound(cycle_id)
            machine = self.templates.machine(session, cycle.template_id)
            return explain(
                session, cycle, machine, actor, self.clock.now(), self.participation, note
            )

    def history(self, cycle_id: int) -> list[EventRecord]:
        with self.db.read_session() as session:
            if session.get(CycleRecord, cycle_id) is None:
                raise CycleNotFound(cycle_id)
            query = select(EventRecord).where(EventRecord.cycle_id == cycle_id)
            return list(session.exec(query.order_by(col(EventRecord.seq))))

    def list_cycles(
        self, filters: CycleFilter | None = None, *, limit: int = 100, offset: int = 0
    ) -> list[CycleRecord]:
        if limit < 1 or limit > 1000:
            raise InvalidInput("limit", f"must be between 1 and 1000, got {limit}")
        if offset < 0:
            raise InvalidInput("offset", f"must be 0 or more, got {offset}")
        filters = filters or CycleFilter()
        query = select(CycleRecord)
        if filters.state is not None:
            query = query.where(CycleRecord.state == filters.state)
        if filters.status is not None:
            query = query.where(CycleRecord.status == filters.status)
        if filters.template_key is not None:
            query = query.where(CycleRecord.template_key == filters.template_key)
        if filters.alliance_id is not None:
            query = query.where(CycleRecord.alliance_id == filters.alliance_id)
        with self.db.read_session() as session:
            return list(
                session.exec(query.order_by(col(CycleRecord.id)).offset(offset).limit(limit))
            )
