"""API keys for the `cycle-engine key` commands: create (the token is shown once), list, revoke.

The keys themselves (the `ce_<prefix>_<secret>` token, its hash, checking it on each request)
are the engine's credentials (`engine.alliances.credentials`), and what each key's role may see
and do is decided in `api.access`. These functions keep the signatures the key commands call
with a database and a clock; code holding an engine calls `engine.alliances.credentials`.
"""

from __future__ import annotations

from cycle_engine.alliances.credentials import CreatedKey, Credentials
from cycle_engine.clock import Clock, SystemClock
from cycle_engine.store.db import Database
from cycle_engine.store.tables.access import ApiKeyRecord

__all__ = ["CreatedKey", "create_key", "list_keys", "revoke_key"]


def create_key(
    db: Database,
    clock: Clock,
    *,
    name: str,
    role: str,
    alliance_id: int | None = None,
    organisation_id: int | None = None,
) -> CreatedKey:
    """Create a key; raises InvalidInput for a bad role or reach, *NotFound for unknown ids."""
    return Credentials(db=db, clock=clock).create_key(
        name=name, role=role, alliance_id=alliance_id, organisation_id=organisation_id
    )


def list_keys(db: Database, *, include_revoked: bool = False) -> list[ApiKeyRecord]:
    """The keys, oldest first (revoked ones too when asked)."""
    return Credentials(db=db, clock=SystemClock()).keys(include_revoked=include_revoked)


def revoke_key(db: Database, clock: Clock, prefix: str) -> ApiKeyRecord:
    """Revoke the key with `prefix` (the token's part after `ce_`); raises NotFound."""
    return Credentials(db=db, clock=clock).revoke_key(prefix)
