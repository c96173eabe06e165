"""Moving running cycles to a new template version: what the preview shows for cycles in every
situation (running, paused, overdue, stalled, mid-loop, on a removed stage), that it writes
nothing, and that applying does exactly what it showed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cycle_engine.templates.migrations import MigrationPreview, MigrationReport
from tests.cycle_engine.templates.conftest import COORDINATOR, COPY, TO_LOOP, World
from tests.cycle_engine.templates.helpers import (
    Edit,
    duration,
    observed,
    predicted,
    requires,
    rows,
    stage_after,
)

REFLECTION = stage_after(
    "multi_context_testing", "reflection", "Reflection", "P2W", leaving="testing_completed"
)
GUATEMALA_5PM = 23  # 17:00 in America/Guatemala (UTC-6), the end of its working day, in UTC


def migrate(
    world: World, *edits: Edit, apply: bool = True, **plan: object
) -> tuple[MigrationPreview, MigrationReport | None]:
    """Publish v2 with `edits`, plan moving the alliance's cycles there, preview, apply; checks
    that the preview wrote nothing and that apply did what the preview predicted."""
    target = world.publish(*edits)
    plan.setdefault("from_key", COPY)
    made = world.engine.migrations.create_plan(
        COPY, to_version=target.version, alliance_id=world.alliance, actor=COORDINATOR, **plan
    )
    before = rows(world.engine)
    preview = world.engine.migrations.preview(made.id, actor=COORDINATOR)
    assert rows(world.engine) == before, "the preview changed a cycle, a timer or the history"
    if not apply:
        return preview, None
    report = world.engine.migrations.apply(made.id, actor=COORDINATOR)
    for forecast in preview.migrating:
        assert observed(world.engine, forecast.cycle_id) == predicted(forecast)
    return preview, report


def only(preview: MigrationPreview) -> dict[str, tuple[datetime | None, datetime | None]]:
    forecast = preview.cycles[0]
    return {
        f"{m.what}:{m.stage if m.what == 'deadline' else m.rule}": (m.before, m.after)
        for m in (*forecast.deadlines, *forecast.timers)
    }


def test_lengthened_current_stage_and_new_stage_move_deadlines_and_reminders(world: World) -> None:
    """The Done-when case: the first stage lasts two weeks more and a reflection stage is added;
    the deadline, its reminders and every later planned date move, the new stage appears."""
    cycle_id = world.start("Seed systems")
    preview, report = migrate(world, duration("question_workshop", "P5W"), REFLECTION)
    changes = only(preview)
    old_due = datetime(2026, 1, 26, GUATEMALA_5PM, tzinfo=UTC)
    new_due = datetime(2026, 2, 9, GUATEMALA_5PM, tzinfo=UTC)
    assert changes["deadline:question_workshop"] == (old_due, new_due)
    assert changes["reminder:week_before"] == (
        old_due - timedelta(days=7),
        new_due - timedelta(days=7),
    )
    assert changes["due:due"] == (old_due, new_due)
    assert changes["deadline:reflection"][0] is None
    assert changes["deadline:documentation"][1] == datetime(2026, 11, 2, GUATEMALA_5PM, tzinfo=UTC)
    assert preview.cycles[0].newly_blocking == ()
    assert report is not None and [r.cycle_id for r in report.migrated] == [cycle_id]
    event = world.engine.history(cycle_id)[-1]
    assert event.kind == "template_migrated" and event.actor == COORDINATOR.name
    assert event.data["from_template"]["version"] == 1 and event.data["to_template"]["version"] == 2
    assert world.engine.templates.record_of(world.engine.get_cycle(cycle_id).template_id).label == (
        f"{COPY} v2"
    )


def test_a_paused_cycle_keeps_its_pause_and_resumes_with_the_new_deadline(world: World) -> None:
    """Paused in the first stage: the stage it paused in gets the longer deadline, which counts
    from the resume plus the time paused, as before."""
    cycle_id = world.start("Paused")
    world.walk(cycle_id, "pause")
    preview, _ = migrate(world, duration("question_workshop", "P5W"))
    forecast = preview.cycles[0]
    assert forecast.paused and forecast.stage_after == "paused"
    assert forecast.deadlines[0].note.startswith("counts from when the cycle resumes")
    world.clock.advance(timedelta(days=10))
    world.engine.fire(cycle_id, "resume", actor=COORDINATOR)
    stage = world.engine.cycles.current_stage(cycle_id)
    assert stage is not None
    assert stage.due_at == datetime(2026, 2, 9, GUATEMALA_5PM, tzinfo=UTC) + timedelta(days=10)


def test_an_overdue_cycle_given_more_time_is_no_longer_overdue(world: World) -> None:
    """Past its deadline (with overdue notices sent), a longer stage makes it due again later:
    the deadline timer gets a new occurrence, and nothing fires twice."""
    cycle_id = world.start("Overdue")
    world.clock.advance(timedelta(days=25))
    world.engine.run_due_timers()
    assert [o.cycle_id for o in world.engine.overdue()] == [cycle_id]
    migrate(world, duration("question_workshop", "P6W"))
    assert world.engine.overdue() == []
    kinds_before = [e.kind for e in world.engine.history(cycle_id)]
    world.engine.run_due_timers()
    assert [e.kind for e in world.engine.history(cycle_id)] == kinds_before


def test_an_overdue_cycle_whose_stage_is_unchanged_gets_no_second_notice(world: World) -> None:
    """Only a later stage changes: the overdue series goes on where it was."""
    cycle_id = world.start("Still overdue")
    world.clock.advance(timedelta(days=25))
    world.engine.run_due_timers()
    preview, _ = migrate(world, REFLECTION)
    assert preview.cycles[0].timers == ()
    events = [e.kind for e in world.engine.history(cycle_id)]
    world.engine.run_due_timers()
    assert [e.kind for e in world.engine.history(cycle_id)] == events
    assert [o.cycle_id for o in world.engine.overdue()] == [cycle_id]


def test_a_stalled_cycle_stays_stalled_unless_the_new_rule_allows_more(world: World) -> None:
    """Migrating is not activity: a stalled stage stays stalled; a longer stall period lifts it."""
    cycle_id = world.start("Stalled")
    world.clock.advance(timedelta(days=15))
    world.engine.run_due_timers()
    assert [s.cycle_id for s in world.engine.stalled()] == [cycle_id]
    migrate(world, REFLECTION)
    assert [s.cycle_id for s in world.engine.stalled()] == [cycle_id]

    def patient(document: dict[str, object]) -> None:
        document["stages"][0]["stall"] = {"after": "P21D"}  # type: ignore[index]

    preview, _ = migrate(world, REFLECTION, patient)
    assert preview.cycles[0].flags_cleared == ("no longer stalled: it may now go 3 weeks idle",)
    assert world.engine.stalled() == []


def test_a_cycle_looping_between_prototype_and_testing_migrates_mid_loop(world: World) -> None:
    """Back in prototype for a second round: its deadline counts from this visit; the stages it
    entered keep their planned dates; the reflection stage is planned after testing."""
    cycle_id = world.start("Looping")
    world.walk(cycle_id, *TO_LOOP)
    visit = world.engine.cycles.current_stage(cycle_id)
    assert visit is not None and (visit.stage, visit.visit) == ("prototype", 2)
    preview, _ = migrate(world, duration("prototype", "P10W"), REFLECTION)
    changes = only(preview)
    assert visit.due_at is not None
    later = (visit.due_at + timedelta(weeks=2)).astimezone(ZoneInfo("America/Guatemala"))
    while later.weekday() in (5, 6):  # a deadline landing on the weekend moves to Monday
        later += timedelta(days=1)
    assert changes["deadline:prototype"] == (visit.due_at, later.astimezone(UTC))
    assert "deadline:multi_context_testing" not in changes
    assert changes["deadline:reflection"][0] is None
    world.walk(cycle_id, "prototypes_ready")
    assert world.engine.get_cycle(cycle_id).state == "multi_context_testing"


def test_a_removed_stage_needs_a_mapping(world: World) -> None:
    """A cycle in a stage the new version lacks cannot move until the plan maps the stage; then
    it moves there and the organisations' parts follow the stage."""

    def merge_review(document: dict[str, object]) -> None:
        stages = document["stages"]
        transitions = document["transitions"]
        assert isinstance(stages, list) and isinstance(transitions, list)
        stages[:] = [s for s in stages if s["key"] != "good_practice_review"]
        transitions[:] = [t for t in transitions if t["trigger"] != "review_completed"]
        for t in transitions:
            if t["to"] == "good_practice_review":
                t["to"] = "prototype"

    cycle_id = world.start("In review")
    world.walk(cycle_id, *TO_LOOP[:3])
    preview, _ = migrate(world, merge_review, apply=False)
    assert preview.blocked[0].reason == (
        f"its stage “Good-practice review” (good_practice_review) is not in {COPY} v2 and the "
        f"plan maps it nowhere: map good_practice_review to a stage of {COPY} v2"
    )
    preview, report = migrate(world, merge_review, stage_map={"good_practice_review": "prototype"})
    assert report is not None and len(report.migrated) == 1
    assert world.engine.get_cycle(cycle_id).state == "prototype"
    leads = [p for p in world.engine.work.participants(cycle_id) if p.stage == "prototype"]
    assert [p.organisation_id for p in leads] == [world.build["research"]]


def test_a_new_requirement_that_blocks_now_is_listed(world: World) -> None:
    """A second learning question is now required to leave the workshop: the preview says so."""
    world.start("One question")
    preview, _ = migrate(world, requires("questions_agreed", {"learning_questions": 2}))
    blocks = preview.cycles[0].newly_blocking
    assert [(b.trigger, b.reasons) for b in blocks] == [
        ("questions_agreed", ("at least 2 learning question(s) needed; 1 recorded",))
    ]


@pytest.mark.parametrize("unentered", ["replan", "keep"])
def test_stages_not_entered_are_replanned_or_keep_their_dates(world: World, unentered: str) -> None:
    """A longer review: re-planning moves it and every later date; keeping leaves them."""
    world.start("Ahead")
    preview, _ = migrate(world, duration("good_practice_review", "P8W"), unentered=unentered)
    moved = {m.stage for m in preview.cycles[0].deadlines}
    later = {"good_practice_review", "prototype", "multi_context_testing", "documentation"}
    assert moved == (later if unentered == "replan" else set())


def test_a_deadline_set_by_hand_is_kept(world: World) -> None:
    """A coordinator moved the workshop's deadline: the longer stage does not move it again."""
    cycle_id = world.start("Moved by hand")
    world.engine.work.move_due_date(
        cycle_id,
        "question_workshop",
        date(2026, 2, 20),
        reason="partners travel",
        actor=COORDINATOR,
    )
    preview, _ = migrate(world, duration("question_workshop", "P5W"))
    assert "deadline:question_workshop" not in only(preview)


def test_changed_since_the_preview_is_skipped_and_applying_twice_changes_nothing(
    world: World,
) -> None:
    """A cycle that moved on after the preview is left alone and reported; a second apply finds
    every cycle migrated already and writes nothing."""
    first, second = world.start("First"), world.start("Second")
    world.publish(duration("question_workshop", "P5W"))
    plan = world.engine.migrations.create_plan(COPY, alliance_id=world.alliance, actor=COORDINATOR)
    world.engine.migrations.preview(plan.id, actor=COORDINATOR)
    world.engine.work.add_questions(second, ["Who buys?"], actor=COORDINATOR)
    report = world.engine.migrations.apply(plan.id, actor=COORDINATOR)
    assert [r.cycle_id for r in report.migrated] == [first]
    assert report.skipped[0].cycle_id == second
    assert report.skipped[0].reason is not None
    assert report.skipped[0].reason.startswith("it changed since the preview")
    settled = rows(world.engine)
    again = world.engine.migrations.apply(plan.id, actor=COORDINATOR)
    assert again.migrated == [] and rows(world.engine) == settled
    assert world.engine.migrations.get(plan.id).report["migrated"] == [first]


def test_a_cycle_without_an_alliance_moves_by_the_added_duration(world: World) -> None:
    """A built-in template's cycle outside any alliance: no work plan, the deadline moves by
    exactly the added time; only an administrator plans moving every alliance's cycles."""
    from tests.cycle_engine.templates.conftest import ADMIN, LEARNING_CYCLE
    from tests.cycle_engine.templates.helpers import edited

    cycle = world.engine.start_cycle("learning-cycle", "Loose", actor=COORDINATOR, standalone=True)
    assert cycle.id is not None
    v2 = edited(LEARNING_CYCLE, duration("question_workshop", "P4W"))
    world.engine.templates.publish(v2, actor=ADMIN)
    plan = world.engine.migrations.create_plan("learning-cycle", actor=ADMIN)
    preview = world.engine.migrations.preview(plan.id, actor=ADMIN)
    (forecast,) = preview.migrating
    assert forecast.deadlines[0].after == cycle.started_at + timedelta(weeks=4)
    world.engine.migrations.apply(plan.id, actor=ADMIN)
    assert observed(world.engine, cycle.id) == predicted(forecast)
