"""Learning questions: agreed in the question workshop (the template's first stage), answered
in documentation (the stage left through a transition requiring `questions_answered`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Integer, bindparam
from sqlmodel import Session, col, func, select

from cycle_engine.alliances.common import CycleOp, require_text
from cycle_engine.errors import ActionNotAllowed, InvalidInput, RecordNotFound
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.prepared import Prepared, fetch
from cycle_engine.store.tables.alliances import QuestionRecord


def answering_stages(spec: TemplateSpec) -> set[str]:
    """Stages left through a transition that requires every question to be answered."""
    return {
        source
        for transition in spec.transitions
        if any(guard.name == "questions_answered" for guard in transition.guards)
        for source in transition.sources
    }


def insert_questions(op: CycleOp, texts: Sequence[str]) -> list[QuestionRecord]:
    """Add questions (no stage check: used when a cycle starts); one event per question."""
    cleaned = [
        require_text(f"questions[{i}]", text, max_length=2000) for i, text in enumerate(texts)
    ]
    last = op.session.exec(
        select(func.max(QuestionRecord.position)).where(QuestionRecord.cycle_id == op.cycle_id)
    ).one()
    rows: list[QuestionRecord] = []
    for offset, text in enumerate(cleaned, start=1):
        row = QuestionRecord(
            cycle_id=op.cycle_id,
            position=(last or 0) + offset,
            text=text,
            created_at=op.now,
            created_by=op.actor.name,
        )
        op.session.add(row)
        op.session.flush()
        op.emit("question_added", {"question_id": row.id, "position": row.position, "text": text})
        rows.append(row)
    return rows


def add_questions(op: CycleOp, texts: Sequence[str]) -> list[QuestionRecord]:
    """Add learning questions; only while the cycle is in its question workshop."""
    if not texts:
        raise InvalidInput("questions", "give at least one question")
    if op.cycle.state != op.spec.initial:
        raise ActionNotAllowed(
            "add a learning question",
            f"questions are agreed in {op.spec.initial!r}; cycle {op.cycle_id} is in "
            f"{op.cycle.state!r}",
        )
    return insert_questions(op, texts)


def answer_questions(op: CycleOp, answers: Mapping[int, str]) -> list[QuestionRecord]:
    """Answer questions (by id) in one change; only in the documentation stage."""
    if not answers:
        raise InvalidInput("answers", "give at least one answer")
    op.require_active("answer learning questions")
    stages = answering_stages(op.spec)
    if op.cycle.state not in stages:
        raise ActionNotAllowed(
            "answer learning questions",
            f"answers are documented in {', '.join(sorted(stages)) or 'no stage'}; "
            f"cycle {op.cycle_id} is in {op.cycle.state!r}",
        )
    rows: list[QuestionRecord] = []
    for question_id, answer in answers.items():
        row = op.session.get(QuestionRecord, question_id)
        if row is None or row.cycle_id != op.cycle_id:
            raise RecordNotFound("question", f"{question_id} of cycle {op.cycle_id}")
        row.answer = require_text(f"answers[{question_id}]", answer, max_length=10000)
        row.answered_at = op.now
        row.answered_by = op.actor.name
        op.session.add(row)
        rows.append(row)
    op.session.flush()
    unanswered = len(unanswered_questions(op.session, op.cycle_id))
    op.emit(
        "questions_answered",
        {
            "question_ids": sorted(answers),
            "unanswered": unanswered,
        },
    )
    return rows


def questions_of(session: Session, cycle_id: int) -> list[QuestionRecord]:
    return list(
        session.exec(
            select(QuestionRecord)
            .where(QuestionRecord.cycle_id == cycle_id)
            .order_by(col(QuestionRecord.position))
        )
    )


#: How many learning questions a cycle has (through `ix_learning_questions_cycle_id`): one
#: statement built once, so a guard on every read of a cycle does not load the questions.
_COUNT = Prepared(
    select(func.count()).where(
        col(QuestionRecord.cycle_id) == bindparam("cycle_id", type_=Integer())
    )
)


def count_questions(session: Session, cycle_id: int) -> int:
    ((count,),) = fetch(session, _COUNT, {"cycle_id": cycle_id})
    return int(count)


def unanswered_questions(session: Session, cycle_id: int) -> list[QuestionRecord]:
    return [q for q in questions_of(session, cycle_id) if not q.answer]
