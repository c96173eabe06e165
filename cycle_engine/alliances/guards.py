"""Guards about the Learning Alliance domain: products, contexts, roles and questions.

Kept apart from the core guards so the core reads alone. Each guard returns the reasons it
blocks, naming what is missing, so `available_triggers` can tell a coordinator what to do.
"""

from __future__ import annotations

from cycle_engine.alliances.agenda import OPEN, question_states
from cycle_engine.alliances.common import active_stage, work_stage_keys
from cycle_engine.alliances.contexts import (
    RATINGS,
    ContextRound,
    current_round,
    reported_in_round,
    results_of,
)
from cycle_engine.alliances.distinct import DISTINCT_GUARDS
from cycle_engine.alliances.participation import lacking_focal_point
from cycle_engine.alliances.products import PRODUCT_KIND_TITLES, PRODUCT_KINDS, has_product
from cycle_engine.alliances.questions import count_questions
from cycle_engine.alliances.reach import ACTING_LEVELS
from cycle_engine.spec.guards import CORE_GUARDS, GuardContext, GuardDefinition, GuardRegistry
from cycle_engine.spec.specs import GuardArg
from cycle_engine.spec.vocabulary import Vocabulary
from cycle_engine.store.tables import CycleRecord
from cycle_engine.store.tables.alliances import LANGUAGES, LEVELS

#: The Learning Alliance words a template may use; the loader refuses any other (see
#: `cycle_engine.spec.vocabulary`). The README and the JSON Schema list them, generated from here.
ALLIANCE_VOCABULARY = Vocabulary(
    participation_levels=LEVELS,
    acting_levels=tuple(level for level in LEVELS if level in ACTING_LEVELS),
    stage_contacts=("focal_point", "deputy"),
    product_kinds=PRODUCT_KINDS,
    ratings=RATINGS,
    languages=LANGUAGES,
)


def _cycle_id(ctx: GuardContext) -> int:
    assert ctx.cycle.id is not None
    return ctx.cycle.id


def _cycle(ctx: GuardContext) -> CycleRecord:
    """The guarded cycle's row (the session already holds it: no query)."""
    cycle = ctx.session.get(CycleRecord, _cycle_id(ctx))
    assert cycle is not None
    return cycle


def _product(ctx: GuardContext, arg: GuardArg) -> list[str]:
    kind = str(arg)
    if has_product(ctx.session, _cycle_id(ctx), kind):
        return []
    known = (
        "" if kind in PRODUCT_KINDS else f" (not a known product kind: {', '.join(PRODUCT_KINDS)})"
    )
    title = PRODUCT_KIND_TITLES.get(kind, kind)  # the title people read, not the key
    return [f"no product “{title}” recorded yet{known}"]


def _contexts_reported(ctx: GuardContext, arg: GuardArg) -> list[str]:
    needed = int(arg or 0)
    testing = current_round(ctx.session, _cycle(ctx), ctx.spec)
    if testing is None:  # guard used outside a testing stage: count the stage's first visit
        stage = active_stage(_cycle(ctx)) or ctx.cycle.state
        testing = ContextRound(stage=stage, visit=1)
    names = reported_in_round(ctx.session, _cycle_id(ctx), testing)
    if len(names) >= needed:
        return []
    have = f": {', '.join(names)}" if names else ""
    round_note = f" in testing round {testing.number}" if testing.number > 1 else ""
    return [f"{needed} contexts must report results{round_note}; {len(names)} have{have}"]


def _context_rated(ctx: GuardContext, arg: GuardArg) -> list[str]:
    """At least one context of this testing round reported results rated `arg` (`weak`: the
    round showed the prototype needs rework)."""
    rating = str(arg)
    testing = current_round(ctx.session, _cycle(ctx), ctx.spec)
    if testing is None:
        stage = active_stage(_cycle(ctx)) or ctx.cycle.state
        testing = ContextRound(stage=stage, visit=1)
    rated = [
        r
        for r in results_of(ctx.session, _cycle_id(ctx))
        if r.stage == testing.stage
        and testing.first_visit <= r.visit <= testing.visit
        and r.rating == rating
    ]
    return [] if rated else [f"no context reported results rated {rating} in this testing round"]


def _roles_assigned(ctx: GuardContext, arg: GuardArg) -> list[str]:
    if not arg:
        return []
    keys = work_stage_keys(ctx.spec)
    current = active_stage(_cycle(ctx))
    remaining = keys[keys.index(current) + 1 :] if current in keys else keys
    lacking = lacking_focal_point(ctx.session, _cycle_id(ctx), remaining)
    return [  # the stage's title, as people read it (issue 14: no raw keys in reasons)
        f"stage {_title(ctx, stage)} lacks a lead with an active focal point: {why}"
        for stage, why in lacking.items()
    ]


def _title(ctx: GuardContext, stage: str) -> str:
    return ctx.spec.stage(stage).title if ctx.spec.has_stage(stage) else stage


def _learning_questions(ctx: GuardContext, arg: GuardArg) -> list[str]:
    needed = int(arg or 0)
    if not needed:
        return []
    have = count_questions(ctx.session, _cycle_id(ctx))
    if have >= needed:
        return []
    return [f"at least {needed} learning question(s) needed; {have} recorded"]


def _questions_answered(ctx: GuardContext, arg: GuardArg) -> list[str]:
    if not arg:
        return []
    states = question_states(ctx.session, _cycle_id(ctx))
    return [
        f"learning question {s.question.position} is still open: {s.question.text!r} (record "
        "it answered, advanced, or carried forward with a note)"
        for s in states
        if s.status == OPEN
    ]


DOMAIN_GUARDS: list[GuardDefinition] = [
    GuardDefinition(
        name="product",
        arg_type=str,
        check=_product,
        description="at least one product of the given kind is recorded for the cycle",
        arg_choices="product_kinds",
    ),
    GuardDefinition(
        name="contexts_reported",
        arg_type=int,
        check=_contexts_reported,
        description="at least N testing contexts reported results in this testing round",
    ),
    GuardDefinition(
        name="context_rated",
        arg_type=str,
        check=_context_rated,
        description="a context of this testing round reported results with the given rating",
        arg_choices="ratings",
    ),
    GuardDefinition(
        name="roles_assigned",
        arg_type=bool,
        check=_roles_assigned,
        description="every later work stage has a lead organisation with an active focal point",
    ),
    GuardDefinition(
        name="learning_questions",
        arg_type=int,
        check=_learning_questions,
        description="at least N learning questions are recorded",
    ),
    GuardDefinition(
        name="questions_answered",
        arg_type=bool,
        check=_questions_answered,
        description="every learning question is answered, advanced or carried forward",
    ),
]


def default_guards() -> GuardRegistry:
    """The guards the built-in templates use: the core ones and the Learning Alliance ones."""
    return GuardRegistry(
        [*CORE_GUARDS, *DOMAIN_GUARDS, *DISTINCT_GUARDS], vocabulary=ALLIANCE_VOCABULARY
    )
