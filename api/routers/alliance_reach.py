"""The one role check for commands on an alliance: the caller needs one of `roles` in it, and an
alliance out of reach answers 404, not 403. Shared by the routers that correct, grant and
import."""

from __future__ import annotations

from cycle_engine.api.access import Access, require_role
from cycle_engine.api.routers.alliances import reach_alliance
from cycle_engine.engine import CycleEngine


def require_alliance_role(engine: CycleEngine, key: Access, alliance_id: int, *roles: str) -> None:
    """Refuse (403) a caller with none of `roles` in the alliance; 404 if it is out of reach."""
    require_role(
        key,
        *roles,
        alliance_id=alliance_id,
        in_reach=lambda: reach_alliance(engine, key, alliance_id),
    )
