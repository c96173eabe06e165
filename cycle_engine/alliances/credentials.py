"""`Credentials` (`engine.alliances.credentials`): how callers prove who they are.

    API keys            `ce_<prefix>_<secret>`; only the SHA-256 of the token and its prefix (for
                        lookup) are stored, so a token is shown once, at creation. A key holds one
                        role: admin, coordinator or manager of one alliance, partner for one
                        organisation. What each role may see and do is decided in `api/access.py`.
    dashboard sessions  a row keyed by the SHA-256 of the random key the browser's cookie carries,
                        so a stolen database yields no live cookie; signing out ends the row
    sign-in links       each link's id is written when it is used, so the primary key refuses a
                        second use even when two browsers race

Each method is one transaction. Hashing lives here, next to the rows; signing cookies and links
with the app's secret stays with the web app.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from cycle_engine.clock import Clock
from cycle_engine.errors import (
    ActionNotAllowed,
    AllianceNotFound,
    InvalidInput,
    NotFound,
    OrganisationNotFound,
    PersonNotFound,
)
from cycle_engine.store.db import Database
from cycle_engine.store.tables.access import KEY_ROLES, ApiKeyRecord
from cycle_engine.store.tables.alliances import AllianceRecord, OrganisationRecord, PersonRecord
from cycle_engine.store.tables.dashboard import DashboardSessionRecord, SignInUseRecord

log = logging.getLogger(__name__)

TOKEN_PREFIX = "ce_"
#: Write a key's `last_used_at` (or a session's `last_seen_at`) at most this often.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, kw_only=True)
class CreatedKey:
    """A new key: its record and the token, which is never shown again."""

    record: ApiKeyRecord
    token: str


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _prefix_of(token: str) -> str | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    prefix, _, secret = token[len(TOKEN_PREFIX) :].partition("_")
    return prefix if prefix and secret else None


def current_person(session: Session, email: str) -> PersonRecord | None:
    """The current (not departed) person with this address, compared case-insensitively."""
    address = email.strip().lower()
    if not address or "@" not in address or len(address) > 254:
        return None
    person = session.exec(
        select(PersonRecord).where(func.lower(PersonRecord.email) == address)
    ).first()
    return person if person is not None and person.left_on is None else None


def new_key(
    session: Session,
    now: datetime,
    *,
    name: str,
    role: str,
    alliance_id: int | None = None,
    organisation_id: int | None = None,
) -> CreatedKey:
    """Add a key in `session`; raises InvalidInput for a bad role or reach, *NotFound for
    unknown ids."""
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
    if alliance_id is not None and session.get(AllianceRecord, alliance_id) is None:
        raise AllianceNotFound(alliance_id)
    if organisation_id is not None and session.get(OrganisationRecord, organisation_id) is None:
        raise OrganisationNotFound(organisation_id)
    prefix = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    record = ApiKeyRecord(
        prefix=prefix,
        hash=hash_secret(token),
        name=name.strip(),
        role=role,
        alliance_id=alliance_id,
        organisation_id=organisation_id,
        created_at=now,
    )
    session.add(record)
    session.flush()
    return CreatedKey(record=record, token=token)


class Credentials:
    """API keys, dashboard sessions and sign-in links."""

    def __init__(self, *, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    # -- API keys ----------------------------------------------------------------------

    def create_key(
        self,
        *,
        name: str,
        role: str,
        alliance_id: int | None = None,
        organisation_id: int | None = None,
    ) -> CreatedKey:
        """Create a key; raises InvalidInput for a bad role or reach, *NotFound for unknown ids."""
        with self.db.transaction() as session:
            return new_key(
                session,
                self.clock.now(),
                name=name,
                role=role,
                alliance_id=alliance_id,
                organisation_id=organisation_id,
            )

    def keys(self, *, include_revoked: bool = False) -> list[ApiKeyRecord]:
        query = select(ApiKeyRecord).order_by(col(ApiKeyRecord.id))
        if not include_revoked:
            query = query.where(col(ApiKeyRecord.revoked_at).is_(None))
        with self.db.read_session() as session:
            return list(session.exec(query))

    def revoke_key(self, prefix: str) -> ApiKeyRecord:
        """Revoke the key with `prefix` (the token's part after `ce_`); raises NotFound."""
        with self.db.transaction() as session:
            record = session.exec(select(ApiKeyRecord).where(ApiKeyRecord.prefix == prefix)).first()
            if record is None:
                raise NotFound("api key", prefix)
            if record.revoked_at is None:
                record.revoked_at = self.clock.now()
                session.add(record)
            return record

    def authenticate(self, token: str) -> ApiKeyRecord | None:
        """The live key `token` belongs to, or None when unknown, malformed or revoked."""
        prefix = _prefix_of(token)
        if prefix is None:
            return None
        with self.db.read_session() as session:
            record = session.exec(select(ApiKeyRecord).where(ApiKeyRecord.prefix == prefix)).first()
        if record is None or record.revoked_at is not None:
            return None
        if not hmac.compare_digest(record.hash, hash_secret(token)):
            return None
        now = self.clock.now()
        if record.last_used_at is None or now - record.last_used_at >= LAST_USED_RESOLUTION:
            self._record_use(record, now)
        return record

    def _record_use(self, record: ApiKeyRecord, now: datetime) -> None:
        """Note when the key was last used (at most one write a minute per key); a database
        that cannot take the write (read-only, full) costs the note, never the request."""
        try:
            with self.db.transaction() as session:
                stored = session.get(ApiKeyRecord, record.id)
                if stored is not None:
                    stored.last_used_at = now
                    session.add(stored)
        except OperationalError as error:
            log.warning("could not record the use of key %s: %s", record.prefix, error.orig)

    # -- dashboard sessions and sign-in links ------------------------------------------

    def start_session(self, person_id: int, lifetime: timedelta) -> str:
        """A new browser session for `person_id`; returns the key its cookie carries."""
        key = secrets.token_urlsafe(32)
        now = self.clock.now()
        with self.db.transaction() as session:
            session.add(
                DashboardSessionRecord(
                    key_hash=hash_secret(key),
                    person_id=person_id,
                    created_at=now,
                    expires_at=now + lifetime,
                    last_seen_at=now,
                )
            )
        return key

    def live_session(
        self, key: str, *, seen_resolution: timedelta = LAST_USED_RESOLUTION
    ) -> DashboardSessionRecord | None:
        """The live session for `key`, or None when unknown, expired or ended; notes it was seen
        (at most once per `seen_resolution`, so reads stay reads)."""
        now = self.clock.now()
        with self.db.read_session() as session:
            record = session.get(DashboardSessionRecord, hash_secret(key))
        if record is None or record.ended_at is not None or record.expires_at <= now:
            return None
        if now - record.last_seen_at >= seen_resolution:
            with self.db.transaction() as session:
                stored = session.get(DashboardSessionRecord, record.key_hash)
                if stored is not None:
                    stored.last_seen_at = now
                    session.add(stored)
        return record

    def end_session(self, key: str) -> bool:
        """Sign a session out; True when it was live."""
        with self.db.transaction() as session:
            record = session.get(DashboardSessionRecord, hash_secret(key))
            if record is None or record.ended_at is not None:
                return False
            record.ended_at = self.clock.now()
            session.add(record)
            return True

    def use_signin_link(self, token_id: str, person_id: int, expires_at: datetime) -> PersonRecord:
        """Spend a sign-in link (once) and return the person it signs in.

        Raises:
            PersonNotFound: the person is gone or has left.
            ActionNotAllowed: the link was used before.
        """
        try:
            with self.db.transaction() as session:
                person = session.get(PersonRecord, person_id)
                if person is None or person.left_on is not None:
                    raise PersonNotFound(person_id)
                session.add(
                    SignInUseRecord(
                        token_id=token_id,
                        person_id=person_id,
                        expires_at=expires_at,
                        used_at=self.clock.now(),
                    )
                )
                session.flush()
                return person
        except IntegrityError:
            raise ActionNotAllowed("sign in", "this sign-in link was already used") from None

    def current_person(self, email: str) -> PersonRecord | None:
        """The current person with this address (case-insensitive), or None."""
        with self.db.read_session() as session:
            return current_person(session, email)
