"""Adoption and outcome records: what happened with the alliance's learning beyond its cycles.

An adoption records that an organisation used or adapted a product of a cycle (a prototype or
an adapted version: a tool, method or approach) in a place, on a date, with a short description.
From these rows the learning report counts how widely each tool spread: partner agencies, local
organisations and countries. An outcome records a change in an organisation's practice, a
development intervention, a policy dialogue or a research need, linked to the cycles (and
learning entries) behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from cycle_engine.alliances.common import (
    get_alliance,
    member_organisation,
    require_choice,
    require_text,
)
from cycle_engine.errors import InputConflict, InvalidInput, RecordNotFound
from cycle_engine.store.tables import CycleRecord
from cycle_engine.store.tables.alliances import LearningRecord, ProductRecord
from cycle_engine.store.tables.learning import (
    ADOPTION_USES,
    OUTCOME_KINDS,
    AdoptionRecord,
    OutcomeRecord,
    OutcomeSourceRecord,
)

#: Products that are tools, methods or approaches others can use or adapt.
ADOPTABLE_KINDS = ("prototype", "adapted_version")
OUTCOME_KIND_TITLES = {
    "practice_change": "Changes in an organisation's practice",
    "development_intervention": "Development interventions",
    "policy_dialogue": "Policy dialogue",
    "research_need": "Research needs",
}


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """An outcome and the cycles (and learning entries) it came from."""

    record: OutcomeRecord
    cycle_ids: tuple[int, ...]
    learning_ids: tuple[int, ...]


def record_adoption(
    session: Session,
    *,
    alliance_id: int,
    product_id: int,
    organisation_id: int,
    use: str,
    country: str,
    place: str,
    adopted_on: date,
    description: str,
    recorded_by: str,
    now: datetime,
) -> AdoptionRecord:
    """Record that a member organisation used or adapted a product of one of the alliance's
    cycles. Raises InvalidInput (bad use, empty text, a date in the future, a product that is
    no tool, method or approach, a non-member), RecordNotFound (no such product here)."""
    alliance = get_alliance(session, alliance_id)
    require_choice("use", use, ADOPTION_USES)
    country = require_text("country", country, max_length=100)
    place = require_text("place", place, max_length=200)
    description = require_text("description", description, max_length=4000)
    if adopted_on > now.date():
        raise InputConflict("adopted_on", f"{adopted_on.isoformat()} is in the future")
    product = session.get(ProductRecord, product_id)
    cycle = None if product is None else session.get(CycleRecord, product.cycle_id)
    if product is None or cycle is None or cycle.alliance_id != alliance_id:
        raise RecordNotFound("product", f"{product_id} of alliance {alliance_id}")
    if product.kind not in ADOPTABLE_KINDS:
        raise InputConflict(
            "product_id",
            f"product {product_id} is a {product.kind}; organisations use or adapt "
            f"{' or '.join(ADOPTABLE_KINDS)} products (tools, methods, approaches)",
        )
    member_organisation(session, alliance, organisation_id, "organisation_id")
    record = AdoptionRecord(
        alliance_id=alliance_id,
        product_id=product_id,
        organisation_id=organisation_id,
        use=use,
        country=country,
        place=place,
        adopted_on=adopted_on,
        description=description,
        recorded_at=now,
        recorded_by=recorded_by,
    )
    session.add(record)
    session.flush()
    return record


def adoptions_of(session: Session, alliance_id: int) -> list[AdoptionRecord]:
    return list(
        session.exec(
            select(AdoptionRecord)
            .where(AdoptionRecord.alliance_id == alliance_id)
            .order_by(col(AdoptionRecord.adopted_on), col(AdoptionRecord.id))
        )
    )


def record_outcome(
    session: Session,
    *,
    alliance_id: int,
    kind: str,
    title: str,
    description: str,
    observed_on: date,
    cycle_ids: Sequence[int],
    learning_ids: Sequence[int] = (),
    organisation_id: int | None = None,
    recorded_by: str,
    now: datetime,
) -> Outcome:
    """Record an outcome linked to at least one of the alliance's cycles, and optionally to
    learning entries of those cycles. Raises InvalidInput, RecordNotFound."""
    alliance = get_alliance(session, alliance_id)
    require_choice("kind", kind, OUTCOME_KINDS)
    title = require_text("title", title)
    description = require_text("description", description, max_length=10000)
    if observed_on > now.date():
        raise InputConflict("observed_on", f"{observed_on.isoformat()} is in the future")
    if not cycle_ids:
        raise InvalidInput("cycle_ids", "link the outcome to at least one cycle behind it")
    cycles = list(dict.fromkeys(cycle_ids))
    for cycle_id in cycles:
        cycle = session.get(CycleRecord, cycle_id)
        if cycle is None or cycle.alliance_id != alliance_id:
            raise RecordNotFound("cycle", f"{cycle_id} of alliance {alliance_id}")
    learnings = list(dict.fromkeys(learning_ids))
    learning_cycle: dict[int, int] = {}
    for learning_id in learnings:
        entry = session.get(LearningRecord, learning_id)
        if entry is None or entry.cycle_id not in cycles:
            raise RecordNotFound("learning entry", f"{learning_id} of cycles {cycles}")
        learning_cycle[learning_id] = entry.cycle_id
    if organisation_id is not None:
        member_organisation(session, alliance, organisation_id, "organisation_id")
    record = OutcomeRecord(
        alliance_id=alliance_id,
        kind=kind,
        title=title,
        description=description,
        organisation_id=organisation_id,
        observed_on=observed_on,
        recorded_at=now,
        recorded_by=recorded_by,
    )
    session.add(record)
    session.flush()
    assert record.id is not None
    linked = set(learning_cycle.values())
    for learning_id, cycle_id in learning_cycle.items():
        session.add(
            OutcomeSourceRecord(outcome_id=record.id, cycle_id=cycle_id, learning_id=learning_id)
        )
    for cycle_id in cycles:
        if cycle_id not in linked:
            session.add(OutcomeSourceRecord(outcome_id=record.id, cycle_id=cycle_id))
    session.flush()
    return Outcome(record=record, cycle_ids=tuple(cycles), learning_ids=tuple(learnings))


def outcomes_of(session: Session, alliance_id: int) -> list[Outcome]:
    records = session.exec(
        select(OutcomeRecord)
        .where(OutcomeRecord.alliance_id == alliance_id)
        .order_by(col(OutcomeRecord.observed_on), col(OutcomeRecord.id))
    ).all()
    ids = [r.id for r in records]
    sources = session.exec(
        select(OutcomeSourceRecord)
        .where(col(OutcomeSourceRecord.outcome_id).in_(ids))
        .order_by(col(OutcomeSourceRecord.id))
    ).all()
    result: list[Outcome] = []
    for record in records:
        mine = [s for s in sources if s.outcome_id == record.id]
        result.append(
            Outcome(
                record=record,
                cycle_ids=tuple(sorted({s.cycle_id for s in mine})),
                learning_ids=tuple(s.learning_id for s in mine if s.learning_id is not None),
            )
        )
    return result
