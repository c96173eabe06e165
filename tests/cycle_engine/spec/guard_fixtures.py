"""Guard registries for template tests that do not depend on the domain guards being written.

The checks always pass: template tests only care about guard names and argument types.
"""

from __future__ import annotations

from cycle_engine.alliances.guards import ALLIANCE_VOCABULARY
from cycle_engine.spec.guards import GuardContext, GuardDefinition, GuardRegistry
from cycle_engine.spec.specs import GuardArg

#: The guards built-in templates name, with the argument type each takes.
GUARD_ARG_TYPES: dict[str, type] = {
    "note": bool,
    "product": str,
    "contexts_reported": int,
    "roles_assigned": bool,
    "learning_questions": int,
    "questions_answered": bool,
    "distinct_countries": int,
    "distinct_communities": int,
}


def _always_passes(ctx: GuardContext, arg: GuardArg) -> list[str]:
    return []


def stub_guards() -> GuardRegistry:
    """A registry with every guard the built-in templates name, each one always passing, and
    the domain's vocabulary (product kinds are checked at load time)."""
    return GuardRegistry(
        [
            GuardDefinition(
                name=name,
                arg_type=arg_type,
                description=f"stub {name}",
                check=_always_passes,
                arg_choices="product_kinds" if name == "product" else None,
            )
            for name, arg_type in GUARD_ARG_TYPES.items()
        ],
        vocabulary=ALLIANCE_VOCABULARY,
    )
