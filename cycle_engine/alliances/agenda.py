"""The alliance's learning agenda: questions belong to the alliance, and each cycle that works on
one holds a learning question linked to it, with an answer status.

A question can be raised at any stage of a cycle (who raised it and why), or on the alliance's
agenda outside any cycle and taken up by a cycle later. Each cycle leaves every one of its
questions answered, advanced (a partial answer, progress) or carried forward (with a note saying
why, often to a follow-on cycle); the `questions_answered` guard lets a cycle complete once none
is left open, so a cycle can close honestly without pretending to full answers.

Questions recorded the older way (at the start, in the workshop, `questions.answer_questions`)
join the agenda through `AgendaListener`, which links every `question_added` to a new agenda
question in the same transaction; an answer given that way counts as `answered`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, func, select

from cycle_engine.alliances.common import (
    CycleOp,
    active_stage,
    get_alliance,
    member_organisation,
    require_choice,
    require_text,
)
from cycle_engine.alliances.questions import answering_stages, questions_of
from cycle_engine.changes import Change
from cycle_engine.errors import ActionNotAllowed, InputConflict, InvalidInput, RecordNotFound
from cycle_engine.store.tables import CycleRecord
from cycle_engine.store.tables.alliances import QuestionRecord
from cycle_engine.store.tables.learning import (
    ANSWER_STATUSES,
    AgendaQuestionRecord,
    QuestionLinkRecord,
    QuestionStatusRecord,
)

OPEN = "open"


@dataclass(frozen=True, kw_only=True)
class QuestionState:
    """One learning question of a cycle and how the cycle left it (`status`: open, answered,
    advanced or carried_forward), with the agenda question it works on."""

    question: QuestionRecord
    agenda_question_id: int | None
    carried_from_id: int | None
    status: str
    text: str | None
    note: str | None


@dataclass(frozen=True, kw_only=True)
class AgendaCycle:
    """One cycle's work on an agenda question."""

    cycle_id: int
    cycle_title: str
    question_id: int
    status: str
    text: str | None
    note: str | None


@dataclass(frozen=True, kw_only=True)
class AgendaItem:
    """An agenda question, the cycles that worked on it, and whether it is still open (no cycle
    answered it fully)."""

    record: AgendaQuestionRecord
    cycles: tuple[AgendaCycle, ...]
    open: bool


def _next_position(session: Session, cycle_id: int) -> int:
    last = session.exec(
        select(func.max(QuestionRecord.position)).where(QuestionRecord.cycle_id == cycle_id)
    ).one()
    return (last or 0) + 1


def link_question(
    session: Session,
    *,
    question: QuestionRecord,
    agenda_question_id: int,
    carried_from_id: int | None = None,
) -> QuestionLinkRecord:
    assert question.id is not None
    link = QuestionLinkRecord(
        question_id=question.id,
        agenda_question_id=agenda_question_id,
        carried_from_id=carried_from_id,
    )
    session.add(link)
    session.flush()
    return link


def new_agenda_question(
    session: Session,
    *,
    alliance_id: int,
    text: str,
    raised_by: str,
    now: datetime,
    reason: str | None = None,
    organisation_id: int | None = None,
    cycle: CycleRecord | None = None,
) -> AgendaQuestionRecord:
    record = AgendaQuestionRecord(
        alliance_id=alliance_id,
        text=text,
        reason=reason,
        raised_at=now,
        raised_by=raised_by,
        raised_by_organisation_id=organisation_id,
        raised_in_cycle_id=None if cycle is None else cycle.id,
        raised_in_stage=None if cycle is None else (active_stage(cycle) or cycle.state),
    )
    session.add(record)
    session.flush()
    return record


def insert_linked_question(
    op: CycleOp, *, agenda: AgendaQuestionRecord, carried_from_id: int | None = None
) -> QuestionRecord:
    """Add a question to the cycle, linked to `agenda` (no event: the caller emits one)."""
    question = QuestionRecord(
        cycle_id=op.cycle_id,
        position=_next_position(op.session, op.cycle_id),
        text=agenda.text,
        created_at=op.now,
        created_by=op.actor.name,
    )
    op.session.add(question)
    op.session.flush()
    assert agenda.id is not None
    link_question(
        op.session, question=question, agenda_question_id=agenda.id, carried_from_id=carried_from_id
    )
    return question


def raise_question(
    op: CycleOp, *, text: str, reason: str, organisation_id: int | None = None
) -> QuestionState:
    """Raise a new learning question at any stage of a running cycle: it joins the alliance's
    agenda (with who raised it and why) and this cycle works on it.

    Raises InvalidInput (empty text or reason; an organisation outside the alliance),
    ActionNotAllowed (the cycle is finished).
    """
    op.require_active("raise a learning question")
    text = require_text("text", text, max_length=2000)
    reason = require_text("reason", reason, max_length=2000)
    alliance = op.alliance()
    assert alliance.id is not None
    if organisation_id is not None:
        member_organisation(op.session, alliance, organisation_id, "organisation")
    agenda = new_agenda_question(
        op.session,
        alliance_id=alliance.id,
        text=text,
        reason=reason,
        raised_by=op.actor.name,
        now=op.now,
        organisation_id=organisation_id,
        cycle=op.cycle,
    )
    question = insert_linked_question(op, agenda=agenda)
    op.emit(
        "question_raised",
        {
            "question_id": question.id,
            "agenda_question_id": agenda.id,
            "position": question.position,
            "text": text,
            "reason": reason,
            "organisation_id": organisation_id,
            "stage": agenda.raised_in_stage,
        },
    )
    return _state_of(op.session, question)


def take_up_question(op: CycleOp, *, agenda_question_id: int) -> QuestionState:
    """Let this cycle work on a question already on the alliance's agenda."""
    op.require_active("take up a learning question")
    agenda = op.session.get(AgendaQuestionRecord, agenda_question_id)
    if agenda is None or agenda.alliance_id != op.cycle.alliance_id:
        raise RecordNotFound("agenda question", agenda_question_id)
    taken = op.session.exec(
        select(QuestionLinkRecord.id)
        .join(QuestionRecord, col(QuestionRecord.id) == QuestionLinkRecord.question_id)
        .where(
            QuestionLinkRecord.agenda_question_id == agenda_question_id,
            QuestionRecord.cycle_id == op.cycle_id,
        )
    ).first()
    if taken is not None:
        raise InputConflict(
            "agenda_question_id",
            f"cycle {op.cycle_id} already works on agenda question {agenda_question_id}",
        )
    question = insert_linked_question(op, agenda=agenda)
    op.emit(
        "question_taken_up",
        {"question_id": question.id, "agenda_question_id": agenda.id, "text": agenda.text},
    )
    return _state_of(op.session, question)


def record_status(
    op: CycleOp, *, question_id: int, status: str, text: str | None = None, note: str | None = None
) -> QuestionState:
    """Record how this cycle leaves one of its questions.

    `answered` and `advanced` need the answer (or the progress made) in `text` and belong to the
    documentation stage (the stage the `questions_answered` guard leaves); `carried_forward`
    needs a `note` saying why and may be recorded at any stage of a running cycle.

    Raises InvalidInput, RecordNotFound (not a question of this cycle), ActionNotAllowed.
    """
    op.require_active("record a learning question's status")
    require_choice("status", status, ANSWER_STATUSES)
    question = op.session.get(QuestionRecord, question_id)
    if question is None or question.cycle_id != op.cycle_id:
        raise RecordNotFound("question", f"{question_id} of cycle {op.cycle_id}")
    if status == "carried_forward":
        note = require_text("note", note, max_length=5000)
        text = None if text is None or not text.strip() else text.strip()
    else:
        text = require_text("text", text, max_length=10000)
        stages = answering_stages(op.spec)
        if op.cycle.state not in stages:
            raise ActionNotAllowed(
                f"record question {question.position} as {status}",
                f"answers are documented in {', '.join(sorted(stages)) or 'no stage'}; "
                f"cycle {op.cycle_id} is in {op.cycle.state!r} (a question can be carried "
                "forward at any stage)",
            )
        note = None if note is None or not note.strip() else note.strip()
    set_status(op, question=question, status=status, text=text, note=note)
    left_open = sum(s.status == OPEN for s in question_states(op.session, op.cycle_id))
    op.emit(
        "question_status_recorded",
        {"question_id": question_id, "status": status, "open": left_open},
        note=note,
    )
    return _state_of(op.session, question)


def set_status(
    op: CycleOp, *, question: QuestionRecord, status: str, text: str | None, note: str | None
) -> QuestionStatusRecord:
    """Write the status row (replacing an earlier one) and keep `QuestionRecord.answer` in
    step: the answer or progress text, none when carried forward."""
    assert question.id is not None
    row = op.session.exec(
        select(QuestionStatusRecord).where(QuestionStatusRecord.question_id == question.id)
    ).first()
    if row is None:
        row = QuestionStatusRecord(
            question_id=question.id,
            cycle_id=question.cycle_id,
            status=status,
            recorded_at=op.now,
            recorded_by=op.actor.name,
        )
    row.status, row.text, row.note = status, text, note
    row.recorded_at, row.recorded_by = op.now, op.actor.name
    op.session.add(row)
    question.answer = text if status != "carried_forward" else None
    question.answered_at = op.now if question.answer else None
    question.answered_by = op.actor.name if question.answer else None
    op.session.add(question)
    op.session.flush()
    return row


def _states(session: Session, questions: Sequence[QuestionRecord]) -> list[QuestionState]:
    ids = [q.id for q in questions if q.id is not None]
    if not ids:
        return []
    links = {
        link.question_id: link
        for link in session.exec(
            select(QuestionLinkRecord).where(col(QuestionLinkRecord.question_id).in_(ids))
        )
    }
    statuses = {
        row.question_id: row
        for row in session.exec(
            select(QuestionStatusRecord).where(col(QuestionStatusRecord.question_id).in_(ids))
        )
    }
    result: list[QuestionState] = []
    for question in questions:
        assert question.id is not None
        link = links.get(question.id)
        row = statuses.get(question.id)
        if row is not None:
            status, text, note = row.status, row.text, row.note
        elif question.answer:
            status, text, note = "answered", question.answer, None
        else:
            status, text, note = OPEN, None, None
        result.append(
            QuestionState(
                question=question,
                agenda_question_id=None if link is None else link.agenda_question_id,
                carried_from_id=None if link is None else link.carried_from_id,
                status=status,
                text=text,
                note=note,
            )
        )
    return result


def _state_of(session: Session, question: QuestionRecord) -> QuestionState:
    return _states(session, [question])[0]


def question_states(session: Session, cycle_id: int) -> list[QuestionState]:
    """Every question of the cycle, in order, with its status."""
    return _states(session, questions_of(session, cycle_id))


def agenda_of(session: Session, alliance_id: int) -> list[AgendaItem]:
    """The alliance's agenda, oldest question first, with every cycle's work on each."""
    records = session.exec(
        select(AgendaQuestionRecord)
        .where(AgendaQuestionRecord.alliance_id == alliance_id)
        .order_by(col(AgendaQuestionRecord.id))
    ).all()
    rows = session.exec(
        select(QuestionLinkRecord, QuestionRecord, CycleRecord)
        .join(QuestionRecord, col(QuestionRecord.id) == QuestionLinkRecord.question_id)
        .join(CycleRecord, col(CycleRecord.id) == QuestionRecord.cycle_id)
        .where(CycleRecord.alliance_id == alliance_id)
        .order_by(col(CycleRecord.id), col(QuestionRecord.position))
    ).all()
    states = {s.question.id: s for s in _states(session, [q for _, q, _ in rows])}
    by_agenda: dict[int, list[AgendaCycle]] = {}
    for link, question, cycle in rows:
        state = states[question.id]
        assert question.id is not None and cycle.id is not None
        by_agenda.setdefault(link.agenda_question_id, []).append(
            AgendaCycle(
                cycle_id=cycle.id,
                cycle_title=cycle.title,
                question_id=question.id,
                status=state.status,
                text=state.text,
                note=state.note,
            )
        )
    items: list[AgendaItem] = []
    for record in records:
        assert record.id is not None
        cycles = tuple(by_agenda.get(record.id, ()))
        items.append(
            AgendaItem(
                record=record,
                cycles=cycles,
                open=not any(c.status == "answered" for c in cycles),
            )
        )
    return items


def raise_agenda_question(
    session: Session,
    *,
    alliance_id: int,
    text: str,
    reason: str,
    raised_by: str,
    now: datetime,
    organisation_id: int | None = None,
) -> AgendaQuestionRecord:
    """Put a question on the alliance's agenda outside any cycle (a later cycle takes it up).

    Raises AllianceNotFound, InvalidInput (empty text or reason; an organisation outside it).
    """
    text = require_text("text", text, max_length=2000)
    reason = require_text("reason", reason, max_length=2000)
    alliance = get_alliance(session, alliance_id)
    if organisation_id is not None:
        member_organisation(session, alliance, organisation_id, "organisation_id")
    return new_agenda_question(
        session,
        alliance_id=alliance_id,
        text=text,
        reason=reason,
        raised_by=raised_by,
        now=now,
        organisation_id=organisation_id,
    )


class AgendaListener:
    """Links every question added the older way (`question_added`: at the start, in the
    workshop) to a new agenda question of the cycle's alliance, in the same transaction.

    Looks at nothing but the event's kind for every other change, so it costs a fire nothing.
    """

    def on_change(self, change: Change) -> None:
        event = change.event
        if event.kind != "question_added" or change.cycle.alliance_id is None:
            return
        data = event.data or {}
        question_id = data.get("question_id")
        if not isinstance(question_id, int):
            raise InvalidInput("question_added", "the event names no question")
        question = change.session.get(QuestionRecord, question_id)
        assert question is not None
        agenda = new_agenda_question(
            change.session,
            alliance_id=change.cycle.alliance_id,
            text=question.text,
            raised_by=change.actor.name,
            now=change.now,
            organisation_id=change.actor.organisation_id,
            cycle=change.cycle,
        )
        assert agenda.id is not None
        link_question(change.session, question=question, agenda_question_id=agenda.id)
