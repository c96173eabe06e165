"""Everyone who takes part in a cycle, read in one statement and kept for the command.

A fire asks the same questions several times: the `roles_assigned` guard and the turnover
check (which stages lack a lead with an active focal point), the outbox (who hears about the
stage left and the stage entered, their organisations, their notification preferences). Each
used to be its own query, some per stage. `roster` answers all of them from one joined query
(every participation row of the cycle with the people it reaches, united with the alliance's
role holders and the cycle's followers, each with their organisation and preferences), so the
cost of a fire does not grow with the number of organisations or of listeners. A move reads
the participation of the two stages it is about (`expect_stages`), not of every stage.

The roster is kept for the current transaction only, and forgotten as soon as the session
flushes a change to any row it was read from (participation, people, organisations, role
grants, preferences), so a command that reassigns a focal point and then fires sees the new
one. Nothing else writes those tables behind the ORM's back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import (
    Boolean,
    Integer,
    String,
    and_,
    bindparam,
    cast,
    event,
    literal,
    null,
    or_,
    union_all,
)
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import UOWTransaction
from sqlmodel import Session

from cycle_engine.store.prepared import Prepared, fetch
from cycle_engine.store.tables import CycleRecord
from cycle_engine.store.tables.alliances import (
    AllianceRoleRecord,
    MembershipRecord,
    OrganisationRecord,
    ParticipationRecord,
    PersonRecord,
)
from cycle_engine.store.tables.learning import CycleFollowerRecord
from cycle_engine.store.tables.outbox import NotificationPreferenceRecord

#: The reason a person who follows the cycle hears of it (`cycle_followers`).
FOLLOWER = "follower"
#: What `lacking` says when nobody leads a stage (not turnover).
NO_LEAD = "no lead organisation"
#: Rows the roster is read from: flushing a change to one of them forgets every roster.
_SOURCES = (
    ParticipationRecord,
    PersonRecord,
    OrganisationRecord,
    AllianceRoleRecord,
    MembershipRecord,
    NotificationPreferenceRecord,
    CycleFollowerRecord,
)
_KEY = "cycle_engine.rosters"


@dataclass(frozen=True, kw_only=True)
class Recipient:
    """A person to tell about a stage, with every reason they should hear (`roles`)."""

    person_id: int
    name: str
    email: str
    language: str
    timezone: str
    organisation_id: int
    roles: frozenset[str] = field(default_factory=frozenset)
    #: Their organisation's name, when the roster read it (the outbox then needs no query).
    organisation_name: str | None = None


@dataclass(frozen=True, kw_only=True)
class Preferences:
    """A person's notification preferences as the roster read them."""

    mode: str
    digest_hour: int
    unsubscribed: list[str]


@dataclass(frozen=True, kw_only=True)
class _Person:
    person_id: int
    name: str
    email: str
    language: str
    timezone: str
    organisation_id: int
    organisation_name: str | None
    left_on: date | None


class _Reason(NamedTuple):
    """One reason one person hears about a stage (None: of every stage, an alliance role).

    A tuple, as every row of the roster makes one (210 rows a fire with 30 organisations).
    """

    stage: str | None
    reason: str
    focal_point_id: int | None
    deputy_id: int | None
    person_id: int


@dataclass(kw_only=True)
class _Participation:
    stage: str
    organisation_id: int
    organisation: str
    level: str
    focal_point_id: int | None
    needs_focal_point: bool
    focal_point: _Person | None = None


class Roster:
    """The answers about one cycle's people, computed from the rows of one query."""

    def __init__(self, rows: Iterable[Sequence[Any]]) -> None:
        self.people: dict[int, _Person] = {}
        self.preferences: dict[int, Preferences] = {}
        self._reasons: list[_Reason] = []
        self._participation: dict[tuple[str, int], _Participation] = {}
        for row in rows:
            self._add(*row)

    def _add(
        self,
        stage: str | None,
        reason: str,
        organisation_id: int | None,
        focal_point_id: int | None,
        deputy_id: int | None,
        needs_focal_point: bool | None,
        organisation: str | None,
        person_id: int | None,
        name: str | None,
        email: str | None,
        language: str | None,
        timezone: str | None,
        person_organisation_id: int | None,
        person_organisation: str | None,
        left_on: date | None,
        preference_of: int | None,
        mode: str | None,
        digest_hour: int | None,
        unsubscribed: list[str] | None,
    ) -> None:
        person = None
        if person_id is not None:
            person = self.people.get(person_id)
            if person is None:  # (each person once: they appear on a row per stage)
                assert name is not None and email is not None and language is not None
                assert timezone is not None and person_organisation_id is not None
                person = self.people[person_id] = _Person(
                    person_id=person_id,
                    name=name,
                    email=email,
                    language=language,
                    timezone=timezone,
                    organisation_id=person_organisation_id,
                    organisation_name=person_organisation,
                    left_on=left_on,
                )
                if preference_of is not None and mode is not None and digest_hour is not None:
                    self.preferences[person_id] = Preferences(
                        mode=mode, digest_hour=digest_hour, unsubscribed=list(unsubscribed or [])
                    )
            self._reasons.append(_Reason(stage, reason, focal_point_id, deputy_id, person_id))
        if stage is None or organisation_id is None:
            return  # an alliance role: no participation row
        assert organisation is not None
        taking_part = self._participation.get((stage, organisation_id))
        if taking_part is None:
            taking_part = self._participation[(stage, organisation_id)] = _Participation(
                stage=stage,
                organisation_id=organisation_id,
                organisation=organisation,
                level=reason,
                focal_point_id=focal_point_id,
                needs_focal_point=bool(needs_focal_point),
            )
        if person is not None and person_id == focal_point_id:
            taking_part.focal_point = person

    def recipients(self, stage: str) -> list[Recipient]:
        """Everyone who should hear about `stage`, with why (`roles`), by person id.

        Roles: `focal_point` and `deputy` (named on any participation row of the stage),
        `lead`, `active`, `informed` (the organisation's level: its focal point and deputy, or
        all its current people when it named none), `coordinator` and `manager` (of the
        cycle's alliance), `follower` (follows the cycle, of every stage). People who have left
        are never recipients.
        """
        roles: dict[int, set[str]] = {}
        for reason in self._reasons:
            if reason.stage not in (None, stage) or self.people[reason.person_id].left_on:
                continue
            held = roles.setdefault(reason.person_id, set())
            held.add(reason.reason)
            if reason.person_id == reason.focal_point_id:
                held.add("focal_point")
            if reason.person_id == reason.deputy_id:
                held.add("deputy")
        result = []
        for person_id in sorted(roles):
            person = self.people[person_id]
            result.append(
                Recipient(
                    person_id=person_id,
                    name=person.name,
                    email=person.email,
                    language=person.language,
                    timezone=person.timezone,
                    organisation_id=person.organisation_id,
                    roles=frozenset(roles[person_id]),
                    organisation_name=person.organisation_name,
                )
            )
        return result

    def lacking(self, stages: Iterable[str]) -> dict[str, str]:
        """For each of `stages` without a lead organisation with an active focal point: why."""
        wanted = list(stages)
        leads: dict[str, list[str | None]] = {stage: [] for stage in wanted}
        for (stage, _), row in sorted(self._participation.items()):
            if stage in leads and row.level == "lead":
                leads[stage].append(focal_point_problem(row))
        lacking: dict[str, str] = {}
        for stage, problems in leads.items():
            if not problems:
                lacking[stage] = NO_LEAD
            elif None not in problems:
                lacking[stage] = "; ".join(p for p in problems if p is not None)
        return lacking


def focal_point_problem(row: _Participation) -> str | None:
    """Why a lead organisation's focal point cannot carry the stage, or None when they can."""
    organisation, focal_point_id = row.organisation, row.focal_point_id
    if focal_point_id is None:
        return f"lead {organisation} has named no focal point"
    person = row.focal_point
    if row.needs_focal_point or person is None or person.left_on is not None:
        who = person.name if person is not None else f"person {focal_point_id}"
        left_on = person.left_on if person is not None else None
        left = f" left on {left_on.isoformat()}" if left_on else " left"
        return f"focal point {who} of {organisation}{left}; {organisation} needs a new one"
    return None


def _query(*, two_stages: bool) -> Any:
    """Participation rows of every stage (or of the stages `stage_a` and `stage_b`) with the
    people they reach, the alliance's role holders and the cycle's followers: one row per
    reason one person hears, with their organisation and preferences."""
    taking_part = ParticipationRecord.__table__  # type: ignore[attr-defined]
    people = PersonRecord.__table__  # type: ignore[attr-defined]
    organisations = OrganisationRecord.__table__  # type: ignore[attr-defined]
    theirs = organisations.alias("person_organisation")
    preferences = NotificationPreferenceRecord.__table__  # type: ignore[attr-defined]
    roles = AllianceRoleRecord.__table__  # type: ignore[attr-defined]
    cycles = CycleRecord.__table__  # type: ignore[attr-defined]
    person = (
        people.c.id,
        people.c.name,
        people.c.email,
        people.c.language,
        people.c.timezone,
        people.c.organisation_id,
        theirs.c.name,
        people.c.left_on,
        preferences.c.person_id,
        preferences.c.mode,
        preferences.c.digest_hour,
        preferences.c.unsubscribed,
    )
    focal_point, deputy = taking_part.c.focal_point_id, taking_part.c.deputy_id
    reached = or_(
        people.c.id == focal_point,
        people.c.id == deputy,
        and_(  # an organisation that named nobody: all its current people
            focal_point.is_(None),
            deputy.is_(None),
            people.c.organisation_id == taking_part.c.organisation_id,
            people.c.left_on.is_(None),
        ),
    )
    participants = (
        sa_select(
            taking_part.c.stage,
            taking_part.c.level,
            taking_part.c.organisation_id,
            focal_point,
            deputy,
            taking_part.c.needs_focal_point,
            organisations.c.name,
            *person,
        )
        .select_from(
            taking_part.join(organisations, organisations.c.id == taking_part.c.organisation_id)
            .outerjoin(people, reached)
            .outerjoin(theirs, theirs.c.id == people.c.organisation_id)
            .outerjoin(preferences, preferences.c.person_id == people.c.id)
        )
        .where(taking_part.c.cycle_id == bindparam("cycle_id"))
    )
    if two_stages:
        participants = participants.where(
            taking_part.c.stage.in_([bindparam("stage_a"), bindparam("stage_b")])
        )
    no_number = cast(null(), Integer)
    role_holders = (
        sa_select(
            cast(null(), String),
            roles.c.role,
            no_number,
            no_number,
            no_number,
            cast(null(), Boolean),
            cast(null(), String),
            *person,
        )
        .select_from(
            roles.join(people, people.c.id == roles.c.person_id)
            .join(cycles, cycles.c.alliance_id == roles.c.alliance_id)
            .outerjoin(theirs, theirs.c.id == people.c.organisation_id)
            .outerjoin(preferences, preferences.c.person_id == people.c.id)
        )
        .where(cycles.c.id == bindparam("cycle_id"), people.c.left_on.is_(None))
    )
    followers = CycleFollowerRecord.__table__  # type: ignore[attr-defined]
    following = (
        sa_select(
            cast(null(), String),
            cast(literal(FOLLOWER), String),
            no_number,
            no_number,
            no_number,
            cast(null(), Boolean),
            cast(null(), String),
            *person,
        )
        .select_from(
            followers.join(people, people.c.id == followers.c.person_id)
            .outerjoin(theirs, theirs.c.id == people.c.organisation_id)
            .outerjoin(preferences, preferences.c.person_id == people.c.id)
        )
        .where(followers.c.cycle_id == bindparam("cycle_id"), people.c.left_on.is_(None))
    )
    return union_all(participants, role_holders, following)


_ROSTER = Prepared(_query(two_stages=False))
_ROSTER_OF_TWO_STAGES = Prepared(_query(two_stages=True))
_STAGES_KEY = "cycle_engine.roster_stages"

#: A kept roster and the stages whose participation it holds (None: every stage).
_Kept = tuple[Roster, frozenset[str] | None]


def _of_transaction(session: Session, key: str) -> dict[int, Any]:
    transaction = session.get_transaction()
    mark = session.info.get(key)
    if mark is None or mark[0] is not transaction:
        mark = (transaction, {})
        session.info[key] = mark
    found: dict[int, Any] = mark[1]
    return found


def _kept(session: Session) -> dict[int, _Kept]:
    return _of_transaction(session, _KEY)


def expect_stages(session: Session, cycle_id: int, stages: Iterable[str]) -> None:
    """Say which stages of the cycle this transaction will ask about (a move: the stage left
    and the stage entered), so the first roster read holds them both."""
    _of_transaction(session, _STAGES_KEY)[cycle_id] = frozenset(stages)


def roster(session: Session, cycle_id: int, stages: Iterable[str] | None = None) -> Roster:
    """The cycle's roster, read once per transaction (one statement) and then kept.

    `stages`: the stages the caller asks about (None: every stage). A move asks about two (the
    stage left and the stage entered, see `expect_stages`), so the first read holds only their
    participation, with the role holders and followers: a seventh of the rows of a 7-stage
    template. A later question about another stage reads every stage.
    """
    session.flush()  # first, as it may forget a stale roster
    kept = _kept(session)
    found = kept.get(cycle_id)
    wanted = None if stages is None else frozenset(stages)
    if found is not None:
        held = found[1]
        if held is None or (wanted is not None and wanted <= held):
            return found[0]
        wanted = None  # asked about another stage: read them all
    elif wanted is not None:
        wanted |= _of_transaction(session, _STAGES_KEY).get(cycle_id, frozenset())
        if not wanted or len(wanted) > 2:
            wanted = None
    if wanted is None:
        rows = fetch(session, _ROSTER, {"cycle_id": cycle_id})
    else:
        first, *rest = sorted(wanted)
        second = rest[0] if rest else first
        rows = fetch(
            session,
            _ROSTER_OF_TWO_STAGES,
            {"cycle_id": cycle_id, "stage_a": first, "stage_b": second},
        )
    built = Roster(rows)
    kept[cycle_id] = (built, wanted)
    return built


def kept_roster(session: Session, cycle_id: int) -> Roster | None:
    """The cycle's roster if this transaction already read it and nothing changed since (it
    may hold some stages only: it knows everyone it told about them)."""
    if any(isinstance(obj, _SOURCES) for obj in (*session.new, *session.dirty, *session.deleted)):
        return None
    found = _kept(session).get(cycle_id)
    return None if found is None else found[0]


@event.listens_for(OrmSession, "before_flush")
def _forget_changed(session: OrmSession, _flush: UOWTransaction, _instances: object) -> None:
    """A flush that writes a row a roster was read from forgets every roster of the session."""
    if _KEY not in session.info:
        return
    if any(isinstance(obj, _SOURCES) for obj in (*session.new, *session.dirty, *session.deleted)):
        del session.info[_KEY]
