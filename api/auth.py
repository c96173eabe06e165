"""API keys and the reach of each key: who is calling, and which rows they may see or touch.

A token looks like `ce_<prefix>_<secret>`; only its SHA-256 hash and the prefix (for lookup) are
stored, so a token is shown once, at creation. Roles:

    admin                   every alliance
    coordinator, manager    one alliance (`alliance_id`)
    partner                 one organisation (`organisation_id`): only cycles it takes part in

Every query for a resource goes through a scoping helper here, so an object outside the key's
reach is simply not found (404): a key never learns that another alliance's row exists.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from sqlmodel import Session, col, select

from cycle_engine.actors import Actor
from cycle_engine.clock import Clock
from cycle_engine.errors import (
    AllianceNotFound,
    CycleNotFound,
    InvalidInput,
    NotFound,
    OrganisationNotFound,
)
from cycle_engine.store.db import Database
from cycle_engine.store.tables import CycleRecord
from cycle_engine.store.tables.access import KEY_ROLES, ApiKeyRecord
from cycle_engine.store.tables.alliances import (
    AllianceRecord,
    MembershipRecord,
    OrganisationRecord,
    ParticipationRecord,
)

TOKEN_PREFIX = "ce_"
LAST_USED_RESOLUTION = timedelta(minutes=1)
Q = TypeVar("Q")


@dataclass(frozen=True, kw_only=True)
class Principal:
    """The caller behind a request: an API key's role and reach."""

    key_id: int
    prefix: str
    name: str
    role: str
    alliance_id: int | None = None
    organisation_id: int | None = None

    @property
    def actor(self) -> Actor:
        return Actor(name=f"key:{self.name}", role=self.role, organisation_id=self.organisation_id)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True, kw_only=True)
class CreatedKey:
    """A new key: its record and the token, which is never shown again."""

    record: ApiKeyRecord
    token: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _split(token: str) -> str | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    prefix, _, secret = token[len(TOKEN_PREFIX) :].partition("_")
    return prefix if prefix and secret else None


def create_key(
    db: Database,
    clock: Clock,
    *,
    name: str,
    role: str,
    alliance_id: int | None = None,
    organisation_id: int | None = None,
) -> CreatedKey:
    """Create a key; raises InvalidInput for a bad role/reach, *NotFound for unknown ids."""
    if not name.strip():
        raise InvalidInput("name", "a key needs a name saying who holds it")
    if role not in KEY_ROLES:
        raise InvalidInput("role", f"must be one of {', '.join(KEY_ROLES)}, got {role!r}")
    if role == "admin" and (alliance_id is not None or organisation_id is not None):
        raise InvalidInput("role", "an admin key reaches everything; give no alliance/organisation")
    if role in ("coordinator", "manager") and (alliance_id is None or organisation_id is not None):
        raise InvalidInput("alliance_id", f"a {role} key needs an alliance (and no organisation)")
    if role == "partner" and (organisation_id is None or alliance_id is not None):
        raise InvalidInput("organisation_id", "a partner key needs an organisation (only)")
    prefix = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    with db.transaction() as session:
        if alliance_id is not None and session.get(AllianceRecord, alliance_id) is None:
            raise AllianceNotFound(alliance_id)
        if organisation_id is not None and session.get(OrganisationRecord, organisation_id) is None:
            raise OrganisationNotFound(organisation_id)
        record = ApiKeyRecord(
            prefix=prefix,
            hash=hash_token(token),
            name=name.strip(),
            role=role,
            alliance_id=alliance_id,
            organisation_id=organisation_id,
            created_at=clock.now(),
        )
        session.add(record)
        session.flush()
    return CreatedKey(record=record, token=token)


def list_keys(db: Database, *, include_revoked: bool = False) -> list[ApiKeyRecord]:
    query = select(ApiKeyRecord).order_by(col(ApiKeyRecord.id))
    if not include_revoked:
        query = query.where(col(ApiKeyRecord.revoked_at).is_(None))
    with db.read_session() as session:
        return list(session.exec(query))


def revoke_key(db: Database, clock: Clock, prefix: str) -> ApiKeyRecord:
    """Revoke the key with `prefix` (the token's part after `ce_`); raises NotFound."""
    with db.transaction() as session:
        record = session.exec(select(ApiKeyRecord).where(ApiKeyRecord.prefix == prefix)).first()
        if record is None:
            raise NotFound("api key", prefix)
        if record.revoked_at is None:
            record.revoked_at = clock.now()
            session.add(record)
        return record


def authenticate(db: Database, clock: Clock, token: str) -> Principal | None:
    """The principal for `token`, or None when it is unknown, malformed or revoked."""
    prefix = _split(token)
    if prefix is None:
        return None
    with db.read_session() as session:
        record = session.exec(select(ApiKeyRecord).where(ApiKeyRecord.prefix == prefix)).first()
    if record is None or record.revoked_at is not None:
        return None
    if not hmac.compare_digest(record.hash, hash_token(token)):
        return None
    assert record.id is not None
    now = clock.now()
    if record.last_used_at is None or now - record.last_used_at >= LAST_USED_RESOLUTION:
        with db.transaction() as session:  # at most one write a minute per key
            stored = session.get(ApiKeyRecord, record.id)
            if stored is not None:
                stored.last_used_at = now
                session.add(stored)
    return Principal(
        key_id=record.id,
        prefix=record.prefix,
        name=record.name,
        role=record.role,
        alliance_id=record.alliance_id,
        organisation_id=record.organisation_id,
    )


# -- reach ---------------------------------------------------------------------------------


def _partner_cycles(organisation_id: int | None) -> Any:
    return select(ParticipationRecord.cycle_id).where(
        ParticipationRecord.organisation_id == organisation_id
    )


def scope_cycles(query: Any, principal: Principal) -> Any:
    """`query` over CycleRecord limited to the cycles `principal` may see."""
    if principal.is_admin:
        return query
    if principal.role == "partner":
        return query.where(col(CycleRecord.id).in_(_partner_cycles(principal.organisation_id)))
    return query.where(CycleRecord.alliance_id == principal.alliance_id)


def visible_cycle(session: Session, principal: Principal, cycle_id: int) -> CycleRecord:
    """The cycle if `principal` may see it; raises CycleNotFound otherwise (never 403)."""
    cycle = session.exec(
        scope_cycles(select(CycleRecord).where(CycleRecord.id == cycle_id), principal)
    ).first()
    if cycle is None:
        raise CycleNotFound(cycle_id)
    assert isinstance(cycle, CycleRecord)
    return cycle


def partner_alliances(organisation_id: int | None) -> Any:
    return select(MembershipRecord.alliance_id).where(
        MembershipRecord.organisation_id == organisation_id
    )


def scope_alliances(query: Any, principal: Principal) -> Any:
    """`query` over AllianceRecord limited to the alliances `principal` belongs to."""
    if principal.is_admin:
        return query
    if principal.role == "partner":
        return query.where(col(AllianceRecord.id).in_(partner_alliances(principal.organisation_id)))
    return query.where(AllianceRecord.id == principal.alliance_id)


def reachable_alliance_ids(session: Session, principal: Principal) -> set[int] | None:
    """Alliance ids in reach; None means every alliance (admin)."""
    if principal.is_admin:
        return None
    return {
        a.id
        for a in session.exec(scope_alliances(select(AllianceRecord), principal))
        if a.id is not None
    }


def scope_organisations(query: Any, principal: Principal) -> Any:
    """Organisations that sit in an alliance the key reaches (a partner: its own only)."""
    if principal.is_admin:
        return query
    if principal.role == "partner":
        return query.where(OrganisationRecord.id == principal.organisation_id)
    members = select(MembershipRecord.organisation_id).where(
        MembershipRecord.alliance_id == principal.alliance_id
    )
    return query.where(col(OrganisationRecord.id).in_(members))


def organisation_in_reach(session: Session, principal: Principal, organisation_id: int) -> bool:
    query = select(OrganisationRecord.id).where(OrganisationRecord.id == organisation_id)
    return session.exec(scope_organisations(query, principal)).first() is not None


def alliance_in_reach(session: Session, principal: Principal, alliance_id: int) -> bool:
    query = select(AllianceRecord.id).where(AllianceRecord.id == alliance_id)
    return session.exec(scope_alliances(query, principal)).first() is not None


def stage_levels(session: Session, principal: Principal, cycle_id: int, stage: str) -> set[str]:
    """How the principal's organisation takes part in `stage` of the cycle (lead/active/...)."""
    if principal.organisation_id is None:
        return set()
    rows = session.exec(
        select(ParticipationRecord.level).where(
            ParticipationRecord.cycle_id == cycle_id,
            ParticipationRecord.stage == stage,
            ParticipationRecord.organisation_id == principal.organisation_id,
        )
    )
    return set(rows)
