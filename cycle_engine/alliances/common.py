"""What every alliance-domain helper shares: loading rows with clear errors, checking input,
and recording a change on a cycle (one event + the listeners) inside the caller's transaction.

`CycleOp` bundles the open session, the locked cycle, its template and the actor of one
command, so helpers stay small and never commit ("services commit, helpers don't").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, select

from cycle_engine.actors import Actor
from cycle_engine.changes import Change, Changes
from cycle_engine.errors import (
    ActionNotAllowed,
    AllianceNotFound,
    InputConflict,
    InvalidInput,
    OrganisationNotFound,
    PersonNotFound,
)
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.events import append_event
from cycle_engine.store.tables import FINISHED, CycleRecord, EventRecord, StageRecord
from cycle_engine.store.tables.alliances import (
    AllianceRecord,
    MembershipRecord,
    OrganisationRecord,
    PersonRecord,
)

#: Roles that may organise a cycle (assign roles, move dates).
ORGANISERS = frozenset({"coordinator", "admin", "system"})


@dataclass(frozen=True, kw_only=True)
class CycleOp:
    """One command on one cycle: the open session, the locked cycle and who acts when."""

    session: Session
    cycle: CycleRecord
    spec: TemplateSpec
    actor: Actor
    now: datetime
    changes: Changes

    @property
    def cycle_id(self) -> int:
        assert self.cycle.id is not None
        return self.cycle.id

    def emit(
        self,
        kind: str,
        data: dict[str, Any],
        *,
        note: str | None = None,
        entered: StageRecord | None = None,
    ) -> EventRecord:
        """Append one event to the cycle's history and hand the change to every listener."""
        event = append_event(
            self.session,
            self.cycle,
            kind=kind,
            actor=self.actor,
            now=self.now,
            note=note,
            data=data,
        )
        self.session.flush()
        change = Change(
            session=self.session,
            cycle=self.cycle,
            spec=self.spec,
            event=event,
            actor=self.actor,
            now=self.now,
            entered=entered,
        )
        self.changes.record(change)
        return event

    def alliance(self) -> AllianceRecord:
        """The cycle's alliance; raises ActionNotAllowed for a cycle outside any alliance."""
        if self.cycle.alliance_id is None:
            raise ActionNotAllowed(
                "use partners on this cycle",
                f"cycle {self.cycle_id} belongs to no alliance (start it with an alliance)",
            )
        return get_alliance(self.session, self.cycle.alliance_id)

    def require_active(self, action: str) -> None:
        if self.cycle.status == FINISHED:
            raise ActionNotAllowed(
                action, f"cycle {self.cycle_id} is finished (stage {self.cycle.state!r})"
            )


def require_text(field: str, value: str | None, *, max_length: int = 300) -> str:
    """`value` stripped; raises InvalidInput when empty or too long."""
    if value is None or not value.strip():
        raise InvalidInput(field, "must not be empty")
    value = value.strip()
    if len(value) > max_length:
        raise InvalidInput(field, f"must be at most {max_length} characters, got {len(value)}")
    return value


def require_choice(field: str, value: str, choices: Sequence[str]) -> str:
    if value not in choices:
        raise InvalidInput(field, f"must be one of {', '.join(choices)}; got {value!r}")
    return value


def require_timezone(field: str, name: str) -> ZoneInfo:
    """The zone named `name`; raises InvalidInput for a name zoneinfo does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            field, f"unknown time zone {name!r} (use an IANA name like America/Guatemala)"
        ) from None


def require_organiser(actor: Actor, action: str) -> None:
    """Only coordinators (and admins or the system) organise cycles."""
    if actor.role not in ORGANISERS:
        raise ActionNotAllowed(
            action, f"only a coordinator (or an admin) may do this (you: {actor.role})"
        )


def get_alliance(session: Session, alliance_id: int) -> AllianceRecord:
    alliance = session.get(AllianceRecord, alliance_id)
    if alliance is None:
        raise AllianceNotFound(alliance_id)
    return alliance


def get_organisation(session: Session, organisation_id: int) -> OrganisationRecord:
    organisation = session.get(OrganisationRecord, organisation_id)
    if organisation is None:
        raise OrganisationNotFound(organisation_id)
    return organisation


def get_person(session: Session, person_id: int) -> PersonRecord:
    person = session.get(PersonRecord, person_id)
    if person is None:
        raise PersonNotFound(person_id)
    return person


def membership(session: Session, alliance_id: int, organisation_id: int) -> MembershipRecord | None:
    return session.exec(
        select(MembershipRecord).where(
            MembershipRecord.alliance_id == alliance_id,
            MembershipRecord.organisation_id == organisation_id,
        )
    ).first()


def member_organisation(
    session: Session, alliance: AllianceRecord, organisation_id: int, field: str
) -> OrganisationRecord:
    """The organisation, checked to be a member of `alliance`; raises a clear error otherwise."""
    organisation = get_organisation(session, organisation_id)
    assert alliance.id is not None
    if membership(session, alliance.id, organisation_id) is None:
        raise InputConflict(
            field,
            f"organisation {organisation.name!r} (id {organisation_id}) is not a member of "
            f"alliance {alliance.name!r}",
        )
    return organisation


def work_stage_keys(spec: TemplateSpec) -> list[str]:
    return [stage.key for stage in spec.work_stages]


def require_work_stage(spec: TemplateSpec, stage: str, field: str = "stage") -> str:
    keys = work_stage_keys(spec)
    if stage not in keys:  # a stage of another template, or none: a conflict with this cycle's
        raise InputConflict(
            field, f"template {spec.key!r} has no work stage {stage!r} (stages: {', '.join(keys)})"
        )
    return stage


def active_stage(cycle: CycleRecord) -> str | None:
    """The work stage the cycle is in (the paused-at stage while on hold); None when finished."""
    if cycle.status == FINISHED:
        return None
    return cycle.resume_state or cycle.state
