"""`context_rated: weak` lets a template require a rating, so ratings are words a template may
use and the loader checks (issue 14); the guard passes once a context of this round reported
results with that rating."""

from __future__ import annotations

from cycle_engine.alliances.guards import default_guards
from cycle_engine.spec.guards import GuardContext
from cycle_engine.store.tables import CycleRecord
from tests.cycle_engine.alliances.conftest import COORDINATOR, World
from tests.cycle_engine.alliances.test_products_contexts import _to_testing


def _check(world: World, cycle_id: int, rating: str) -> list[str]:
    engine = world.engine
    guard = default_guards()["context_rated"]
    with engine.db.read_session() as session:
        row = session.get(CycleRecord, cycle_id)
        assert row is not None
        spec = engine.templates.spec_of(row.template_id)
        context = GuardContext(session=session, cycle=row, spec=spec, now=engine.clock.now())
        return guard.check(context, rating)


def test_context_rated_passes_only_on_that_rating_this_round(world: World) -> None:
    """A strong report does not satisfy `weak`; a weak one does."""
    cycle = _to_testing(world)
    e = world.engine
    site = e.work.add_context(cycle, "Quiché", "Guatemala", "Nebaj", world.research).id or 0
    assert _check(world, cycle, "weak") == [
        "no context reported results rated weak in this testing round"
    ]
    e.work.report_context(cycle, site, "Buyers came back.", "strong", actor=COORDINATOR)
    assert _check(world, cycle, "weak") != [] and _check(world, cycle, "strong") == []
    other = e.work.add_context(cycle, "Intibucá", "Honduras", "La Esperanza", world.ngo).id or 0
    e.work.report_context(cycle, other, "Nobody used it.", "weak", actor=COORDINATOR)
    assert _check(world, cycle, "weak") == []
