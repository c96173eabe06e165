"""The checks every `AllianceLearning` command runs, in its own transaction (`alliances.reach`).

Cycles are read as everywhere (a partner reads the cycles its organisation takes part in);
the alliance's agenda, records and report are read by every member. A partner may propose its
own organisation's level on any cycle of an alliance it sits in, even before it has a role
there. Acting stays as everywhere: partners on the stages they carry or for their own
organisation, coordinators of the alliance organise, managers read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlmodel import Session

from cycle_engine.actors import Actor
from cycle_engine.alliances.common import CycleOp, get_alliance
from cycle_engine.alliances.reach import (
    Reach,
    check_cycle_command,
    check_named,
    credit_refusal,
    role_refusal,
    sees_alliance,
    sees_cycle,
)
from cycle_engine.changes import Changes
from cycle_engine.clock import Clock
from cycle_engine.errors import (
    ActionNotAllowed,
    AllianceNotFound,
    ConflictError,
    CycleNotFound,
    NotPermitted,
)
from cycle_engine.store.db import Database
from cycle_engine.store.events import lock_cycle
from cycle_engine.store.tables import CycleRecord
from cycle_engine.store.templates import TemplateStore


class LearningChecks:
    """Opens the transactions of `AllianceLearning` after the checks that guard them."""

    def __init__(
        self, *, db: Database, clock: Clock, templates: TemplateStore, changes: Changes
    ) -> None:
        self.db = db
        self.clock = clock
        self.templates = templates
        self.changes = changes

    @staticmethod
    def sees(
        session: Session, reach: Reach | None, cycle: CycleRecord, credited: int | None = None
    ) -> bool:
        """The cycle is in reach; or, for work a partner does for its own organisation
        (`credited`), the cycle belongs to an alliance that organisation sits in (choosing its
        level on a cycle it has no role in yet)."""
        if reach is None or sees_cycle(session, reach, cycle):
            return True
        own = credited is not None and credited == reach.organisation_id
        return (
            own
            and cycle.alliance_id is not None
            and sees_alliance(session, reach, cycle.alliance_id)
        )

    @contextmanager
    def cycle_op(
        self,
        cycle_id: int,
        actor: Actor,
        action: str,
        *,
        reach: Reach | None,
        expected_version: int | None = None,
        on_stage: bool = False,
        organisers_only: bool = False,
        credited: int | None = None,
    ) -> Iterator[CycleOp]:
        """One write transaction on one locked cycle of an alliance the caller sits in.

        `on_stage`: the caller must also act on the current stage (lead or active, or manage the
        alliance); `credited`: the organisation the work is done for (partners: their own).
        Raises CycleNotFound, ConflictError, ActionNotAllowed, NotPermitted.
        """
        with self.db.transaction() as session:
            cycle = lock_cycle(session, cycle_id)
            if not self.sees(session, reach, cycle, credited):
                raise CycleNotFound(cycle_id)
            if expected_version is not None and expected_version != cycle.version:
                raise ConflictError(cycle_id, expected_version, cycle.version)
            if on_stage and reach is not None:
                refusal = check_cycle_command(
                    session, cycle, reach=reach, expected_version=None, action=action
                )
                if refusal is not None:
                    raise ActionNotAllowed(action, refusal)
            if credited is not None:
                check_named(session, reach, cycle, organisation_ids=[credited])
            role = role_refusal(actor, organisers_only=organisers_only)
            if role is None and credited is not None:
                role = credit_refusal(reach, cycle, credited)
            if role is not None:
                raise NotPermitted(action, role)
            yield CycleOp(
                session=session,
                cycle=cycle,
                spec=self.templates.spec(session, cycle.template_id),
                actor=actor,
                now=self.clock.now(),
                changes=self.changes,
            )

    def read_cycle(self, session: Session, cycle_id: int, reach: Reach | None) -> CycleRecord:
        cycle = session.get(CycleRecord, cycle_id)
        if cycle is None or not self.sees(session, reach, cycle):
            raise CycleNotFound(cycle_id)
        return cycle

    @staticmethod
    def require_alliance(session: Session, reach: Reach | None, alliance_id: int) -> None:
        if reach is not None and not sees_alliance(session, reach, alliance_id):
            raise AllianceNotFound(alliance_id)
        get_alliance(session, alliance_id)  # admins reach every alliance, not missing ones

    @contextmanager
    def alliance_write(
        self,
        alliance_id: int,
        actor: Actor,
        action: str,
        *,
        reach: Reach | None,
        organisers_only: bool = False,
        credited: int | None = None,
    ) -> Iterator[Session]:
        """One write transaction on an alliance's records; partners record for their own
        organisation only, organiser-only commands need the alliance's coordinator."""
        with self.db.transaction() as session:
            self.require_alliance(session, reach, alliance_id)
            role = role_refusal(actor, organisers_only=organisers_only)
            manages = reach is None or reach.manages(alliance_id)
            if role is None and organisers_only and not manages:
                role = "only the alliance's coordinator may do this"
            own = reach is None or (credited is not None and credited == reach.organisation_id)
            if role is None and not manages and not own:
                role = "a partner records work of its own organisation only"
            if role is not None:
                raise NotPermitted(action, role)
            yield session
