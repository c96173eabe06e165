"""`ApiKeys` (`engine.alliances.keys`): API keys as a resource a host tool administers.

    admins        create, list and revoke keys of every role
    coordinators  of an alliance: manager keys of that alliance, and partner keys of
                  organisations seated in it; no coordinator or admin key

The reach passed in is the caller's organising reach (the alliances it coordinates; see
`api/routers/keys.py`): a key outside it is not found, exactly as any row out of reach. A new
key's token is in the `CreatedKey` only; what is stored is its hash. Creating and revoking a key
bound to an alliance (or to an organisation seated in alliances) writes a line in those
alliances' history.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, true
from sqlmodel import Session, col, select

from cycle_engine.actors import Actor
from cycle_engine.alliances import history
from cycle_engine.alliances.credentials import CreatedKey, new_key
from cycle_engine.alliances.reach import Reach
from cycle_engine.clock import Clock
from cycle_engine.errors import (
    AllianceNotFound,
    NotFound,
    NotPermitted,
    OrganisationNotFound,
)
from cycle_engine.store.db import Database
from cycle_engine.store.tables.access import ApiKeyRecord
from cycle_engine.store.tables.alliances import MembershipRecord

#: The key roles a coordinator (not an admin) hands out.
DELEGATED_ROLES = ("manager", "partner")


def administered(reach: Reach) -> ColumnElement[bool]:
    """A condition on `ApiKeyRecord`: the keys the reach administers."""
    if reach.everything:
        return true()
    if not reach.alliance_ids:
        return false()
    alliances = sorted(reach.alliance_ids)
    seated = select(MembershipRecord.organisation_id).where(
        col(MembershipRecord.alliance_id).in_(alliances)
    )
    return or_(
        (col(ApiKeyRecord.role) == "manager") & col(ApiKeyRecord.alliance_id).in_(alliances),
        (col(ApiKeyRecord.role) == "partner") & col(ApiKeyRecord.organisation_id).in_(seated),
    )


class ApiKeys:
    """Create, list, read and revoke API keys within the caller's organising reach."""

    def __init__(self, *, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def create(
        self,
        *,
        name: str,
        role: str,
        alliance_id: int | None = None,
        organisation_id: int | None = None,
        reach: Reach,
        actor: Actor,
    ) -> CreatedKey:
        """A new key (its token shown in the result only).

        Raises:
            NotPermitted: a coordinator asks for a coordinator or admin key.
            InvalidInput: the role and its alliance or organisation do not fit.
            AllianceNotFound, OrganisationNotFound: unknown, or out of `reach`.
        """
        if not reach.everything and role not in DELEGATED_ROLES:
            raise NotPermitted(
                f"create a {role} key", "a coordinator hands out manager and partner keys only"
            )
        now = self.clock.now()
        with self.db.transaction() as session:
            created = new_key(
                session,
                now,
                name=name,
                role=role,
                alliance_id=alliance_id,
                organisation_id=organisation_id,
            )
            if not self._administers(session, reach, created.record.id):
                raise _out_of_reach(created.record)
            self._note(session, created.record, "key_created", actor)
            return created

    def list(self, *, reach: Reach, include_revoked: bool = True) -> list[ApiKeyRecord]:
        """The keys the reach administers, oldest first."""
        query = select(ApiKeyRecord).where(administered(reach)).order_by(col(ApiKeyRecord.id))
        if not include_revoked:
            query = query.where(col(ApiKeyRecord.revoked_at).is_(None))
        with self.db.read_session() as session:
            return list(session.exec(query))

    def get(self, key_id: int, *, reach: Reach) -> ApiKeyRecord:
        """One key; NotFound when unknown or out of reach."""
        with self.db.read_session() as session:
            return self._require(session, reach, key_id)

    def revoke(self, key_id: int, *, reach: Reach, actor: Actor) -> ApiKeyRecord:
        """Revoke a key (again: no change); NotFound when unknown or out of reach."""
        with self.db.transaction() as session:
            record = self._require(session, reach, key_id)
            if record.revoked_at is None:
                record.revoked_at = self.clock.now()
                session.add(record)
                self._note(session, record, "key_revoked", actor)
            return record

    def _require(self, session: Session, reach: Reach, key_id: int) -> ApiKeyRecord:
        record = session.exec(
            select(ApiKeyRecord).where(ApiKeyRecord.id == key_id, administered(reach))
        ).first()
        if record is None:
            raise NotFound("api key", key_id)
        return record

    @staticmethod
    def _administers(session: Session, reach: Reach, key_id: int | None) -> bool:
        query = select(ApiKeyRecord.id).where(ApiKeyRecord.id == key_id, administered(reach))
        return session.exec(query).first() is not None

    def _note(self, session: Session, record: ApiKeyRecord, kind: str, actor: Actor) -> None:
        data = {"key_id": record.id, "name": record.name, "role": record.role}
        subject = f"key:{record.id}"
        now = self.clock.now()
        if record.alliance_id is not None:
            history.record(
                session,
                record.alliance_id,
                kind=kind,
                subject=subject,
                data=data,
                actor=actor,
                now=now,
            )
        elif record.organisation_id is not None:
            history.record_for_organisation(
                session,
                record.organisation_id,
                kind=kind,
                subject=subject,
                data=data,
                actor=actor,
                now=now,
            )


def _out_of_reach(record: ApiKeyRecord) -> NotFound:
    if record.alliance_id is not None:
        return AllianceNotFound(record.alliance_id)
    return OrganisationNotFound(record.organisation_id or 0)
