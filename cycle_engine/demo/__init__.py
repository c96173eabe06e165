"""`cycle-engine demo`: seed a realistic Learning Alliance and walk one cycle end to end.

Seeds the Central American alliance of `demo.data` (19 partner agencies, 57 local
organisations, their people), starts cycles at different stages (some overdue against their
plans), and walks one cycle through every stage with real roles, dates, products, contexts and
learning, printing each step. Time comes from a ManualClock set months in the past and moved
forward as the walk goes, so the history reads like a real year. Running it again on the same
database only prints what is there (the seed is skipped when the alliance exists).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cycle_engine.actors import Actor
from cycle_engine.demo.data import (
    ALLIANCE,
)
from cycle_engine.demo.history import settle_demo_history
from cycle_engine.demo.learning_story import tell_learning_story
from cycle_engine.demo.seed import Seed, seed_alliance
from cycle_engine.engine import CycleEngine
from cycle_engine.errors import TransitionNotAllowed
from cycle_engine.store.schema import upgrade
from cycle_engine.testing import ManualClock

Echo = Callable[[str], None]
#: Notices the demo dates earlier than this before today are its history (`demo.history`).
HISTORY_AGE = timedelta(days=1)


def run_demo(url: str, echo: Echo, *, data_dir: Path | None = None) -> None:
    """Seed the demo alliance at `url` (unless present) and walk a cycle, printing each step."""
    upgrade(url)
    real_now = datetime.now(UTC).replace(hour=15, minute=0, second=0, microsecond=0)
    clock = ManualClock(real_now - timedelta(days=330))
    with CycleEngine(url, clock=clock, data_dir=data_dir) as engine:
        engine.publish_builtin_templates()
        existing = engine.alliances.find_alliance(str(ALLIANCE["name"]))
        if existing is not None and existing.id is not None:
            echo(f"demo alliance already seeded (alliance {existing.id}); nothing to add")
            _summary(engine, existing.id, echo)
            return
        seed = seed_alliance(engine, clock)
        echo(f"seeded {seed.summary}")
        walked = _walk(engine, clock, seed, echo)
        _other_cycles(engine, clock, seed, real_now, echo)
        tell_learning_story(engine, clock, seed, walked, real_now, echo)
        held = settle_demo_history(engine, real_now - HISTORY_AGE)
        echo(f"{held} notices about the demo's past kept as history, not sent (see the mail log)")
        _summary(engine, seed.alliance_id, echo)
        echo(f"report of the walked cycle: cycle-engine cycle report {walked} --format html")
        echo(f"the alliance's learning: cycle-engine learning report {seed.alliance_id}")


COORDINATOR = Actor(name="Lucía Ramírez", role="coordinator")
STAGES = [
    "question_workshop",
    "role_assignment",
    "work_plan",
    "good_practice_review",
    "prototype",
    "multi_context_testing",
    "documentation",
]


def _assign_all(
    engine: CycleEngine, cycle_id: int, seed: Seed, leads: list[int], from_stage: int = 1
) -> None:
    """Give every stage from `from_stage` a lead (with focal point and deputy), two active
    partners and two informed local organisations."""
    for offset, stage in enumerate(STAGES[from_stage:]):
        lead = leads[offset % len(leads)]
        engine.work.assign(
            cycle_id,
            stage,
            lead,
            "lead",
            focal_point_id=seed.contact[lead],
            deputy_id=seed.deputy[lead],
            actor=COORDINATOR,
        )
        for other in (seed.partners[(lead + offset + 3) % 19], seed.partners[(lead + 7) % 19]):
            if other != lead:
                engine.work.assign(cycle_id, stage, other, "active", actor=COORDINATOR)
        for local in seed.locals[offset * 2 : offset * 2 + 2]:
            engine.work.assign(cycle_id, stage, local, "informed", actor=COORDINATOR)


def _fire(
    engine: CycleEngine, cycle_id: int, trigger: str, echo: Echo, note: str | None = None
) -> None:
    result = engine.fire(cycle_id, trigger, actor=COORDINATOR, note=note)
    echo(f"  {result.from_state} -> {result.to_state} ({trigger})")


def _walk(engine: CycleEngine, clock: ManualClock, seed: Seed, echo: Echo) -> int:
    p = seed.partners
    echo("walking one cycle end to end:")
    cycle = engine.start_cycle(
        "learning-cycle",
        "Linking farmer groups to buyers in the Central American highlands",
        alliance_id=seed.alliance_id,
        topic="Rural enterprise development",
        actor=COORDINATOR,
        questions=[
            "Which forms of organisation help smallholder groups sell to formal buyers?",
            "What support do local organisations need to negotiate contracts on their own?",
        ],
    )
    cid = cycle.id
    assert cid is not None
    echo(f"  started cycle {cid} with 2 learning questions in question_workshop")
    _near_due(engine, clock, cid, "question_workshop", days_before=4)
    engine.work.add_questions(
        cid, ["How do buyers judge the reliability of a farmer group?"], actor=COORDINATOR
    )
    echo("  a third question was agreed at the workshop")
    _fire(engine, cid, "questions_agreed", echo)
    _near_due(engine, clock, cid, "role_assignment", days_before=6)
    engine.work.assign(
        cid, "work_plan", p[0], "lead", focal_point_id=seed.contact[p[0]], actor=COORDINATOR
    )
    try:
        engine.fire(cid, "roles_assigned", actor=COORDINATOR)
    except TransitionNotAllowed as blocked:
        echo(
            f"  roles_assigned is blocked: {blocked.reasons[0]} (and "
            f"{len(blocked.reasons) - 1} more)"
        )
    _assign_all(engine, cid, seed, [p[0], p[3], p[15], p[4], p[6], p[1]], from_stage=2)
    for runner in (p[3], p[5]):  # with the lead (p[4]), they run the three testing contexts
        engine.work.assign(cid, "multi_context_testing", runner, "active", actor=COORDINATOR)
    echo("  every remaining stage now has a lead with a focal point")
    echo("  the agencies that will run the testing contexts chose an active part in testing")
    _fire(engine, cid, "roles_assigned", echo)
    _near_due(engine, clock, cid, "work_plan", days_before=5)
    plan = engine.work.move_due_date(
        cid,
        "good_practice_review",
        _plan_due(engine, cid, "good_practice_review") + timedelta(days=14),
        reason="The review team waits for the coffee harvest survey",
        actor=COORDINATOR,
    )
    echo(
        f"  good_practice_review due moved two weeks; documentation now due "
        f"{plan[-1].planned_due:%Y-%m-%d}"
    )
    _fire(engine, cid, "plan_approved", echo)
    _near_due(engine, clock, cid, "good_practice_review", days_before=3)
    engine.work.add_product(
        cid,
        "good_practice_review",
        "Good practice in linking farmer groups to buyers",
        p[0],
        file_name="good-practice-review.md",
        content=b"# Good practice review\n\nTwelve experiences from four countries.\n",
        actor=COORDINATOR,
    )
    echo("  good-practice review stored under the data directory")
    _fire(engine, cid, "review_completed", echo)
    _near_due(engine, clock, cid, "prototype", days_before=5)
    engine.work.add_product(
        cid,
        "prototype",
        "Buyer-readiness self-assessment tool",
        p[3],
        form="tool",
        link="https://docs.example.org/buyer-readiness-tool",
        actor=COORDINATOR,
    )
    _fire(engine, cid, "prototypes_ready", echo)
    contexts = [
        engine.work.add_context(
            cid, "Quiché highlands", "Guatemala", "Santa Cruz del Quiché", p[3], actor=COORDINATOR
        ),
        engine.work.add_context(
            cid, "Intibucá coffee", "Honduras", "La Esperanza", p[4], actor=COORDINATOR
        ),
        engine.work.add_context(
            cid, "Matagalpa dairy", "Nicaragua", "San Dionisio", p[5], actor=COORDINATOR
        ),
    ]
    ids = [c.id or 0 for c in contexts]
    clock.advance(timedelta(days=45))
    engine.work.report_context(
        cid, ids[0], "Groups scored themselves and three found buyers.", "strong", actor=COORDINATOR
    )
    engine.work.report_context(
        cid, ids[1], "The tool assumes literacy many members lack.", "weak", actor=COORDINATOR
    )
    _fire(
        engine,
        cid,
        "results_weak",
        echo,
        note="The tool needs a pictorial version for groups with low literacy",
    )
    clock.advance(timedelta(days=20))
    engine.work.add_product(
        cid,
        "adapted_version",
        "Pictorial buyer-readiness tool",
        p[4],
        form="tool",
        link="https://docs.example.org/buyer-readiness-pictorial",
        actor=COORDINATOR,
    )
    adapted = engine.work.cycle_products(cid, "adapted_version")[0].id or 0
    engine.learning.link_adapted_version(
        cid, adapted, engine.work.cycle_products(cid, "prototype")[0].id or 0, ids[1],
        actor=COORDINATOR,
    )  # fmt: skip
    _fire(engine, cid, "prototypes_ready", echo)
    engine.learning.raise_question(
        cid,
        "Does the pictorial tool work for dairy groups as well as for coffee groups?",
        "The Matagalpa dairy groups asked for it during testing",
        organisation_id=p[5],
        actor=COORDINATOR,
    )
    echo("  a question raised during testing joined the alliance's learning agenda")
    _near_due(engine, clock, cid, "multi_context_testing", days_before=2)
    for context_id, summary in zip(
        ids,
        [
            "Pictorial version used by 14 groups; two new contracts with a supermarket chain.",
            "Groups with low literacy completed the assessment in one afternoon.",
            "Dairy groups used it to prepare for a cheese buyer's audit.",
        ],
        strict=True,
    ):
        engine.work.report_context(cid, context_id, summary, "strong", actor=COORDINATOR)
    _fire(engine, cid, "testing_completed", echo)
    _near_due(engine, clock, cid, "documentation", days_before=4)
    engine.work.add_product(
        cid,
        "documented_results",
        "Linking farmer groups to buyers: results",
        p[0],
        link="https://docs.example.org/linking-results",
        actor=COORDINATOR,
    )
    questions = [s.question.id or 0 for s in engine.learning.question_states(cid)]
    engine.learning.record_question_status(
        cid,
        questions[0],
        "answered",
        text="Second-level associations that pool volumes and quality control.",
        actor=COORDINATOR,
    )
    engine.learning.record_question_status(
        cid,
        questions[1],
        "advanced",
        text="Practice negotiating with real buyers, and simple cost records; contract terms "
        "still need outside help.",
        actor=COORDINATOR,
    )
    engine.learning.record_question_status(
        cid,
        questions[2],
        "carried_forward",
        note="One season of delivery records is too short to judge reliability",
        actor=COORDINATOR,
    )
    engine.learning.record_question_status(
        cid,
        questions[3],
        "carried_forward",
        note="Only two dairy groups took part; the follow-on cycle tests it widely",
        actor=COORDINATOR,
    )
    echo("  questions: 1 answered, 1 advanced, 2 carried forward with a note")
    engine.work.add_learning(
        cid,
        "organisational_learning",
        "Joint reviews across countries",
        "Partners now review field results together every quarter.",
        [p[0], p[3]],
        actor=COORDINATOR,
    )
    engine.work.add_learning(
        cid,
        "development_interventions",
        "Pictorial tools first",
        "Start with pictorial tools where literacy is low.",
        [p[4], p[5]],
        actor=COORDINATOR,
    )
    engine.work.add_learning(
        cid,
        "knowledge_capacity",
        "Negotiation skills",
        "Local organisations practised contract negotiation.",
        [seed.locals[0], seed.locals[3]],
        actor=COORDINATOR,
    )
    _fire(engine, cid, "cycle_documented", echo)
    report = engine.work.render_report(cid)
    echo(f"  report: {len(report.splitlines())} lines, e.g. '{report.splitlines()[0]}'")
    return cid


def _near_due(
    engine: CycleEngine, clock: ManualClock, cycle_id: int, stage: str, days_before: int
) -> None:
    """Move the clock to a few days before the stage's planned due date (the walk keeps to
    its plan, as a well-facilitated cycle does)."""
    row = next(r for r in engine.work.work_plan(cycle_id) if r.stage == stage)
    clock.set(max(clock.now(), row.planned_due - timedelta(days=days_before)))


def _plan_due(engine: CycleEngine, cycle_id: int, stage: str) -> date:
    row = next(r for r in engine.work.work_plan(cycle_id) if r.stage == stage)
    return row.planned_due.date()


def _other_cycles(
    engine: CycleEngine, clock: ManualClock, seed: Seed, real_now: datetime, echo: Echo
) -> None:
    """Cycles left at different stages; started in the past, so some are overdue now."""
    p = seed.partners
    clock.set(real_now - timedelta(days=150))
    coffee = engine.start_cycle(
        "learning-cycle",
        "Market access for smallholder coffee cooperatives",
        alliance_id=seed.alliance_id,
        topic="Market access",
        actor=COORDINATOR,
        questions=["Which certification pays off for cooperatives under 100 members?"],
    )
    assert coffee.id is not None
    _fire_quiet(engine, coffee.id, "questions_agreed")
    _assign_all(engine, coffee.id, seed, [p[15], p[9], p[12]], from_stage=2)
    for trigger in ("roles_assigned", "plan_approved"):
        _fire_quiet(engine, coffee.id, trigger)
    clock.advance(timedelta(days=30))
    engine.work.add_product(
        coffee.id,
        "good_practice_review",
        "Certification schemes compared",
        p[15],
        link="https://docs.example.org/certification-review",
        actor=COORDINATOR,
    )
    _fire_quiet(engine, coffee.id, "review_completed")
    echo(f"cycle {coffee.id}: coffee market access, in prototype (overdue)")

    clock.set(real_now - timedelta(days=100))
    seeds = engine.start_cycle(
        "learning-cycle",
        "Community seed systems for beans and maize",
        alliance_id=seed.alliance_id,
        topic="Seed systems",
        actor=COORDINATOR,
        questions=["How can community seed banks keep native varieties available?"],
    )
    assert seeds.id is not None
    _fire_quiet(engine, seeds.id, "questions_agreed")
    _assign_all(engine, seeds.id, seed, [p[18], p[13], p[5]], from_stage=2)
    clock.advance(timedelta(days=20))
    left = seed.contact[p[13]]
    flagged = engine.alliances.person_left(
        left,
        left_on=clock.now().date(),
        actor=COORDINATOR,
        note="Moved to a national seed programme",
    )
    echo(
        f"cycle {seeds.id}: seed systems, in role_assignment; a focal point left, "
        f"{len(flagged.get(seeds.id, []))} stages need a new one"
    )

    clock.set(real_now - timedelta(days=20))
    rapid = engine.start_cycle(
        "rapid-cycle",
        "Local market price information by SMS",
        alliance_id=seed.alliance_id,
        topic="Market access",
        actor=COORDINATOR,
        questions=["Do farmers act on SMS price information?"],
    )
    assert rapid.id is not None
    for stage in ("quick_review", "prototype", "field_test", "documentation"):
        engine.work.assign(
            rapid.id, stage, p[8], "lead", focal_point_id=seed.contact[p[8]], actor=COORDINATOR
        )
    _fire_quiet(engine, rapid.id, "kickoff_done")
    echo(f"cycle {rapid.id}: SMS price information (rapid cycle), in quick_review")


def _fire_quiet(engine: CycleEngine, cycle_id: int, trigger: str) -> None:
    engine.fire(cycle_id, trigger, actor=COORDINATOR)


def _summary(engine: CycleEngine, alliance_id: int, echo: Echo) -> None:
    cycles = [c for c in engine.cycles.list_cycles(limit=1000) if c.alliance_id == alliance_id]
    echo(
        f"alliance {alliance_id}: {len(engine.alliances.alliance_members(alliance_id))} member "
        f"organisations, {len(cycles)} cycles"
    )
    for c in cycles:
        echo(f"  cycle {c.id}: {c.state:<22} {c.title}")
    flagged = [t for t in engine.alliances.turnover(alliance_id) if t.left]
    for t in flagged:
        echo(
            f"  turnover: {t.organisation}: {t.left} of {t.headcount} left; "
            f"{t.stages_needing_focal_point} stages need a new focal point"
        )
