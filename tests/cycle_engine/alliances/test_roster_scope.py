"""A move reads the participation of the two stages it is about, not of every stage (issue 16:
with 30 organisations and seven stages the roster was 211 rows a fire, now about 60), and a
later question about another stage in the same transaction still gets every stage's answer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from cycle_engine import CycleEngine
from cycle_engine.alliances.participation import lacking_focal_point, recipients_for_stage
from cycle_engine.alliances.roster import expect_stages, roster
from cycle_engine.store.prepared import watch
from cycle_engine.testing import ManualClock
from tests.cycle_engine.test_fire_statements import COORDINATOR, seed


@pytest.fixture
def engine(db_url: str) -> Iterator[CycleEngine]:
    with CycleEngine(db_url, clock=ManualClock(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))) as e:
        e.publish_builtin_templates()
        yield e


def test_a_fire_reads_the_roster_of_its_two_stages_once(engine: CycleEngine) -> None:
    cycle_id = seed(engine, 3)
    sent: list[str] = []
    with watch(engine.db.engine, sent.append):
        engine.fire(cycle_id, "questions_agreed", actor=COORDINATOR)
    rosters = [sql for sql in sent if "cycle_followers" in sql]
    assert len(rosters) == 1 and "stage_a" in rosters[0], rosters
    assert len(engine.outbox.messages(limit=100)) == 3  # each partner told the stage is done


def test_another_stage_later_in_the_transaction_reads_every_stage(engine: CycleEngine) -> None:
    cycle_id = seed(engine, 3)
    stages = [stage.key for stage in engine.templates.spec("learning-cycle").work_stages]
    with engine.db.read_session() as session:
        whole = {stage: recipients_for_stage(session, cycle_id, stage) for stage in stages}
        lacking = lacking_focal_point(session, cycle_id, stages)
    with engine.db.transaction() as session:
        expect_stages(session, cycle_id, stages[:2])
        assert recipients_for_stage(session, cycle_id, stages[0]) == whole[stages[0]]
        sent: list[str] = []
        with watch(engine.db.engine, sent.append):
            later = recipients_for_stage(session, cycle_id, stages[-1])
            assert recipients_for_stage(session, cycle_id, stages[1]) == whole[stages[1]]
            assert lacking_focal_point(session, cycle_id, stages) == lacking
        assert later == whole[stages[-1]] and later
        assert len(sent) == 1 and "stage_a" not in sent[0]  # once, every stage


def test_asking_about_no_stage_reads_every_stage(engine: CycleEngine) -> None:
    cycle_id = seed(engine, 3)
    with engine.db.transaction() as session:
        assert roster(session, cycle_id, ()).lacking(["question_workshop"]) == {}
