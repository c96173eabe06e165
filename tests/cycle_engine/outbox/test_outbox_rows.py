"""A notice's outbox row is written from a plain mapping (a model instance per row cost more
than the rest of a fire): the mapping names every column of the table, with the values the
model's own defaults would give."""

from __future__ import annotations

from cycle_engine.outbox.enqueue import Notice, enqueue
from cycle_engine.outbox.recipients import by_roles
from cycle_engine.store.tables.outbox import OutboxRecord
from tests.cycle_engine.outbox.conftest import World


def test_a_row_has_every_column_and_the_models_defaults(world: World) -> None:
    engine = world.engine
    with engine.db.transaction() as session:
        scope = world.first_stage_scope(session)
        to = by_roles(session, world.cycle_id, "question_workshop", ["focal_point"])[0]
        assert enqueue(session, scope, Notice(kind="reminder", rule="nudge", occurrence=3, to=to))
    written = next(r for r in engine.outbox.messages(limit=1000) if r.rule == "nudge")
    defaults = OutboxRecord(
        kind="reminder",
        recipient=to.person.email,
        dedupe_key="-",
        message_id="-",
        not_before=written.not_before,
        next_attempt_at=written.next_attempt_at,
        created_at=written.created_at,
    )
    columns = set(OutboxRecord.__table__.columns.keys()) - {"id"}  # type: ignore[attr-defined]
    untouched = columns - {
        "kind", "recipient", "dedupe_key", "message_id", "not_before", "next_attempt_at",
        "created_at", "cycle_id", "stage", "visit", "rule", "occurrence", "person_id",
        "language", "expires_at", "context",
    }  # fmt: skip
    assert {c: getattr(written, c) for c in untouched} == {
        c: getattr(defaults, c) for c in untouched
    }
    assert written.occurrence == 3 and written.person_id == to.person.person_id
