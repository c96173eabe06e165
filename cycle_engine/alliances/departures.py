"""An organisation leaves an alliance (turnover of partners, the method's named risk).

Recorded with a date and a reason. Its open roles are flagged the way a departing focal point's
are (`people.record_departure`): on every active cycle of the alliance, each stage still ahead
(or current) where the organisation takes part is marked as needing a new focal point, and the
cycle records an `organisation_left` event naming the stages. Finished stages keep the
organisation as their participant of record. The seat itself stays (archiving an organisation
is a correction, kept elsewhere); `organisation_turnover` counts departures per period.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from cycle_engine.actors import Actor
from cycle_engine.alliances.alliances import members
from cycle_engine.alliances.common import (
    CycleOp,
    get_alliance,
    member_organisation,
    membership,
    require_text,
)
from cycle_engine.alliances.participation import finished_stages
from cycle_engine.changes import Changes
from cycle_engine.errors import ActionNotAllowed, InputConflict, InvalidInput
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.events import lock_cycle
from cycle_engine.store.tables import ACTIVE, CycleRecord
from cycle_engine.store.tables.alliances import ParticipationRecord
from cycle_engine.store.tables.learning import OrganisationDepartureRecord


@dataclass(frozen=True, kw_only=True)
class DepartedOrganisation:
    """An organisation that left, when and why."""

    name: str
    left_on: date
    reason: str


@dataclass(frozen=True, kw_only=True)
class OrganisationsTurnover:
    """Organisations of an alliance in a period and how many of them left."""

    members: int
    left: int
    rate: float
    left_organisations: tuple[DepartedOrganisation, ...]


def record_organisation_left(
    session: Session,
    *,
    alliance_id: int,
    organisation_id: int,
    left_on: date,
    reason: str,
    actor: Actor,
    now: datetime,
    changes: Changes,
    spec_of: Callable[[CycleRecord], TemplateSpec],
) -> dict[int, list[str]]:
    """Record that an organisation left the alliance and flag its open roles.

    Returns {cycle_id: [flagged stages]}. Raises InvalidInput (empty reason, not a member, a
    date before it joined), ActionNotAllowed (it already left).
    """
    reason = require_text("reason", reason, max_length=4000)
    alliance = get_alliance(session, alliance_id)
    organisation = member_organisation(session, alliance, organisation_id, "organisation")
    seat = membership(session, alliance_id, organisation_id)
    assert seat is not None
    if left_on < seat.joined_on:
        raise InputConflict(
            "left_on",
            f"{left_on.isoformat()} is before {organisation.name} joined "
            f"({seat.joined_on.isoformat()})",
        )
    if departure_of(session, alliance_id, organisation_id) is not None:
        raise ActionNotAllowed(
            f"record that {organisation.name} left {alliance.name}",
            "its departure is already recorded",
        )
    session.add(
        OrganisationDepartureRecord(
            alliance_id=alliance_id,
            organisation_id=organisation_id,
            left_on=left_on,
            reason=reason,
            recorded_at=now,
            recorded_by=actor.name,
        )
    )
    rows = session.exec(
        select(ParticipationRecord)
        .join(CycleRecord, col(CycleRecord.id) == ParticipationRecord.cycle_id)
        .where(
            ParticipationRecord.organisation_id == organisation_id,
            CycleRecord.alliance_id == alliance_id,
            CycleRecord.status == ACTIVE,
        )
        .order_by(col(ParticipationRecord.cycle_id), col(ParticipationRecord.id))
    ).all()
    by_cycle: dict[int, list[ParticipationRecord]] = {}
    for row in rows:
        by_cycle.setdefault(row.cycle_id, []).append(row)
    flagged: dict[int, list[str]] = {}
    for cycle_id in sorted(by_cycle):
        cycle = lock_cycle(session, cycle_id)
        spec = spec_of(cycle)
        done = finished_stages(spec, cycle)
        stages = []
        for row in by_cycle[cycle_id]:
            if row.stage in done:
                continue
            row.needs_focal_point = True
            row.updated_at = now
            session.add(row)
            stages.append(row.stage)
        if not stages:
            continue
        op = CycleOp(session=session, cycle=cycle, spec=spec, actor=actor, now=now, changes=changes)
        op.emit(
            "organisation_left",
            {
                "organisation_id": organisation_id,
                "organisation": organisation.name,
                "left_on": left_on.isoformat(),
                "stages": sorted(stages),
            },
            note=reason,
        )
        flagged[cycle_id] = sorted(stages)
    session.flush()
    return flagged


def departure_of(
    session: Session, alliance_id: int, organisation_id: int
) -> OrganisationDepartureRecord | None:
    return session.exec(
        select(OrganisationDepartureRecord).where(
            OrganisationDepartureRecord.alliance_id == alliance_id,
            OrganisationDepartureRecord.organisation_id == organisation_id,
        )
    ).first()


def departures_of(session: Session, alliance_id: int) -> list[OrganisationDepartureRecord]:
    return list(
        session.exec(
            select(OrganisationDepartureRecord)
            .where(OrganisationDepartureRecord.alliance_id == alliance_id)
            .order_by(col(OrganisationDepartureRecord.left_on))
        )
    )


def organisation_turnover(
    session: Session, alliance_id: int, *, since: date | None = None, until: date | None = None
) -> OrganisationsTurnover:
    """Member organisations seated in [since, until] and those that left in it."""
    if since is not None and until is not None and until < since:
        raise InvalidInput("until", f"{until} is before {since}")
    get_alliance(session, alliance_id)
    departures = {d.organisation_id: d for d in departures_of(session, alliance_id)}
    seated = [
        m
        for m in members(session, alliance_id)
        if (until is None or m.joined_on <= until)
        and (
            since is None
            or m.organisation.id not in departures
            or departures[m.organisation.id or 0].left_on >= since
        )
    ]
    left: list[DepartedOrganisation] = []
    for member in seated:
        gone = departures.get(member.organisation.id or 0)
        if gone is not None and (until is None or gone.left_on <= until):
            left.append(
                DepartedOrganisation(
                    name=member.organisation.name, left_on=gone.left_on, reason=gone.reason
                )
            )
    return OrganisationsTurnover(
        members=len(seated),
        left=len(left),
        rate=round(len(left) / len(seated), 3) if seated else 0.0,
        left_organisations=tuple(sorted(left, key=lambda d: (d.name, d.left_on))),
    )
