"""Guards of the new version that would block a migrated cycle now, and did not before.

For each trigger from the cycle's stage in the new version (for a paused cycle, the stage it will
resume in), the requirements the old version did not have for that trigger (new guards, or old
guards with a new argument) are checked against the cycle's records as they are, with the cycle
seen in its new stage. A requirement the old version already had is not "newly" blocking, and a
note is asked for when firing, so neither is listed. Checking reads; it never writes: the cycle
row is shown in its new stage through committed values and restored at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from cycle_engine.spec.guards import GuardContext, GuardRegistry
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.tables import CycleRecord
from cycle_engine.templates.forecast import CycleForecast, GuardBlock
from cycle_engine.templates.snapshot import CycleSnapshot

#: Guards that depend on the firing itself, not on the cycle's records.
ASKED_WHEN_FIRING = frozenset({"note"})


def newly_blocking(
    session: Session,
    snap: CycleSnapshot,
    target: TemplateSpec,
    forecast: CycleForecast,
    guards: GuardRegistry,
    now: datetime,
) -> tuple[GuardBlock, ...]:
    """The triggers the new version would block now for a reason the old one had not."""
    if forecast.stage_after is None:
        return ()
    stage = forecast.resume_after or forecast.stage_after
    old_stage = snap.work_stage
    before = {
        t.trigger: {(g.name, repr(g.arg)) for g in t.guards}
        for t in snap.spec.transitions
        if old_stage in t.sources
    }
    blocks: list[GuardBlock] = []
    with _seen_in(snap.cycle, stage):
        ctx = GuardContext(session=session, cycle=snap.cycle, spec=target, now=now)
        for transition in target.transitions:
            if stage not in transition.sources:
                continue
            known = before.get(transition.trigger, set())
            reasons: list[str] = []
            for guard in transition.guards:
                if guard.name in ASKED_WHEN_FIRING or (guard.name, repr(guard.arg)) in known:
                    continue
                definition = guards.get(guard.name)
                if definition is not None:
                    reasons.extend(definition.check(ctx, guard.arg))
            if reasons:
                blocks.append(GuardBlock(trigger=transition.trigger, reasons=tuple(reasons)))
    return tuple(blocks)


@contextmanager
def _seen_in(cycle: CycleRecord, stage: str) -> Iterator[None]:
    """The cycle row shows `stage` (not paused) while guards look, then what it was: set as
    committed values, so the session has nothing to write."""
    saved = (cycle.state, cycle.resume_state)
    set_committed_value(cycle, "state", stage)
    set_committed_value(cycle, "resume_state", None)
    try:
        yield
    finally:
        set_committed_value(cycle, "state", saved[0])
        set_committed_value(cycle, "resume_state", saved[1])
