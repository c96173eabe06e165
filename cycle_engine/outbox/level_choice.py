"""Partners choose their organisation's level from an email (issue 12, item 6).

The "stage started" email a partner gets when a cycle starts, and when its roles are assigned,
carries a "level" link (in the email's one signed token, `notifications.links`). Its page lists
the cycle's work stages not yet finished, with the organisation's level and any proposal still
waiting on each; submitting proposes the chosen levels through the same command as the API and
the dashboard (`alliances.proposals.propose_level`, with the checks of `engine.learning`), all in
one transaction that also records the link's use, so a second submission changes nothing. The
coordinator then confirms or changes each proposal as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from cycle_engine.actors import Actor
from cycle_engine.alliances import proposals
from cycle_engine.alliances.common import get_person
from cycle_engine.alliances.learning_checks import LearningChecks
from cycle_engine.alliances.participation import finished_stages
from cycle_engine.alliances.reach import Reach
from cycle_engine.errors import ActionNotAllowed, CycleNotFound, InvalidInput
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.tables import CycleRecord
from cycle_engine.store.tables.alliances import (
    LEVELS,
    OrganisationRecord,
    ParticipationRecord,
    PersonRecord,
)
from cycle_engine.store.tables.learning import LevelProposalRecord
from cycle_engine.store.tables.outbox import ActionUseRecord

#: The email action that opens the level page (next to acknowledge, done, extend, snooze).
LEVEL_ACTION = "level"
#: Roles whose "stage started" email offers the level link: people of the stage's organisations.
PROPOSERS = frozenset({"focal_point", "deputy", "lead", "active", "informed"})
#: The guard of the transition that closes role assignment.
ROLES_GUARD = "roles_assigned"
#: The template store's `spec(session, template_id)`.
SpecOf = Callable[[Session, int], TemplateSpec]


def offers_level_choice(spec: TemplateSpec, stage: str) -> bool:
    """Whether the "stage started" email of `stage` carries the level link: when the cycle
    starts (its initial stage) and when roles are assigned (a stage left through a transition
    that requires `roles_assigned`)."""
    if stage == spec.initial:
        return True
    return any(
        stage in t.sources and any(g.name == ROLES_GUARD for g in t.guards)
        for t in spec.transitions
    )


@dataclass(frozen=True, kw_only=True)
class StageChoice:
    """One stage on the level page: the organisation's level now, and a proposal waiting."""

    key: str
    title: str
    level: str | None
    waiting: str | None


@dataclass(frozen=True, kw_only=True)
class LevelChoices:
    """What the level page shows a person for one cycle."""

    person_name: str
    language: str
    organisation_name: str
    cycle_title: str
    spec: TemplateSpec
    stages: tuple[StageChoice, ...]


def level_choices(session: Session, spec_of: SpecOf, person_id: int, cycle_id: int) -> LevelChoices:
    """The person's organisation's levels and waiting proposals on the cycle's open stages."""
    person = get_person(session, person_id)
    cycle = session.get(CycleRecord, cycle_id)
    if cycle is None:
        raise CycleNotFound(cycle_id)
    organisation = session.get(OrganisationRecord, person.organisation_id)
    spec = spec_of(session, cycle.template_id)
    done = finished_stages(spec, cycle)
    levels = {
        row.stage: row.level
        for row in session.exec(
            select(ParticipationRecord).where(
                ParticipationRecord.cycle_id == cycle_id,
                ParticipationRecord.organisation_id == person.organisation_id,
            )
        )
    }
    waiting = {
        row.stage: row.level
        for row in session.exec(
            select(LevelProposalRecord).where(
                LevelProposalRecord.cycle_id == cycle_id,
                LevelProposalRecord.organisation_id == person.organisation_id,
                LevelProposalRecord.status == proposals.PROPOSED,
            )
        )
    }
    return LevelChoices(
        person_name=person.name,
        language=person.language,
        organisation_name=organisation.name if organisation else "",
        cycle_title=cycle.title,
        spec=spec,
        stages=tuple(
            StageChoice(
                key=s.key, title=s.title, level=levels.get(s.key), waiting=waiting.get(s.key)
            )
            for s in spec.work_stages
            if s.key not in done
        ),
    )


def read_levels(form: Mapping[str, str]) -> dict[str, str]:
    """{stage: level} from a form's `level.<stage>` fields; blank ones are left out.

    Raises InvalidInput naming the field: a level not in LEVELS, or nothing chosen.
    """
    chosen: dict[str, str] = {}
    for name, value in form.items():
        if not name.startswith("level.") or not value.strip():
            continue
        stage, level = name.removeprefix("level."), value.strip()
        if level not in LEVELS:
            raise InvalidInput(name, f"must be one of {', '.join(LEVELS)}; got {level!r}")
        chosen[stage] = level
    if not chosen:
        raise InvalidInput("level", "choose a level for at least one stage")
    return chosen


@dataclass(frozen=True, kw_only=True)
class LevelsProposed:
    """What a level link did: `performed` is False when the link had been used before."""

    performed: bool
    at: datetime
    proposals: tuple[LevelProposalRecord, ...] = ()


def propose_levels(
    checks: LearningChecks,
    *,
    person_id: int,
    cycle_id: int,
    stage_visit_id: int,
    use_key: str,
    levels: Mapping[str, str],
    note: str | None = None,
) -> LevelsProposed:
    """Propose the person's organisation's `levels` ({stage: level}) on the cycle, once per
    `use_key`, as the partner the person is (their organisation's reach, credited to it).

    Raises InvalidInput (no level, unknown stage or level), ActionNotAllowed (finished stage or
    cycle; the person left), PersonNotFound, CycleNotFound.
    """
    if not levels:
        raise InvalidInput("level", "choose a level for at least one stage")
    with checks.db.read_session() as session:
        person = get_person(session, person_id)
        organisation_id = person.organisation_id
        actor = _partner(person)
    try:
        with checks.cycle_op(
            cycle_id,
            actor,
            "propose a level",
            reach=Reach(organisation_id=organisation_id),
            credited=organisation_id,
        ) as op:
            used = op.session.get(ActionUseRecord, use_key)
            if used is not None:
                return LevelsProposed(performed=False, at=used.used_at)
            if person.left_on is not None:
                raise ActionNotAllowed(
                    "propose a level", f"{person.name} has left their organisation"
                )
            made = tuple(
                proposals.propose_level(
                    op,
                    stage=stage,
                    organisation_id=organisation_id,
                    level=level,
                    note=note,
                    source="email",
                )
                for stage, level in levels.items()
            )
            op.session.add(
                ActionUseRecord(
                    use_key=use_key,
                    action=LEVEL_ACTION,
                    person_id=person_id,
                    cycle_id=cycle_id,
                    stage_visit_id=stage_visit_id,
                    used_at=op.now,
                )
            )
            op.session.flush()
            return LevelsProposed(performed=True, at=op.now, proposals=made)
    except IntegrityError:  # the same link used at the same moment elsewhere
        with checks.db.read_session() as session:
            used = session.get(ActionUseRecord, use_key)
        if used is None:
            raise
        return LevelsProposed(performed=False, at=used.used_at)


def _partner(person: PersonRecord) -> Actor:
    return Actor(
        name=f"{person.name} (email)"[:200],
        role="partner",
        organisation_id=person.organisation_id,
        person_id=person.id,
    )
