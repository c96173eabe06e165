"""Distinct contexts: multi-context testing counts contexts that differ by a rule the template
declares, run by organisations with a role in the testing stage; and adapted versions linked to
the prototype and the context they came from.

Two guards a template may name on the transition out of testing:

    distinct_countries: N     the contexts that reported this round span at least N countries
    distinct_communities: N   ... at least N distinct communities (country and community)

Only contexts run by an organisation leading or taking active part in the testing stage count;
the refusal names the ones left out and why, so three reports from one village, or from an
organisation with no testing role, do not pass for testing in distinct contexts.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session, col, select

from cycle_engine.alliances.common import CycleOp, active_stage
from cycle_engine.alliances.contexts import ContextRound, current_round, get_context
from cycle_engine.alliances.reach import ACTING_LEVELS
from cycle_engine.errors import InputConflict, RecordNotFound
from cycle_engine.spec.guards import GuardContext, GuardDefinition
from cycle_engine.spec.specs import GuardArg
from cycle_engine.store.tables import CycleRecord
from cycle_engine.store.tables.alliances import (
    ContextRecord,
    ContextResultRecord,
    ParticipationRecord,
    ProductRecord,
)
from cycle_engine.store.tables.learning import AdaptedVersionRecord


def counted_contexts(
    session: Session, cycle_id: int, testing: ContextRound
) -> tuple[list[ContextRecord], list[str]]:
    """Contexts that reported in the round and are run by an organisation with a lead or active
    role in the testing stage, and why each other reporting context is left out."""
    reported = session.exec(
        select(ContextRecord)
        .join(ContextResultRecord, col(ContextResultRecord.context_id) == ContextRecord.id)
        .where(
            ContextResultRecord.cycle_id == cycle_id,
            ContextResultRecord.stage == testing.stage,
            col(ContextResultRecord.visit) >= testing.first_visit,
            col(ContextResultRecord.visit) <= testing.visit,
        )
        .distinct()
        .order_by(col(ContextRecord.name))
    ).all()
    acting = set(
        session.exec(
            select(ParticipationRecord.organisation_id).where(
                ParticipationRecord.cycle_id == cycle_id,
                ParticipationRecord.stage == testing.stage,
                col(ParticipationRecord.level).in_(sorted(ACTING_LEVELS)),
            )
        )
    )
    counted = [c for c in reported if c.organisation_id in acting]
    left_out = [
        f"{c.name} (its organisation has no lead or active role in {testing.stage})"
        for c in reported
        if c.organisation_id not in acting
    ]
    return counted, left_out


def _distinct(what: str, key: Callable[[ContextRecord], object]) -> Callable[..., list[str]]:
    def check(ctx: GuardContext, arg: GuardArg) -> list[str]:
        needed = int(arg or 0)
        cycle = ctx.session.get(CycleRecord, ctx.cycle.id)
        assert cycle is not None and cycle.id is not None
        testing = current_round(ctx.session, cycle, ctx.spec)
        if testing is None:
            testing = ContextRound(stage=active_stage(cycle) or cycle.state, visit=1)
        counted, left_out = counted_contexts(ctx.session, cycle.id, testing)
        found = sorted({str(key(c)) for c in counted})
        if len(found) >= needed:
            return []
        have = f": {', '.join(found)}" if found else ""
        reasons = [f"contexts in {needed} distinct {what} must report; {len(found)} did{have}"]
        if left_out:
            reasons.append(f"not counted: {'; '.join(left_out)}")
        return reasons

    return check


DISTINCT_GUARDS = [
    GuardDefinition(
        name="distinct_countries",
        arg_type=int,
        check=_distinct("countries", lambda c: c.country.strip().casefold()),
        description="contexts in at least N countries reported this round, each run by an "
        "organisation leading or active in the testing stage",
    ),
    GuardDefinition(
        name="distinct_communities",
        arg_type=int,
        check=_distinct(
            "communities",
            lambda c: f"{c.community.strip().casefold()} ({c.country.strip().casefold()})",
        ),
        description="contexts in at least N distinct communities reported this round, each run "
        "by an organisation leading or active in the testing stage",
    ),
]


def link_adapted_version(
    op: CycleOp, *, product_id: int, prototype_id: int, context_id: int
) -> AdaptedVersionRecord:
    """Link an adapted version (a product of this cycle) to the prototype it adapts and the
    context it was adapted in. Raises RecordNotFound, InputConflict (wrong product kinds)."""
    product = op.session.get(ProductRecord, product_id)
    prototype = op.session.get(ProductRecord, prototype_id)
    for field, row in (("product_id", product), ("prototype_id", prototype)):
        if row is None or row.cycle_id != op.cycle_id:
            raise RecordNotFound("product", f"{field} of cycle {op.cycle_id}")
    assert product is not None and prototype is not None
    if product.kind != "adapted_version":
        raise InputConflict("product_id", f"product {product_id} is a {product.kind}")
    if prototype.kind != "prototype":
        raise InputConflict("prototype_id", f"product {prototype_id} is a {prototype.kind}")
    context = get_context(op.session, op.cycle_id, context_id)
    existing = op.session.exec(
        select(AdaptedVersionRecord).where(AdaptedVersionRecord.product_id == product_id)
    ).first()
    if existing is not None:
        raise InputConflict("product_id", f"adapted version {product_id} is already linked")
    link = AdaptedVersionRecord(
        product_id=product_id, prototype_id=prototype_id, context_id=context_id
    )
    op.session.add(link)
    op.session.flush()
    op.emit(
        "adapted_version_linked",
        {
            "product_id": product_id,
            "prototype_id": prototype_id,
            "context_id": context_id,
            "context": context.name,
        },
    )
    return link


def adapted_versions_of(session: Session, cycle_id: int) -> list[AdaptedVersionRecord]:
    return list(
        session.exec(
            select(AdaptedVersionRecord)
            .join(ProductRecord, col(ProductRecord.id) == AdaptedVersionRecord.product_id)
            .where(ProductRecord.cycle_id == cycle_id)
            .order_by(col(AdaptedVersionRecord.id))
        )
    )
