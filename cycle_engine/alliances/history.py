"""Writing and reading an alliance's own history (`alliance_events`).

Corrections, role grants, keys and imports change an alliance's records outside any cycle; each
writes one line here, in its own transaction, naming who changed what and how (`{"field":
[old, new]}`), so a coordinator can see who corrected a person's address or an agency link.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from cycle_engine.actors import Actor
from cycle_engine.store.tables.alliances import MembershipRecord
from cycle_engine.store.tables.history import ALLIANCE_EVENT_KINDS, AllianceEventRecord


def record(
    session: Session,
    alliance_id: int,
    *,
    kind: str,
    subject: str,
    data: dict[str, Any],
    actor: Actor,
    now: datetime,
) -> AllianceEventRecord:
    """Append one line to the alliance's history (in the caller's transaction)."""
    assert kind in ALLIANCE_EVENT_KINDS, kind
    line = AllianceEventRecord(
        alliance_id=alliance_id, at=now, actor=actor.name, kind=kind, subject=subject, data=data
    )
    session.add(line)
    return line


def record_for_organisation(
    session: Session,
    organisation_id: int,
    *,
    kind: str,
    subject: str,
    data: dict[str, Any],
    actor: Actor,
    now: datetime,
) -> None:
    """One line in the history of every alliance the organisation sits in."""
    for alliance_id in alliances_of(session, organisation_id):
        record(session, alliance_id, kind=kind, subject=subject, data=data, actor=actor, now=now)


def alliances_of(session: Session, organisation_id: int) -> list[int]:
    query = select(MembershipRecord.alliance_id).where(
        MembershipRecord.organisation_id == organisation_id
    )
    return sorted(set(session.exec(query)))


def history(session: Session, alliance_id: int) -> list[AllianceEventRecord]:
    """The alliance's history, oldest first."""
    return list(
        session.exec(
            select(AllianceEventRecord)
            .where(AllianceEventRecord.alliance_id == alliance_id)
            .order_by(col(AllianceEventRecord.id))
        )
    )


def changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """`{"field": [old, new]}` for every field whose value differs (dates as ISO text)."""
    out: dict[str, list[Any]] = {}
    for name, new in after.items():
        old = before.get(name)
        if old != new:
            out[name] = [_plain(old), _plain(new)]
    return out


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value
