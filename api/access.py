"""Who may see and do what: the one reach model of the API and the dashboard alike.

A caller is an API key or a person signed in to the dashboard; either way it gets an `Access`:

    admin                 every alliance, cycle, organisation and person (API keys only)
    coordinator, manager  of alliances: every cycle, member organisation and person in them; a
                          key holds one role in one alliance, a person may hold roles in several
    partner               of one organisation: the cycles it takes part in, the alliances it sits
                          in, itself and its people; it acts on a cycle only while its
                          organisation leads or takes active part in the current stage

`Access.reach` is what the caller may see, as the engine's `Reach`: every query filters by it and
every command checks it inside its own transaction (with the If-Match version), so an object out
of reach is simply not found (404, never 403). `Access.role_in(alliance)` is what the caller may
do there: managers read, coordinators organise, partners work on their stages; the templates'
roles decide which triggers each may fire (`Access.actor`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cycle_engine.actors import Actor
from cycle_engine.alliances.reach import Reach
from cycle_engine.api.problems import ApiProblem
from cycle_engine.engine import CycleEngine
from cycle_engine.errors import AllianceNotFound, OrganisationNotFound, PersonNotFound
from cycle_engine.store.tables.access import ApiKeyRecord
from cycle_engine.store.tables.alliances import AllianceRecord

ADMIN, COORDINATOR, MANAGER, PARTNER = "admin", "coordinator", "manager", "partner"
#: Strongest first: a person who both coordinates and manages an alliance acts as coordinator.
_RANK = {COORDINATOR: 2, MANAGER: 1}


@dataclass(frozen=True, kw_only=True)
class Access:
    """One caller's reach and roles (see the module docstring).

    `role` is the caller's role where no alliance is concerned: a key's one role; for a person,
    partner (of their own organisation).
    """

    actor_name: str
    role: str
    alliance_roles: Mapping[int, str] = field(default_factory=dict, hash=False)
    organisation_id: int | None = None
    person_id: int | None = None
    key_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @property
    def reach(self) -> Reach:
        return Reach(
            everything=self.is_admin,
            alliance_ids=frozenset(self.alliance_roles),
            organisation_id=self.organisation_id,
        )

    def role_in(self, alliance_id: int | None) -> str:
        """admin, coordinator or manager of the alliance, else partner (of the caller's own
        organisation); with no alliance, `role`."""
        if self.is_admin:
            return ADMIN
        if alliance_id is None:
            return self.role
        held = self.alliance_roles.get(alliance_id)
        if held is not None:
            return held
        return PARTNER if self.organisation_id is not None else self.role

    def manages(self, alliance_id: int | None) -> bool:
        """Coordinates or manages the alliance (admins manage every one)."""
        return self.reach.manages(alliance_id)

    def coordinates(self, alliance_id: int | None) -> bool:
        return self.role_in(alliance_id) in (ADMIN, COORDINATOR)

    def actor(self, alliance_id: int | None = None) -> Actor:
        """Who the engine records and checks as acting, in the alliance's cycles."""
        role = self.role_in(alliance_id)
        return Actor(
            name=self.actor_name,
            role=role,
            person_id=self.person_id,
            organisation_id=self.organisation_id if role == PARTNER else None,
        )


def key_access(record: ApiKeyRecord) -> Access:
    """The access of an API key: its one role, in its alliance or for its organisation."""
    roles = {record.alliance_id: record.role} if record.alliance_id is not None else {}
    return Access(
        actor_name=f"key:{record.name}",
        role=record.role,
        alliance_roles=roles,
        organisation_id=record.organisation_id if record.role == PARTNER else None,
        key_id=record.id,
    )


@dataclass(frozen=True)
class CachedKey:
    """A key checked against the database, and until when that check stands."""

    access: Access
    prefix: str
    until: datetime


class KeyCache:
    """Keys checked recently, so a request does not read its key from the database.

    A key is read again (by `Credentials.authenticate`, which also notes its last use) once
    `lifetime` has passed since it was last read, so a key revoked in any process (`cycle-engine
    key revoke`) is refused by every process within `lifetime`. Entries are found by the
    SHA-256 of the whole token, never by its public prefix alone. Unknown and revoked tokens
    are not remembered: each try reads the database again. Time is the engine's clock.
    """

    def __init__(
        self, engine: CycleEngine, lifetime: timedelta, *, max_entries: int = 10_000
    ) -> None:
        self.engine = engine
        self.lifetime = lifetime
        self.max_entries = max_entries
        self._entries: dict[bytes, CachedKey] = {}
        self._generation = 0  # moves on at each `forget`

    def cached(self, token: str) -> CachedKey | None:
        """The key behind `token` while its last check stands; None when it must be read."""
        entry = self._entries.get(_digest(token))
        if entry is None or self.engine.clock.now() >= entry.until:
            return None
        return entry

    def forget(self) -> None:
        """Drop every entry: a key revoked in this process is refused at once."""
        self._generation += 1
        self._entries.clear()

    def check(self, token: str) -> CachedKey | None:
        """Read the key behind `token` from the database (blocking: call it from a thread);
        None when it is unknown or revoked."""
        digest = _digest(token)
        now = self.engine.clock.now()
        generation = self._generation
        record = self.engine.alliances.credentials.authenticate(token)
        if record is None:
            self._entries.pop(digest, None)
            return None
        entry = CachedKey(key_access(record), record.prefix, now + self.lifetime)
        # Not kept when a `forget` came while it was read: it may predate a revocation.
        if self.lifetime > timedelta(0) and generation == self._generation:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[digest] = entry
        return entry


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def require_role(
    access: Access,
    *roles: str,
    alliance_id: int | None = None,
    in_reach: Callable[[], object] | None = None,
) -> None:
    """Refuse (403) a caller whose role (in the alliance) is none of `roles`; admins pass.

    `in_reach` is called before refusing, so an object out of reach answers 404, not 403.
    """
    role = access.role_in(alliance_id)
    if access.is_admin or role in roles:
        return
    if in_reach is not None:
        in_reach()
    raise ApiProblem(403, f"a {role} key may not do this (needs {' or '.join(roles)})", role=role)


def managed_alliance(engine: CycleEngine, access: Access, alliance_id: int) -> AllianceRecord:
    """The alliance, if the caller coordinates or manages it; AllianceNotFound otherwise (pages
    for managers are not found for partners, as anything out of reach)."""
    if not access.manages(alliance_id):
        raise AllianceNotFound(alliance_id)
    return engine.alliances.get_alliance(alliance_id, reach=access.reach)


@dataclass(frozen=True, kw_only=True)
class Viewer:
    """A person signed in to the dashboard: who they are, and their access."""

    person_id: int
    name: str
    email: str
    timezone: str
    language: str
    organisation_id: int
    organisation_name: str
    access: Access

    @property
    def reach(self) -> Reach:
        return self.access.reach

    def role_in(self, alliance_id: int | None) -> str:
        return self.access.role_in(alliance_id)

    def manages(self, alliance_id: int | None) -> bool:
        return self.access.manages(alliance_id)

    def coordinates(self, alliance_id: int | None) -> bool:
        return self.access.coordinates(alliance_id)

    def actor(self, alliance_id: int | None) -> Actor:
        return self.access.actor(alliance_id)


def load_viewer(engine: CycleEngine, person_id: int) -> Viewer | None:
    """The viewer for a person, or None when the person is gone or has left."""
    try:
        person = engine.alliances.get_person(person_id)
        organisation = engine.alliances.get_organisation(person.organisation_id)
    except (PersonNotFound, OrganisationNotFound):
        return None
    if person.left_on is not None or person.id is None:
        return None
    roles: dict[int, str] = {}
    for grant in engine.alliances.alliance_roles_of(person_id):
        if _RANK.get(grant.role, 0) > _RANK.get(roles.get(grant.alliance_id, ""), 0):
            roles[grant.alliance_id] = grant.role
    return Viewer(
        person_id=person.id,
        name=person.name,
        email=person.email,
        timezone=person.timezone,
        language=person.language,
        organisation_id=person.organisation_id,
        organisation_name=organisation.name,
        access=Access(
            actor_name=f"person:{person.email}",
            role=PARTNER,
            alliance_roles=roles,
            organisation_id=person.organisation_id,
            person_id=person.id,
        ),
    )
