"""The demo's story above the cycle: the walked cycle feeds a follow-on cycle, partner agencies
and local organisations use and adapt its tools across the four countries, outcomes follow,
and one organisation leaves the alliance.

Adoption rows are written one per organisation and place, so the alliance learning report
computes how many partner agencies, local organisations and countries used or adapted each tool
from records (`engine.learning.alliance_report`), never from text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from cycle_engine.actors import Actor
from cycle_engine.demo.data import PARTNERS, local_organisations
from cycle_engine.demo.seed import Seed
from cycle_engine.engine import CycleEngine
from cycle_engine.testing import ManualClock

Echo = Callable[[str], None]
COORDINATOR = Actor(name="Lucía Ramírez", role="coordinator")
#: Partner agencies (by index in `demo.data.PARTNERS`) that used (u) or adapted (a) the tools.
AGENCY_USES = {0: "u", 3: "a", 4: "a", 5: "u", 6: "u", 7: "a", 8: "u", 11: "u", 12: "a", 15: "u"}
#: Every third local organisation used the pictorial tool, every seventh adapted it.
LOCAL_STEP_USED, LOCAL_STEP_ADAPTED = 3, 7


def tell_learning_story(
    engine: CycleEngine,
    clock: ManualClock,
    seed: Seed,
    walked: int,
    real_now: datetime,
    echo: Echo,
) -> int:
    """Write the story's records; returns the follow-on cycle's id."""
    echo("the alliance's learning above the cycle:")
    clock.set(real_now - timedelta(days=12))
    _adoptions(engine, seed, walked, clock.now())
    follow = engine.learning.start_follow_on(
        walked,
        "Buyer-readiness tools for dairy and coffee groups",
        note="Carry the open questions and the pictorial tool into a wider test",
        actor=COORDINATOR,
    )
    new = follow.cycle.id or 0
    carried = len(engine.learning.question_states(new))
    echo(f"  cycle {new} follows on from cycle {walked} with {carried} carried questions")
    _outcomes(engine, seed, walked, clock.now())
    clock.advance(timedelta(days=5))
    leaving = seed.partners[12]
    flagged = engine.learning.organisation_left(
        seed.alliance_id,
        leaving,
        "Its regional programme closed when the funding cycle ended",
        actor=COORDINATOR,
    )
    echo(
        f"  organisation {leaving} left the alliance; open roles flagged in {len(flagged)} cycle(s)"
    )
    report = engine.learning.alliance_report(seed.alliance_id)
    spread = report.adoption.spread
    echo(
        f"  Table 1 indicator, from records: {spread.agencies} partner agencies and "
        f"{spread.local_organisations} local organisations in {spread.countries} countries "
        "used or adapted the buyer-readiness tools"
    )
    return new


def _adoptions(engine: CycleEngine, seed: Seed, walked: int, now: datetime) -> None:
    tools = {p.kind: p.id or 0 for p in engine.work.cycle_products(walked)}
    day = (now - timedelta(days=30)).date()
    for index, use in AGENCY_USES.items():
        name, _, country, *_ = PARTNERS[index]
        engine.learning.record_adoption(
            seed.alliance_id,
            tools["adapted_version" if use == "a" else "prototype"],
            seed.partners[index],
            "adapted" if use == "a" else "used",
            country=country,
            place=f"{name} field offices",
            adopted_on=day,
            description="Used with farmer groups preparing to meet buyers",
            actor=COORDINATOR,
        )
    for index, (name, country, _) in enumerate(local_organisations()):
        if index % LOCAL_STEP_ADAPTED == 0:
            use = "adapted"
        elif index % LOCAL_STEP_USED == 0:
            use = "used"
        else:
            continue
        engine.learning.record_adoption(
            seed.alliance_id,
            tools["adapted_version"],
            seed.locals[index],
            use,
            country=country,
            place=name,
            adopted_on=day,
            description="Members scored their group with the pictorial tool",
            actor=COORDINATOR,
        )


def _outcomes(engine: CycleEngine, seed: Seed, walked: int, now: datetime) -> None:
    learning = engine.work.learning_log(walked)
    by_kind = {e.record.kind: e.record.id or 0 for e in learning}
    day = (now - timedelta(days=5)).date()
    for kind, title, text, learning_kind, organisation in (
        (
            "practice_change",
            "Quarterly cross-country reviews",
            "Partner offices now share field results every quarter.",
            "organisational_learning",
            seed.partners[0],
        ),
        (
            "development_intervention",
            "From production to buyers",
            "Two NGOs moved their programmes from production support to buyer links.",
            "development_interventions",
            seed.partners[4],
        ),
        (
            "policy_dialogue",
            "Extension service round table",
            "The results were presented to El Salvador's extension service.",
            None,
            seed.partners[11],
        ),
        (
            "research_need",
            "Price series for local markets",
            "No reliable price series exists for the highland markets the groups sell in.",
            None,
            None,
        ),
    ):
        engine.learning.record_outcome(
            seed.alliance_id,
            kind,
            title,
            text,
            observed_on=day,
            cycle_ids=[walked],
            learning_ids=[by_kind[learning_kind]] if learning_kind else [],
            organisation_id=organisation,
            actor=COORDINATOR,
        )
