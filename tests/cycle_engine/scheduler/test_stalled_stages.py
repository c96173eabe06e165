"""Stalled stages carry their reasons: turnover of a lead's focal point flags the stage at once
and naming a new focal point clears it; the queries filter by alliance and use indexes."""

from __future__ import annotations

from sqlalchemy import text

from cycle_engine import CycleEngine
from cycle_engine.scheduler.claim import due_query
from cycle_engine.testing import ManualClock

from .conftest import days, drain


def test_focal_point_leaving_flags_the_stage_until_replaced(
    pilot: CycleEngine, clock: ManualClock
) -> None:
    """When the lead organisation's focal point leaves, the stage is stalled for turnover with
    the reason; naming a new focal point clears it; other alliances see nothing."""
    andes = pilot.alliances.create_alliance("Andes", "Potatoes")
    other = pilot.alliances.create_alliance("Sahel", "Millet")
    cip = pilot.alliances.add_organisation("CIP", "research", "Peru")
    assert andes.id is not None and other.id is not None and cip.id is not None
    pilot.alliances.join_alliance(andes.id, cip.id)
    rosa = pilot.alliances.add_person("Rosa Quispe", "rosa@cip.example", cip.id)
    luis = pilot.alliances.add_person("Luis Mamani", "luis@cip.example", cip.id)
    cycle = pilot.start_cycle("sched-pilot", "Native varieties", alliance_id=andes.id)
    assert cycle.id is not None and rosa.id is not None and luis.id is not None
    pilot.work.assign(cycle.id, "draft", cip.id, "lead", focal_point_id=rosa.id)
    assert pilot.stalled(andes.id) == []
    clock.advance(days(1))
    pilot.alliances.person_left(rosa.id)
    [stalled] = pilot.stalled(andes.id)
    assert [r.reason for r in stalled.reasons] == ["no_focal_point"]
    assert "Rosa Quispe" in stalled.reasons[0].detail
    assert pilot.stalled(other.id) == []
    clock.advance(days(1))
    pilot.work.assign(cycle.id, "draft", cip.id, "lead", focal_point_id=luis.id)
    assert pilot.stalled() == []


def test_stall_check_lists_every_reason(pilot: CycleEngine, clock: ManualClock) -> None:
    """A stage idle past its stall period whose lead has no focal point lists both reasons."""
    andes = pilot.alliances.create_alliance("Andes", "Potatoes")
    cip = pilot.alliances.add_organisation("CIP", "research", "Peru")
    assert andes.id is not None and cip.id is not None
    pilot.alliances.join_alliance(andes.id, cip.id)
    rosa = pilot.alliances.add_person("Rosa Quispe", "rosa@cip.example", cip.id)
    cycle = pilot.start_cycle("sched-pilot", "Native varieties", alliance_id=andes.id)
    assert cycle.id is not None and rosa.id is not None
    pilot.work.assign(cycle.id, "draft", cip.id, "lead", focal_point_id=rosa.id)
    pilot.alliances.person_left(rosa.id)
    drain(pilot, clock, clock.now() + days(11))
    [stalled] = pilot.stalled(andes.id)
    assert sorted(r.reason for r in stalled.reasons) == ["no_activity", "no_focal_point"]
    [event] = [e for e in pilot.history(cycle.id) if e.kind == "stalled"]
    assert sorted(r["reason"] for r in event.data["reasons"]) == ["no_activity", "no_focal_point"]


def test_claim_query_uses_the_due_queue_index(engine: CycleEngine) -> None:
    """The claim picks through `ix_timer_queue_due` rather than scanning the due-queue."""
    query = due_query(engine.clock.now(), 100, lock=engine.db.is_postgresql)
    with engine.db.engine.connect() as connection:
        compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
        prefix = "EXPLAIN QUERY PLAN " if engine.db.is_sqlite else "EXPLAIN "
        if engine.db.is_postgresql:
            connection.execute(text("SET enable_seqscan = off"))  # tiny table: force the choice
        plan = " ".join(str(row) for row in connection.execute(text(prefix + str(compiled))))
    assert "ix_timer_queue_due" in plan


def test_nudge_does_not_clear_stall_flags(pilot: CycleEngine, clock: ManualClock) -> None:
    """A manager's nudge is a prod, not progress: the stalled stage stays flagged."""
    from cycle_engine import Actor

    andes = pilot.alliances.create_alliance("Andes", "Potatoes")
    cip = pilot.alliances.add_organisation("CIP", "research", "Peru")
    assert andes.id is not None and cip.id is not None
    pilot.alliances.join_alliance(andes.id, cip.id)
    rosa = pilot.alliances.add_person("Rosa Quispe", "rosa@cip.example", cip.id)
    cycle = pilot.start_cycle("sched-pilot", "Native varieties", alliance_id=andes.id)
    assert cycle.id is not None and rosa.id is not None
    pilot.work.assign(cycle.id, "draft", cip.id, "lead", focal_point_id=rosa.id)
    drain(pilot, clock, clock.now() + days(11))
    assert [r.reason for r in pilot.stalled(andes.id)[0].reasons] == ["no_activity"]
    pilot.outbox.nudge(cycle.id, actor=Actor(name="mia", role="manager"))
    assert [r.reason for r in pilot.stalled(andes.id)[0].reasons] == ["no_activity"]
