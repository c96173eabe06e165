"""The steps an organisation carries: the open ones and those still to come.

Open steps are the current stages of active cycles that the organisation leads or takes active
part in, soonest deadline first, each with its overdue and stall state from the one list of
cycles (`cycles.listing`). Coming steps are later work stages of active cycles that it will
lead or take active part in, in the template's order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from cycle_engine.alliances.reach import ACTING_LEVELS
from cycle_engine.cycles.listing import CycleFilter, ListedCycle, cycles_query, listed
from cycle_engine.store.tables import ACTIVE, CycleRecord
from cycle_engine.store.tables.alliances import ParticipationRecord
from cycle_engine.store.templates import TemplateStore


@dataclass(frozen=True, kw_only=True)
class OpenStep:
    """A current stage the organisation carries, and how (lead or active)."""

    row: ListedCycle
    level: str


@dataclass(frozen=True, kw_only=True)
class ComingStep:
    """A later work stage of a cycle that the organisation will carry."""

    cycle: CycleRecord
    stage: str
    stage_title: str
    level: str


@dataclass(frozen=True, kw_only=True)
class OrganisationSteps:
    open: list[OpenStep]
    coming: list[ComingStep]


def _titles(
    session: Session, store: TemplateStore, cycles: list[CycleRecord]
) -> dict[tuple[int, str], str]:
    titles: dict[tuple[int, str], str] = {}
    for template_id in {c.template_id for c in cycles}:
        for stage in store.spec(session, template_id).stages:
            titles[(template_id, stage.key)] = stage.title
    return titles


def organisation_steps(
    session: Session, store: TemplateStore, organisation_id: int, now: datetime, limit: int
) -> OrganisationSteps:
    """The organisation's open steps (soonest deadline first) and coming ones (at most `limit`)."""
    acting = sorted(ACTING_LEVELS)
    carried = (
        cycles_query(CycleFilter(status=ACTIVE), now, order="due")
        .add_columns(ParticipationRecord.level)
        .join(
            ParticipationRecord,
            (col(ParticipationRecord.cycle_id) == CycleRecord.id)
            & (col(ParticipationRecord.stage) == CycleRecord.state),
        )
        .where(
            ParticipationRecord.organisation_id == organisation_id,
            col(ParticipationRecord.level).in_(acting),
        )
        .limit(limit)
    )
    found = list(session.exec(carried))
    later = list(
        session.exec(
            select(CycleRecord, ParticipationRecord)
            .join(ParticipationRecord, col(ParticipationRecord.cycle_id) == CycleRecord.id)
            .where(
                ParticipationRecord.organisation_id == organisation_id,
                col(ParticipationRecord.level).in_(acting),
                CycleRecord.status == ACTIVE,
                col(ParticipationRecord.stage) != CycleRecord.state,
            )
            .order_by(col(CycleRecord.id))
            .limit(limit)
        )
    )
    titles = _titles(session, store, [row[0] for row in found] + [c for c, _ in later])
    rows = listed(session, [(c, v, o) for c, v, o, _ in found], titles)
    open_steps = [
        OpenStep(row=row, level=level) for row, (*_, level) in zip(rows, found, strict=True)
    ]
    coming: list[ComingStep] = []
    for cycle, part in later:
        keys = [s.key for s in store.spec(session, cycle.template_id).work_stages]
        current = cycle.resume_state or cycle.state
        if part.stage in keys and current in keys and keys.index(part.stage) > keys.index(current):
            coming.append(
                ComingStep(
                    cycle=cycle,
                    stage=part.stage,
                    stage_title=titles.get((cycle.template_id, part.stage), part.stage),
                    level=part.level,
                )
            )
    return OrganisationSteps(open=open_steps, coming=coming)
