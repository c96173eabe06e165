"""Follow-on cycles: a finished (or running) cycle feeds the next one.

The follow-on cycle carries forward the chosen open questions (same agenda question, linked to
the question it came from; the earlier cycle records them as carried forward when it had not
yet settled them), takes the adapted prototypes as inputs, and proposes the same participants
(level proposals the coordinator confirms). Both cycles link to each other, and the alliance's
cycle map shows which cycle fed which, over time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, or_, select

from cycle_engine.alliances.agenda import (
    OPEN,
    insert_linked_question,
    new_agenda_question,
    question_states,
    set_status,
)
from cycle_engine.alliances.common import CycleOp, work_stage_keys
from cycle_engine.alliances.participation import participation_rows
from cycle_engine.errors import ActionNotAllowed, InputConflict, RecordNotFound
from cycle_engine.store.tables import CycleRecord
from cycle_engine.store.tables.alliances import ProductRecord
from cycle_engine.store.tables.learning import (
    AgendaQuestionRecord,
    CycleInputRecord,
    CycleLinkRecord,
    LevelProposalRecord,
)

#: Products a follow-on cycle takes as inputs by default: the adapted versions (and, when a
#: cycle has none, its prototypes).
INPUT_KINDS = ("adapted_version", "prototype")


@dataclass(frozen=True, kw_only=True)
class FollowOnPlan:
    """What a follow-on cycle takes from its source, checked before anything is written."""

    source_id: int
    alliance_id: int
    question_ids: tuple[int, ...]
    product_ids: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class MapCycle:
    """One cycle on the alliance's map."""

    cycle_id: int
    title: str
    template_key: str
    status: str
    state: str
    started: datetime
    finished: datetime | None


@dataclass(frozen=True, kw_only=True)
class FedLink:
    """One cycle fed another."""

    from_cycle_id: int
    to_cycle_id: int


@dataclass(frozen=True, kw_only=True)
class CycleMap:
    """The alliance's cycles, oldest first, and which fed which."""

    cycles: tuple[MapCycle, ...]
    links: tuple[FedLink, ...]


def plan_follow_on(
    session: Session,
    source: CycleRecord,
    *,
    question_ids: Sequence[int] | None,
    product_ids: Sequence[int] | None,
) -> FollowOnPlan:
    """Check what a follow-on of `source` takes: questions of the source not answered in full
    (None: every such question), products of the source (None: its adapted versions, else its
    prototypes).

    Raises ActionNotAllowed (source in no alliance), RecordNotFound, InputConflict (a question
    already answered).
    """
    assert source.id is not None
    if source.alliance_id is None:
        raise ActionNotAllowed(
            "start a follow-on cycle", f"cycle {source.id} belongs to no alliance"
        )
    states = {s.question.id: s for s in question_states(session, source.id)}
    if question_ids is None:
        chosen = tuple(qid for qid, s in states.items() if qid and s.status != "answered")
    else:
        chosen = tuple(dict.fromkeys(question_ids))
        for qid in chosen:
            state = states.get(qid)
            if state is None:
                raise RecordNotFound("question", f"{qid} of cycle {source.id}")
            if state.status == "answered":
                raise InputConflict(
                    "question_ids",
                    f"question {state.question.position} of cycle {source.id} is answered; "
                    "carry forward open, advanced or carried-forward questions",
                )
    products = {
        p.id: p
        for p in session.exec(select(ProductRecord).where(ProductRecord.cycle_id == source.id))
    }
    if product_ids is None:
        by_kind = [
            [pid for pid, p in products.items() if pid and p.kind == kind] for kind in INPUT_KINDS
        ]
        picked = tuple(next((ids for ids in by_kind if ids), []))
    else:
        picked = tuple(dict.fromkeys(product_ids))
        for pid in picked:
            if pid not in products:
                raise RecordNotFound("product", f"{pid} of cycle {source.id}")
    return FollowOnPlan(
        source_id=source.id,
        alliance_id=source.alliance_id,
        question_ids=chosen,
        product_ids=picked,
    )


def link_follow_on(
    op: CycleOp, source_op: CycleOp, plan: FollowOnPlan, *, note: str | None = None
) -> CycleLinkRecord:
    """Link the new cycle (`op`) to its source (`source_op`, locked too): carry the planned
    questions, take the products as inputs, propose the source's participants. One event on
    each cycle (`follow_on_of`, `followed_by`)."""
    link = CycleLinkRecord(
        from_cycle_id=plan.source_id,
        to_cycle_id=op.cycle_id,
        note=note,
        created_at=op.now,
        created_by=op.actor.name,
    )
    op.session.add(link)
    states = {s.question.id: s for s in question_states(op.session, plan.source_id)}
    carried: list[int] = []
    for qid in plan.question_ids:
        state = states[qid]
        agenda_id = state.agenda_question_id
        agenda = None if agenda_id is None else op.session.get(AgendaQuestionRecord, agenda_id)
        if agenda is None:  # a question from before the agenda: put it on the agenda now
            agenda = new_agenda_question(
                op.session,
                alliance_id=plan.alliance_id,
                text=state.question.text,
                raised_by=state.question.created_by,
                now=op.now,
            )
        question = insert_linked_question(op, agenda=agenda, carried_from_id=qid)
        assert question.id is not None
        carried.append(question.id)
        if state.status == OPEN:
            set_status(
                source_op,
                question=state.question,
                status="carried_forward",
                text=None,
                note=f"carried forward to cycle {op.cycle_id} ({op.cycle.title})",
            )
    for pid in plan.product_ids:
        op.session.add(CycleInputRecord(cycle_id=op.cycle_id, product_id=pid, created_at=op.now))
    proposals = propose_participants(op, plan.source_id)
    op.session.flush()
    op.emit(
        "follow_on_of",
        {
            "from_cycle_id": plan.source_id,
            "question_ids": carried,
            "carried_from": list(plan.question_ids),
            "input_product_ids": list(plan.product_ids),
            "proposals": proposals,
        },
        note=note,
    )
    source_op.emit(
        "followed_by",
        {
            "to_cycle_id": op.cycle_id,
            "title": op.cycle.title,
            "question_ids": list(plan.question_ids),
        },
        note=note,
    )
    return link


def propose_participants(op: CycleOp, source_id: int) -> int:
    """Propose, on each stage the new template shares with the source's, the level each
    organisation had there (source `follow_on`); returns how many proposals were made."""
    stages = set(work_stage_keys(op.spec))
    made = 0
    for row in participation_rows(op.session, source_id):
        if row.stage not in stages:
            continue
        op.session.add(
            LevelProposalRecord(
                cycle_id=op.cycle_id,
                stage=row.stage,
                organisation_id=row.organisation_id,
                level=row.level,
                source="follow_on",
                proposed_at=op.now,
                proposed_by=op.actor.name,
            )
        )
        made += 1
    return made


def inputs_of(session: Session, cycle_id: int) -> list[ProductRecord]:
    """The products earlier cycles handed to this one."""
    return list(
        session.exec(
            select(ProductRecord)
            .join(CycleInputRecord, col(CycleInputRecord.product_id) == ProductRecord.id)
            .where(CycleInputRecord.cycle_id == cycle_id)
            .order_by(col(ProductRecord.id))
        )
    )


def links_of(session: Session, cycle_id: int) -> list[CycleLinkRecord]:
    """Links from and to the cycle, oldest first."""
    return list(
        session.exec(
            select(CycleLinkRecord)
            .where(
                or_(
                    CycleLinkRecord.from_cycle_id == cycle_id,
                    CycleLinkRecord.to_cycle_id == cycle_id,
                )
            )
            .order_by(col(CycleLinkRecord.id))
        )
    )


def cycle_map(session: Session, alliance_id: int) -> CycleMap:
    """Every cycle of the alliance by start date, and the links between them."""
    cycles = session.exec(
        select(CycleRecord)
        .where(CycleRecord.alliance_id == alliance_id)
        .order_by(col(CycleRecord.started_at), col(CycleRecord.id))
    ).all()
    ids = [c.id for c in cycles]
    links = session.exec(
        select(CycleLinkRecord)
        .where(col(CycleLinkRecord.to_cycle_id).in_(ids))
        .order_by(col(CycleLinkRecord.id))
    ).all()
    return CycleMap(
        cycles=tuple(
            MapCycle(
                cycle_id=c.id or 0,
                title=c.title,
                template_key=c.template_key,
                status=c.status,
                state=c.state,
                started=c.started_at,
                finished=c.finished_at,
            )
            for c in cycles
        ),
        links=tuple(
            FedLink(from_cycle_id=link.from_cycle_id, to_cycle_id=link.to_cycle_id)
            for link in links
        ),
    )
