"""`CycleService` (`engine.cycles`): start cycles, fire triggers, explain what is allowed, and
list cycles (the one list: `cycles.listing`).

Each command is one transaction (the cycle, its event, its timers and its notifications commit
together), and the checks that guard it (the caller's reach, its expected version, its part in
the stage) run inside it, on the locked cycle; each query reads without taking the write lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from cycle_engine.actors import SYSTEM, Actor
from cycle_engine.alliances.common import CycleOp, get_alliance
from cycle_engine.alliances.questions import insert_questions
from cycle_engine.alliances.reach import (
    Reach,
    check_cycle_command,
    sees_alliance,
    sees_cycle,
    stage_refusal,
)
from cycle_engine.alliances.workplan import build_plan
from cycle_engine.changes import Change, Changes, Refusal
from cycle_engine.clock import Clock
from cycle_engine.cycles import listing
from cycle_engine.cycles.counts import AllianceFigures, alliance_figures, alliance_on_time
from cycle_engine.cycles.firing import (
    FireResult,
    ParticipationRoles,
    explain,
    fire,
    no_participation,
    open_visit,
)
from cycle_engine.cycles.listing import CycleFilter, CycleOrder, ListedCycle, OnTimeRecord
from cycle_engine.cycles.steps import OrganisationSteps, organisation_steps
from cycle_engine.cycles.view import CycleView, read_cycle
from cycle_engine.errors import (
    AllianceNotFound,
    ConflictError,
    CycleNotFound,
    InvalidInput,
    NotPermitted,
    TransitionNotAllowed,
)
from cycle_engine.spec.machine import TriggerOption
from cycle_engine.store.db import Database
from cycle_engine.store.events import append_event, current_visit, lock_cycle
from cycle_engine.store.schema import SchemaStatus, check_writable, schema_status
from cycle_engine.store.tables import (
    CycleRecord,
    EventRecord,
    IdempotencyRecord,
    StageRecord,
)
from cycle_engine.store.templates import TemplateStore

__all__ = ["CycleFilter", "CycleService", "CycleView"]


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
        reach: Reach | None = None,
        standalone: bool = False,
    ) -> CycleRecord:
        """Start a cycle on the latest (or given) version of a template, in its initial stage.

        A cycle belongs to an alliance (`alliance_id`): it gets a work plan computed in the
        alliance's time zone, its managers see it and its partners are told. `questions` are
        recorded as its first learning questions (one `question_added` event each). Only with
        `standalone=True` does it start without one: nobody but an administrator sees it and no
        partner is notified, so it must be asked for. With `reach`, the alliance must be in it
        (checked in the command's transaction). Raises AllianceNotFound, InvalidInput.
        """
        if alliance_id is None and not standalone:
            raise InvalidInput(
                "alliance_id",
                "name the alliance the cycle belongs to (its managers see it and its partners"
                " are told), or start it standalone explicitly (only administrators see it)",
            )
        if alliance_id is not None and standalone:
            raise InvalidInput("standalone", "a standalone cycle has no alliance; drop one")
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
            if reach is not None and not reach.everything:
                if alliance_id is None:
                    raise NotPermitted(
                        "start a standalone cycle",
                        "only administrators start cycles with no"
                        " alliance; name the alliance the cycle belongs to",
                    )
                if not sees_alliance(session, reach, alliance_id):
                    raise AllianceNotFound(alliance_id)
            alliance = get_alliance(session, alliance_id) if alliance_id is not None else None
            record = self.templates.resolve(
                session, template_key, template_version, alliance_id=alliance_id, usable=True
            )
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
        reach: Reach | None = None,
    ) -> FireResult:
        """Fire `trigger` on a cycle in one transaction.

        `expected_version` and `reach` (the caller's, see `alliances.reach`) are checked on the
        locked cycle, inside the transaction that fires.

        Raises:
            CycleNotFound: no such cycle, or not in `reach`.
            ConflictError: `expected_version` is not the cycle's version.
            UnknownTrigger: the trigger does not apply in the cycle's stage.
            TransitionNotAllowed: a guard or the actor's role blocks it, or the caller may not
                act on the stage (with reasons).
        """
        now = self.clock.now()
        try:
            with self.db.transaction() as session:
                if idempotency_key is not None:
                    earlier = self._earlier_result(session, idempotency_key)
                    if earlier is not None:
                        return earlier
                cycle = lock_cycle(session, cycle_id)
                refusal = check_cycle_command(
                    session,
                    cycle,
                    reach=reach,
                    expected_version=expected_version,
                    action=f"fire {trigger!r}",
                )
                if refusal is not None:
                    raise TransitionNotAllowed(trigger, cycle.state, [refusal], [], kind="stage")
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
        except (TransitionNotAllowed, ConflictError) as error:
            self.changes.refused(Refusal.of(error, cycle_id=cycle_id, trigger=trigger))
            raise
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

    def get_cycle(self, cycle_id: int, *, reach: Reach | None = None) -> CycleRecord:
        """The cycle's row; raises CycleNotFound (also when it is not in `reach`)."""
        with self.db.read_session() as session:
            return self._read_cycle(session, cycle_id, reach)

    @staticmethod
    def _read_cycle(session: Session, cycle_id: int, reach: Reach | None = None) -> CycleRecord:
        cycle = session.get(CycleRecord, cycle_id)
        if cycle is None or (reach is not None and not sees_cycle(session, reach, cycle)):
            raise CycleNotFound(cycle_id)
        return cycle

    def current_stage(self, cycle_id: int) -> StageRecord | None:
        with self.db.read_session() as session:
            return current_visit(session, self._read_cycle(session, cycle_id))

    def stage_visits(self, cycle_id: int) -> list[StageRecord]:
        """Every stage visit of the cycle, oldest first; raises CycleNotFound."""
        with self.db.read_session() as session:
            self._read_cycle(session, cycle_id)
            query = select(StageRecord).where(StageRecord.cycle_id == cycle_id)
            return list(session.exec(query.order_by(col(StageRecord.id))))

    def available_triggers(
        self,
        cycle_id: int,
        *,
        actor: Actor = SYSTEM,
        note: str | None = None,
        reach: Reach | None = None,
    ) -> list[TriggerOption]:
        """Every trigger from the cycle's stage, allowed or blocked with the reasons.

        With `reach`, a caller who may not act on the current stage sees every trigger blocked,
        with that reason first. Raises CycleNotFound (also when the cycle is not in `reach`).
        """
        with self.db.read_session() as session:
            cycle = self._read_cycle(session, cycle_id, reach)
            return self._options(session, cycle, actor, note, reach)

    def view(
        self, cycle_id: int, *, actor: Actor = SYSTEM, reach: Reach | None = None
    ) -> CycleView:
        """The cycle, its template version, its open stage visit and the triggers as `actor`
        sees them, read in one session (what a cycle page or `GET /cycles/{id}` shows); the
        cycle, its template and its visit in one statement (`cycles.view`)."""
        with self.db.read_session() as session:
            return self.view_in(session, cycle_id, actor=actor, reach=reach)

    def view_in(
        self, session: Session, cycle_id: int, *, actor: Actor = SYSTEM, reach: Reach | None = None
    ) -> CycleView:
        """`view` in a read session the caller holds (the API's `store.reads.Readers`)."""
        found = read_cycle(session, cycle_id)
        if found is None:
            raise CycleNotFound(cycle_id)
        cycle, template_version, stage = found
        if reach is not None and not sees_cycle(session, reach, cycle):
            raise CycleNotFound(cycle_id)
        return CycleView(
            cycle=cycle,
            template_version=template_version,
            stage=stage,
            triggers=self._options(session, cycle, actor, None, reach),
        )

    def triggers_of(
        self, cycle_ids: Sequence[int], *, actor: Actor = SYSTEM
    ) -> dict[int, list[TriggerOption]]:
        """`available_triggers` of several cycles (no reach), read in one session, by cycle id
        (a page of fifty stuck cycles asks); a missing cycle is left out."""
        with self.db.read_session() as session:
            cycles = session.exec(
                select(CycleRecord).where(col(CycleRecord.id).in_(list(cycle_ids)))
            ).all()
            return {
                cycle.id: self._options(session, cycle, actor, None, None)
                for cycle in cycles
                if cycle.id is not None
            }

    def _options(
        self,
        session: Session,
        cycle: CycleRecord,
        actor: Actor,
        note: str | None,
        reach: Reach | None,
    ) -> list[TriggerOption]:
        machine = self.templates.machine(session, cycle.template_id)
        options = explain(
            session, cycle, machine, actor, self.clock.now(), self.participation, note
        )
        refusal = None if reach is None else stage_refusal(session, reach, cycle)
        if refusal is None:
            return options
        return [
            TriggerOption(
                trigger=option.trigger,
                dest=option.dest,
                allowed=False,
                reasons=(refusal, *option.reasons),
                roles=option.roles,
                description=option.description,
            )
            for option in options
        ]

    def history(self, cycle_id: int) -> list[EventRecord]:
        """The cycle's events, oldest first; raises CycleNotFound."""
        with self.db.read_session() as session:
            self._read_cycle(session, cycle_id)
            query = select(EventRecord).where(EventRecord.cycle_id == cycle_id)
            return list(session.exec(query.order_by(col(EventRecord.seq))))

    def latest_events(self, cycle_id: int, limit: int) -> list[EventRecord]:
        """The cycle's `limit` newest events, newest first; raises CycleNotFound."""
        with self.db.read_session() as session:
            self._read_cycle(session, cycle_id)
            query = select(EventRecord).where(EventRecord.cycle_id == cycle_id)
            return list(session.exec(query.order_by(col(EventRecord.seq).desc()).limit(limit)))

    # -- the one list of cycles ---------------------------------------------------------

    def list_cycles(
        self,
        filters: CycleFilter | None = None,
        *,
        limit: int = 100,
        offset: int = 0,
        order: CycleOrder = "id",
    ) -> list[CycleRecord]:
        """One page of the cycles `filters` keep; raises InvalidInput for a bad page."""
        return [
            row.cycle for row in self.list_rows(filters, limit=limit, offset=offset, order=order)
        ]

    def list_rows(
        self,
        filters: CycleFilter | None = None,
        *,
        limit: int = 100,
        offset: int = 0,
        order: CycleOrder = "id",
    ) -> list[ListedCycle]:
        """One page of the list, each cycle with its open stage visit, whether it is overdue
        and why it is stalled; raises InvalidInput for a bad page."""
        if limit < 1 or limit > 1000:
            raise InvalidInput("limit", f"must be between 1 and 1000, got {limit}")
        if offset < 0:
            raise InvalidInput("offset", f"must be 0 or more, got {offset}")
        query = listing.cycles_query(filters or CycleFilter(), self.clock.now(), order)
        with self.db.read_session() as session:
            rows = list(session.exec(query.offset(offset).limit(limit)))
            return listing.listed(session, rows, self._stage_titles(session, rows))

    def count_cycles(self, filters: CycleFilter | None = None) -> int:
        """How many cycles `filters` keep."""
        query = listing.count_query(filters or CycleFilter(), self.clock.now())
        with self.db.read_session() as session:
            return int(session.exec(query).one())

    def _stage_titles(
        self, session: Session, rows: Sequence[tuple[CycleRecord, object, object]]
    ) -> dict[tuple[int, str], str]:
        titles: dict[tuple[int, str], str] = {}
        for template_id in {cycle.template_id for cycle, *_ in rows}:
            for stage in self.templates.spec(session, template_id).stages:
                titles[(template_id, stage.key)] = stage.title
        return titles

    def alliance_figures(self, alliance_id: int) -> AllianceFigures:
        """How many of the alliance's cycles are active, finished, overdue and stalled, from
        its counters (O(alliances), not O(cycles)); for a caller who sees the whole alliance."""
        with self.db.read_session() as session:
            return alliance_figures(session, alliance_id, self.clock.now())

    def alliance_on_time(self, alliance_id: int, since: datetime) -> OnTimeRecord:
        """Stage visits with a deadline the alliance closed from `since`'s UTC day on, and how
        many by their deadline, from its counters (O(days)); for a caller who sees the whole
        alliance. `on_time` counts the same visits one by one, from the instant `since`."""
        with self.db.read_session() as session:
            return alliance_on_time(session, alliance_id, since)

    def on_time(
        self, since: datetime, *, alliance_id: int | None = None, reach: Reach | None = None
    ) -> OnTimeRecord:
        """Stage visits with a deadline closed since `since`, and how many closed by it."""
        with self.db.read_session() as session:
            closed, on_time = session.exec(listing.on_time_query(since, alliance_id, reach)).one()
        return OnTimeRecord(closed=int(closed or 0), on_time=int(on_time or 0))

    def organisation_steps(self, organisation_id: int, *, limit: int = 200) -> OrganisationSteps:
        """The stages an organisation carries now (soonest deadline first) and later."""
        with self.db.read_session() as session:
            return organisation_steps(
                session, self.templates, organisation_id, self.clock.now(), limit
            )

    def schema_status(self) -> SchemaStatus:
        """Whether the database is ready for this engine: "current", "behind" or "empty".

        Raises SchemaTooNew for a newer schema, and the driver's error when unreachable.
        """
        return schema_status(self.db)

    def check_writable(self) -> None:
        """Raise the driver's error unless the database takes a write now (for `/readyz`)."""
        check_writable(self.db)
