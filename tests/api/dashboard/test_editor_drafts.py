"""The drafts service behind the editor (`engine.drafts`), on both databases: who may see and
change a draft, the revision check that turns a concurrent save into a conflict, the history of
who changed what, the size bound, publishing (validated, then the draft is gone) and the
publish preview's diff and per-cycle forecast, which writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from cycle_engine import CycleEngine
from cycle_engine.actors import Actor
from cycle_engine.alliances.reach import Reach
from cycle_engine.errors import (
    InvalidInput,
    InvalidTemplate,
    NotPermitted,
    RecordNotFound,
    TemplateNotFound,
)
from cycle_engine.spec.loader import MAX_TEMPLATE_BYTES
from cycle_engine.templates.drafts import DraftConflict
from cycle_engine.testing import ManualClock
from tests.api.dashboard.conftest import World, seed_world

ANA = Actor(name="Ana", role="coordinator")
BETO = Actor(name="Beto", role="coordinator")
MARIO = Actor(name="Mario", role="manager")


@pytest.fixture
def world(db_url: str, clock: ManualClock) -> Iterator[tuple[CycleEngine, World]]:
    with CycleEngine(db_url, clock=clock) as engine:
        yield engine, seed_world(engine)


def test_concurrent_saves_conflict_and_history_says_who_changed_what(
    world: tuple[CycleEngine, World], clock: ManualClock
) -> None:
    engine, w = world
    reach = Reach(alliance_ids=frozenset({w.alliance_id}))
    draft = engine.drafts.start(alliance_id=w.alliance_id, key="pilot", actor=ANA, reach=reach)
    assert draft.revision == 1 and draft.text.startswith("key: pilot")
    text = draft.text.replace("title: ''", "title: Pilot")
    clock.advance(timedelta(minutes=5))
    saved = engine.drafts.save(draft.id, text, revision=1, actor=ANA, reach=reach)
    assert saved.revision == 2 and saved.title == "Pilot" and saved.updated_by == "Ana"
    with pytest.raises(DraftConflict, match=r"Ana saved this draft \(revision 2\)"):
        engine.drafts.save(draft.id, text + "# mine\n", revision=1, actor=BETO, reach=reach)
    again = engine.drafts.get(draft.id, actor=BETO, reach=reach)
    assert again.text == text and again.revision == 2
    assert [(c.revision, c.changed_by, c.summary) for c in again.changes] == [
        (2, "Ana", "Title set to 'Pilot'."),
        (1, "Ana", "Draft started from nothing."),
    ]
    assert again.changes[0].changed_at > again.changes[1].changed_at
    unchanged = engine.drafts.save(draft.id, text, revision=2, actor=BETO, reach=reach)
    assert unchanged.revision == 2  # nothing changed, nothing recorded


def test_only_coordinators_of_the_owner_see_or_change_drafts(
    world: tuple[CycleEngine, World],
) -> None:
    engine, w = world
    mine = Reach(alliance_ids=frozenset({w.alliance_id}))
    theirs = Reach(alliance_ids=frozenset({w.other_alliance_id}))
    draft = engine.drafts.start(alliance_id=w.alliance_id, key="pilot", actor=ANA, reach=mine)
    with pytest.raises(NotPermitted):
        engine.drafts.get(draft.id, actor=MARIO, reach=mine)
    with pytest.raises(RecordNotFound):
        engine.drafts.get(draft.id, actor=BETO, reach=theirs)
    with pytest.raises(RecordNotFound):
        engine.drafts.save(draft.id, "key: x\n", revision=1, actor=BETO, reach=theirs)
    assert engine.drafts.list(alliance_id=w.alliance_id, actor=MARIO, reach=mine) == []
    assert [
        d.key for d in engine.drafts.list(alliance_id=w.alliance_id, actor=ANA, reach=mine)
    ] == ["pilot"]
    with pytest.raises(NotPermitted, match="administrator"):
        engine.drafts.start(alliance_id=None, key="global", actor=ANA, reach=mine)
    with pytest.raises(TemplateNotFound):
        engine.drafts.start(alliance_id=w.other_alliance_id, key="x", actor=ANA, reach=mine)
    with pytest.raises(InvalidInput, match="not a template key"):
        engine.drafts.start(alliance_id=w.alliance_id, key="Bad Key", actor=ANA, reach=mine)


def test_size_is_bounded_and_a_refused_save_changes_nothing(
    world: tuple[CycleEngine, World],
) -> None:
    engine, w = world
    draft = engine.drafts.start(alliance_id=w.alliance_id, key="pilot", actor=ANA)
    huge = "key: pilot\ndescription: " + "é" * (MAX_TEMPLATE_BYTES // 2) + "\n"
    with pytest.raises(InvalidInput, match=f"at most {MAX_TEMPLATE_BYTES}"):
        engine.drafts.save(draft.id, huge, revision=1, actor=ANA)
    assert engine.drafts.get(draft.id).revision == 1


def test_publish_validates_then_removes_the_draft_and_preview_forecasts(
    world: tuple[CycleEngine, World],
) -> None:
    engine, w = world
    a = w.alliance_id
    empty = engine.drafts.start(alliance_id=a, key="pilot", actor=ANA)
    assert engine.drafts.publish_preview(empty.id).problems
    with pytest.raises(InvalidTemplate):
        engine.drafts.publish(empty.id, revision=1, actor=ANA)
    copy = engine.drafts.start(alliance_id=a, key="ours", from_key="learning-cycle", actor=ANA)
    first = engine.drafts.publish_preview(copy.id)
    assert first.publishable and first.diff is None and first.next_label == "ours v1"
    published = engine.drafts.publish(copy.id, revision=1, actor=ANA)
    assert (published.key, published.version, published.alliance_id) == ("ours", 1, a)
    with pytest.raises(RecordNotFound):
        engine.drafts.get(copy.id)
    cycle = engine.cycles.start_cycle("ours", "Seed banks", alliance_id=a, actor=ANA)
    longer = engine.drafts.start(alliance_id=a, key="ours", from_key="ours", actor=ANA)
    text = longer.text.replace("duration: P3W", "duration: P5W", 1)
    engine.drafts.save(longer.id, text, revision=1, actor=ANA)
    preview = engine.drafts.publish_preview(longer.id)
    assert preview.current == "ours v1" and preview.next_label == "ours v2"
    assert preview.diff is not None
    assert any("now lasts 5 weeks (was 3 weeks)" in line.text for line in preview.diff.lines)
    assert preview.running == 1 and preview.forecasts[0].cycle_id == cycle.id
    forecast = preview.forecasts[0]
    assert forecast.outcome == "migrate" and forecast.stage_after == "question_workshop"
    assert forecast.deadlines  # the first stage deadline moves by two weeks
    assert engine.get_cycle(cycle.id).template_id == published.id  # nothing was written
    same = engine.drafts.start(alliance_id=a, key="ours", from_key="ours", actor=ANA)
    unchanged = engine.drafts.publish_preview(same.id)
    assert unchanged.diff is not None and unchanged.diff.unchanged and not unchanged.publishable


def test_an_administrator_drafts_and_publishes_a_builtin_template(
    world: tuple[CycleEngine, World],
) -> None:
    """Built-in templates (every alliance's) are drafted and published by administrators only."""
    engine, w = world
    admin = Actor(name="Root", role="admin")
    draft = engine.drafts.start(
        alliance_id=None,
        key="shared-cycle",
        from_key="rapid-cycle",
        actor=admin,
        reach=Reach(everything=True),
    )
    assert engine.drafts.list(alliance_id=None, actor=ANA) == []
    with pytest.raises(NotPermitted):
        engine.drafts.get(draft.id, actor=ANA, reach=Reach(alliance_ids=frozenset({w.alliance_id})))
    published = engine.drafts.publish(draft.id, revision=1, actor=admin)
    assert published.alliance_id is None and published.key == "shared-cycle"
    seen = engine.templates.list(alliance_id=w.other_alliance_id)
    assert "shared-cycle" in {record.key for record in seen}
