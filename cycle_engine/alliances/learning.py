"""The learning log: what partners learnt, typed by the kinds of learning the method documents
(organisational learning practices, development interventions, specific knowledge and capacity
development), linked to a cycle and to the organisations that learnt it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from cycle_engine.alliances.common import (
    CycleOp,
    active_stage,
    member_organisation,
    require_choice,
    require_text,
)
from cycle_engine.errors import InvalidInput
from cycle_engine.store.tables.alliances import (
    LearningOrganisationRecord,
    LearningRecord,
    OrganisationRecord,
)

LEARNING_KINDS = ("organisational_learning", "development_interventions", "knowledge_capacity")
LEARNING_KIND_TITLES = {
    "organisational_learning": "Organisational learning practices",
    "development_interventions": "Development interventions",
    "knowledge_capacity": "Specific knowledge and capacity development",
}


@dataclass(frozen=True, kw_only=True)
class LearningEntry:
    """A learning log entry with the organisations it is linked to."""

    record: LearningRecord
    organisations: tuple[OrganisationRecord, ...]


def add_learning(
    op: CycleOp, *, kind: str, title: str, text: str, organisation_ids: Sequence[int]
) -> LearningEntry:
    """Log a learning linked to at least one member organisation of the cycle's alliance."""
    require_choice("kind", kind, LEARNING_KINDS)
    title = require_text("title", title)
    text = require_text("text", text, max_length=20000)
    if not organisation_ids:
        raise InvalidInput("organisation_ids", "link the learning to at least one organisation")
    alliance = op.alliance()
    organisations = tuple(
        member_organisation(op.session, alliance, org_id, "organisation_ids")
        for org_id in dict.fromkeys(organisation_ids)
    )
    record = LearningRecord(
        cycle_id=op.cycle_id,
        stage=active_stage(op.cycle) or op.cycle.state,
        kind=kind,
        title=title,
        text=text,
        created_at=op.now,
        created_by=op.actor.name,
    )
    op.session.add(record)
    op.session.flush()
    assert record.id is not None
    for organisation in organisations:
        assert organisation.id is not None
        op.session.add(
            LearningOrganisationRecord(learning_id=record.id, organisation_id=organisation.id)
        )
    op.session.flush()
    op.emit(
        "learning_added",
        {
            "learning_id": record.id,
            "kind": kind,
            "title": title,
            "organisation_ids": [o.id for o in organisations],
        },
    )
    return LearningEntry(record=record, organisations=organisations)


def learning_of(session: Session, cycle_id: int) -> list[LearningEntry]:
    records = session.exec(
        select(LearningRecord)
        .where(LearningRecord.cycle_id == cycle_id)
        .order_by(col(LearningRecord.id))
    ).all()
    entries: list[LearningEntry] = []
    for record in records:
        organisations = session.exec(
            select(OrganisationRecord)
            .join(
                LearningOrganisationRecord,
                col(LearningOrganisationRecord.organisation_id) == OrganisationRecord.id,
            )
            .where(LearningOrganisationRecord.learning_id == record.id)
            .order_by(col(OrganisationRecord.name))
        ).all()
        entries.append(LearningEntry(record=record, organisations=tuple(organisations)))
    return entries
