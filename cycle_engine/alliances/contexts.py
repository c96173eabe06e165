"""Multi-context testing: the distinct contexts (country, community or site, partner) where
prototypes are tested, and the results each reports.

Results belong to a testing round: the visit of the testing stage in which they were reported.
When weak results send a cycle back to prototype, the next round needs fresh reports, so the
`contexts_reported` guard counts reports of the current round only; earlier rounds stay in the
record (and the report).

A pause is not a round: a visit entered by resuming from a hold stage continues the round of
the visit before the pause (`round_visits`), so reports from before the pause still count and
the report numbers rounds, not visits (issue 19 item 8).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from cycle_engine.alliances.common import (
    CycleOp,
    member_organisation,
    require_choice,
    require_text,
)
from cycle_engine.errors import ActionNotAllowed, RecordNotFound
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.tables import CycleRecord, StageRecord
from cycle_engine.store.tables.alliances import ContextRecord, ContextResultRecord

CONTEXT_STATUSES = ("planned", "testing", "reported", "withdrawn")
RATINGS = ("strong", "mixed", "weak")


@dataclass(frozen=True, kw_only=True)
class ContextRound:
    """The testing stage a cycle is in, which visit of it, and the round that visit belongs to:
    `first_visit` opened the round (later visits up to `visit` were resumes after a pause)."""

    stage: str
    visit: int
    first_visit: int = 1
    number: int = 1


def testing_stages(spec: TemplateSpec) -> set[str]:
    """Stages left through a transition that requires `contexts_reported`."""
    return {
        source
        for transition in spec.transitions
        if any(guard.name == "contexts_reported" for guard in transition.guards)
        for source in transition.sources
    }


def round_numbers(
    visits: Sequence[tuple[str, int]], spec: TemplateSpec
) -> dict[tuple[str, int], tuple[int, int]]:
    """For each (stage, visit), in the order the cycle made them: (round number, visit that
    opened the round). A visit that follows a hold stage (a resume) continues its round."""
    holds = {s.key for s in spec.stages if s.hold}
    rounds: dict[tuple[str, int], tuple[int, int]] = {}
    count: dict[str, int] = {}
    opened: dict[str, int] = {}
    previous: str | None = None
    for stage, visit in visits:
        if previous not in holds or stage not in opened:
            count[stage] = count.get(stage, 0) + 1
            opened[stage] = visit
        rounds[(stage, visit)] = (count[stage], opened[stage])
        previous = stage
    return rounds


def round_visits(
    session: Session, cycle_id: int, spec: TemplateSpec
) -> dict[tuple[str, int], tuple[int, int]]:
    """`round_numbers` of a cycle's stage visits (one query)."""
    visits = session.exec(
        select(StageRecord.stage, StageRecord.visit)
        .where(StageRecord.cycle_id == cycle_id)
        .order_by(col(StageRecord.id))
    ).all()
    return round_numbers([(stage, visit) for stage, visit in visits], spec)


def current_round(session: Session, cycle: CycleRecord, spec: TemplateSpec) -> ContextRound | None:
    if cycle.current_stage_id is None or cycle.state not in testing_stages(spec):
        return None
    visit = session.get(StageRecord, cycle.current_stage_id)
    if visit is None:
        return None
    number, first = round_visits(session, visit.cycle_id, spec).get(
        (visit.stage, visit.visit), (visit.visit, visit.visit)
    )
    return ContextRound(stage=visit.stage, visit=visit.visit, first_visit=first, number=number)


def add_context(
    op: CycleOp, *, name: str, country: str, community: str, organisation_id: int
) -> ContextRecord:
    """Add a testing context run by a member organisation; names are unique per cycle."""
    op.require_active("add a testing context")
    name = require_text("name", name, max_length=200)
    country = require_text("country", country, max_length=100)
    community = require_text("community", community, max_length=200)
    partner = member_organisation(op.session, op.alliance(), organisation_id, "organisation")
    clash = op.session.exec(
        select(ContextRecord).where(
            ContextRecord.cycle_id == op.cycle_id, ContextRecord.name == name
        )
    ).first()
    if clash is not None:
        raise ActionNotAllowed(f"add context {name!r}", f"cycle {op.cycle_id} already has it")
    context = ContextRecord(
        cycle_id=op.cycle_id,
        name=name,
        country=country,
        community=community,
        organisation_id=organisation_id,
        status="planned",
        created_at=op.now,
    )
    op.session.add(context)
    op.session.flush()
    op.emit(
        "context_added",
        {
            "context_id": context.id,
            "name": name,
            "country": country,
            "community": community,
            "organisation_id": organisation_id,
            "organisation": partner.name,
        },
    )
    return context


def get_context(session: Session, cycle_id: int, context_id: int) -> ContextRecord:
    context = session.get(ContextRecord, context_id)
    if context is None or context.cycle_id != cycle_id:
        raise RecordNotFound("context", f"{context_id} of cycle {cycle_id}")
    return context


def report_results(
    op: CycleOp, *, context_id: int, summary: str, rating: str
) -> ContextResultRecord:
    """Record a context's results for the current testing round.

    Raises ActionNotAllowed outside a testing stage or for a withdrawn context.
    """
    op.require_active("report context results")
    context = get_context(op.session, op.cycle_id, context_id)
    summary = require_text("summary", summary, max_length=10000)
    require_choice("rating", rating, RATINGS)
    testing = current_round(op.session, op.cycle, op.spec)
    if testing is None:
        stages = ", ".join(sorted(testing_stages(op.spec))) or "none"
        raise ActionNotAllowed(
            f"report results for {context.name!r}",
            f"cycle {op.cycle_id} is in stage {op.cycle.state!r}; results are reported "
            f"during testing ({stages})",
        )
    if context.status == "withdrawn":
        raise ActionNotAllowed(f"report results for {context.name!r}", "the context was withdrawn")
    result = ContextResultRecord(
        context_id=context_id,
        cycle_id=op.cycle_id,
        stage=testing.stage,
        visit=testing.visit,
        rating=rating,
        summary=summary,
        reported_at=op.now,
        reported_by=op.actor.name,
    )
    context.status = "reported"
    op.session.add(context)
    op.session.add(result)
    op.session.flush()
    op.emit(
        "context_reported",
        {
            "context_id": context_id,
            "name": context.name,
            "rating": rating,
            "round": testing.number,
        },
    )
    return result


def set_status(op: CycleOp, *, context_id: int, status: str) -> ContextRecord:
    """Mark a context as planned, testing or withdrawn (reporting results sets `reported`).

    Recorded as a `context_updated` event (a kind beside the contract's, for status changes).
    """
    op.require_active("change a context's status")
    require_choice("status", status, ("planned", "testing", "withdrawn"))
    context = get_context(op.session, op.cycle_id, context_id)
    previous = context.status
    context.status = status
    op.session.add(context)
    op.emit(
        "context_updated",
        {
            "context_id": context_id,
            "name": context.name,
            "status": status,
            "previous": previous,
        },
    )
    return context


def contexts_of(session: Session, cycle_id: int) -> list[ContextRecord]:
    return list(
        session.exec(
            select(ContextRecord)
            .where(ContextRecord.cycle_id == cycle_id)
            .order_by(col(ContextRecord.id))
        )
    )


def results_of(session: Session, cycle_id: int) -> list[ContextResultRecord]:
    return list(
        session.exec(
            select(ContextResultRecord)
            .where(ContextResultRecord.cycle_id == cycle_id)
            .order_by(col(ContextResultRecord.id))
        )
    )


def reported_in_round(session: Session, cycle_id: int, testing: ContextRound) -> list[str]:
    """Names of contexts that reported in the given testing round."""
    rows = session.exec(
        select(ContextRecord.name)
        .join(ContextResultRecord, col(ContextResultRecord.context_id) == ContextRecord.id)
        .where(
            ContextResultRecord.cycle_id == cycle_id,
            ContextResultRecord.stage == testing.stage,
            col(ContextResultRecord.visit) >= testing.first_visit,
            col(ContextResultRecord.visit) <= testing.visit,
        )
        .distinct()
    ).all()
    return sorted(rows)
