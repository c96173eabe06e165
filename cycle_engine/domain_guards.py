"""Guards about the Learning Alliance domain: products, contexts, roles and questions.

Filled in by the alliance-domain work; kept apart from the core guards so the core reads alone.
"""

from __future__ import annotations

from cycle_engine.guards import GuardDefinition

DOMAIN_GUARDS: list[GuardDefinition] = []
