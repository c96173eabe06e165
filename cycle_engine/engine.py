"""`CycleEngine`: the one facade a host application, the CLI and the API drive.

Each command opens one transaction, calls helpers that add rows, and commits once; each query
reads without taking the write lock. Built from a database URL and a clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from cycle_engine import cycles
from cycle_engine.actors import SYSTEM, Actor
from cycle_engine.alliances.commands import AllianceCommands
from cycle_engine.alliances.common import CycleOp, get_alliance
from cycle_engine.alliances.files import FileStore
from cycle_engine.alliances.participation import participation_roles
from cycle_engine.alliances.questions import insert_questions
from cycle_engine.alliances.workplan import build_plan
from cycle_engine.changes import Change, ChangeListener, append_event
from cycle_engine.clock import Clock, SystemClock
from cycle_engine.errors import CycleNotFound, InvalidInput
from cycle_engine.outbox.commands import NotificationCommands
from cycle_engine.outbox.listener import OutboxListener
from cycle_engine.outbox.nudges import NudgeCommands
from cycle_engine.outbox.webhooks import WebhookListener
from cycle_engine.scheduler.commands import SchedulerQueries
from cycle_engine.scheduler.listener import SchedulerListener
from cycle_engine.spec import builtin_template_paths
from cycle_engine.spec.guards import GuardRegistry, default_guards
from cycle_engine.spec.machine import TriggerOption
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.db import Database
from cycle_engine.store.schema import schema_status
from cycle_engine.store.tables import (
    CycleRecord,
    EventRecord,
    IdempotencyRecord,
    StageRecord,
    TemplateRecord,
)
from cycle_engine.store.templates import PublishedTemplate, TemplateStore

FireResult = cycles.FireResult


@dataclass(frozen=True, kw_only=True)
class CycleFilter:
    """Filters for `list_cycles`; None means any."""

    state: str | None = None
    status: str | None = None
    template_key: str | None = None


class CycleEngine(AllianceCommands, SchedulerQueries, NotificationCommands, NudgeCommands):
    """Runs learning cycles stored in one database.

    Args:
        url: SQLAlchemy URL, e.g. `sqlite:///data/cycles.db` or `postgresql+psycopg://...`.
        clock: where "now" comes from; tests pass `cycle_engine.testing.ManualClock`.
        guards: the guards templates may name (default: core + Learning Alliance guards).
        listeners: extra change listeners (the scheduler and outbox are added by default).
        check_schema: refuse to run on an empty, outdated or newer schema.
    """

    def __init__(
        self,
        url: str,
        *,
        clock: Clock | None = None,
        guards: GuardRegistry | None = None,
        listeners: Sequence[ChangeListener] = (),
        check_schema: bool = True,
        data_dir: Path | None = None,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.db = Database(url)
        if check_schema:
            self._check_schema()
        self.templates = TemplateStore(guards or default_guards(), self.clock)
        self.listeners: list[ChangeListener] = [*default_listeners(), *listeners]
        self.participation: cycles.ParticipationRoles = default_participation()
        self.data_dir = Path(data_dir) if data_dir is not None else Path("data")
        self.files = FileStore(self.data_dir)

    def _check_schema(self) -> None:
        try:
            status = schema_status(self.db)
        except BaseException:
            self.db.dispose()
            raise
        if status != "current":
            self.db.dispose()
            raise InvalidInput(
                "database", f"schema is {status}; run `cycle-engine init` (or `migrate`) first"
            )

    def close(self) -> None:
        self.db.dispose()

    def __enter__(self) -> CycleEngine:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- templates -----------------------------------------------------------------------

    def validate_template(self, text: str, source_name: str = "<text>") -> TemplateSpec:
        """Load and validate a template; raises InvalidTemplate naming every problem."""
        return self.templates.validate(text, source_name)

    def publish_template(self, text: str, source_name: str = "<text>") -> PublishedTemplate:
        """Publish a template version (same content -> same version)."""
        with self.db.transaction() as session:
            return self.templates.publish(session, text, source_name)

    def publish_file(self, path: str | Path) -> PublishedTemplate:
        path = Path(path)
        return self.publish_template(path.read_text(encoding="utf-8"), str(path))

    def publish_builtin_templates(self) -> list[PublishedTemplate]:
        return [self.publish_file(path) for path in builtin_template_paths()]

    def list_templates(self, key: str | None = None) -> list[TemplateRecord]:
        with self.db.read_session() as session:
            return self.templates.list(session, key)

    def template_spec(self, key: str, version: int | None = None) -> TemplateSpec:
        with self.db.read_session() as session:
            record = self.templates.resolve(session, key, version)
            assert record.id is not None
            return self.templates.spec(session, record.id)

    # -- cycles --------------------------------------------------------------------------

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
            entered = cycles.open_visit(session, cycle, spec, spec.initial, now)
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
            self._notify(
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
                    listeners=self.listeners,
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
                cycle = cycles.lock_cycle(session, cycle_id)
                machine = self.templates.machine(session, cycle.template_id)
                result = cycles.fire(
                    session,
                    cycle,
                    machine,
                    trigger,
                    actor=actor,
                    now=now,
                    note=note,
                    expected_version=expected_version,
                    listeners=self.listeners,
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

    def _notify(self, change: Change) -> None:
        for listener in self.listeners:
            listener.on_change(change)

    # -- queries -------------------------------------------------------------------------

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
            return cycles.current_visit(session, cycle)

    def available_triggers(
        self, cycle_id: int, *, actor: Actor = SYSTEM, note: str | None = None
    ) -> list[TriggerOption]:
        """Every trigger from the cycle's stage, allowed or blocked with the reasons."""
        with self.db.read_session() as session:
            cycle = session.get(CycleRecord, cycle_id)
            if cycle is None:
                raise CycleNotFound(cycle_id)
            machine = self.templates.machine(session, cycle.template_id)
            return cycles.explain(
                session, cycle, machine, actor, self.clock.now(), self.participation, note
            )

    def history(self, cycle_id: int) -> list[EventRecord]:
        with self.db.read_session() as session:
            if session.get(CycleRecord, cycle_id) is None:
                raise CycleNotFound(cycle_id)
            query = select(EventRecord).where(EventRecord.cycle_id == cycle_id)
            return list(session.exec(query.order_by(col(EventRecord.seq))))

    def stage_visits(self, cycle_id: int) -> list[StageRecord]:
        with self.db.read_session() as session:
            query = select(StageRecord).where(StageRecord.cycle_id == cycle_id)
            return list(session.exec(query.order_by(col(StageRecord.id))))

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
        with self.db.read_session() as session:
            return list(
                session.exec(query.order_by(col(CycleRecord.id)).offset(offset).limit(limit))
            )


def default_listeners() -> list[ChangeListener]:
    """Listeners every engine runs: timers, email outbox rows, webhook deliveries."""
    return [SchedulerListener(), OutboxListener(), WebhookListener()]


def default_participation() -> cycles.ParticipationRoles:
    """Template roles (lead, active) an actor holds through its organisation's participation."""
    return participation_roles
