"""`AllianceLearning` (`engine.learning`): shared learning above the cycle, as commands and
queries with the caller's reach.

The learning agenda and answer statuses, follow-on cycles and the alliance's cycle map, adoption
and outcome records, partners' level proposals, organisations leaving, and the alliance learning
report. Every command is one transaction (a follow-on is two: the cycle starts through the cycle
service, then the links are written; everything the second needs is checked before the first).

Reach, as everywhere (`alliances.reach`): every member of an alliance sees its agenda, cycle map,
records and report, and may look at its cycles here; partners act for their own organisation
(propose its level, raise a question in its name, record its adoptions); coordinators of the
alliance organise (decide proposals, start follow-on cycles, record an organisation leaving);
managers read. Out of reach is not found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from cycle_engine.actors import SYSTEM, Actor
from cycle_engine.alliances import (
    adoption,
    agenda,
    departures,
    distinct,
    follow_on,
    followers,
    proposals,
)
from cycle_engine.alliances.alliance_report import (
    AllianceReport,
    build_alliance_report,
    render_alliance_report,
)
from cycle_engine.alliances.common import CycleOp
from cycle_engine.alliances.departures import OrganisationsTurnover
from cycle_engine.alliances.learning_checks import LearningChecks
from cycle_engine.alliances.reach import (
    Reach,
    role_refusal,
)
from cycle_engine.changes import Changes
from cycle_engine.clock import Clock
from cycle_engine.errors import (
    NotPermitted,
)
from cycle_engine.store.db import Database
from cycle_engine.store.events import lock_cycle
from cycle_engine.store.tables import CycleRecord
from cycle_engine.store.tables.alliances import ProductRecord
from cycle_engine.store.tables.learning import (
    AdaptedVersionRecord,
    AdoptionRecord,
    AgendaQuestionRecord,
    CycleFollowerRecord,
    CycleLinkRecord,
    LevelProposalRecord,
    OrganisationDepartureRecord,
)
from cycle_engine.store.templates import TemplateStore


class StartCycle(Protocol):
    """The cycle service's `start_cycle` (handed in: cycles sit above alliances)."""

    def __call__(
        self,
        template_key: str,
        title: str,
        *,
        actor: Actor = ...,
        note: str | None = ...,
        alliance_id: int | None = ...,
        topic: str | None = ...,
        reach: Reach | None = ...,
    ) -> CycleRecord: ...


@dataclass(frozen=True, kw_only=True)
class FollowOn:
    """A follow-on cycle and its link to the cycle that fed it."""

    cycle: CycleRecord
    link: CycleLinkRecord


class AllianceLearning:
    """The learning agenda, follow-on cycles, adoption and outcomes, level proposals,
    organisations leaving, and the alliance learning report (see the module docstring)."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        templates: TemplateStore,
        changes: Changes,
        start_cycle: StartCycle,
    ) -> None:
        self.db = db
        self.clock = clock
        self.templates = templates
        self.changes = changes
        self.start_cycle = start_cycle
        self.checks = LearningChecks(db=db, clock=clock, templates=templates, changes=changes)

    # -- the learning agenda ---------------------------------------------------------------

    def raise_question(
        self,
        cycle_id: int,
        text: str,
        reason: str,
        *,
        organisation_id: int | None = None,
        actor: Actor = SYSTEM,
        expected_version: int | None = None,
        reach: Reach | None = None,
    ) -> agenda.QuestionState:
        """Raise a learning question at any stage of a running cycle (see `agenda`); a partner
        raises it in its own organisation's name."""
        organisation_id = organisation_id or actor.organisation_id
        with self.checks.cycle_op(
            cycle_id,
            actor,
            "raise a learning question",
            reach=reach,
            expected_version=expected_version,
            credited=organisation_id,
        ) as op:
            return agenda.raise_question(
                op, text=text, reason=reason, organisation_id=organisation_id
            )

    def take_up_question(
        self,
        cycle_id: int,
        agenda_question_id: int,
        *,
        actor: Actor = SYSTEM,
        expected_version: int | None = None,
        reach: Reach | None = None,
    ) -> agenda.QuestionState:
        with self.checks.cycle_op(
            cycle_id,
            actor,
            "take up an agenda question",
            reach=reach,
            expected_version=expected_version,
            organisers_only=True,
        ) as op:
            return agenda.take_up_question(op, agenda_question_id=agenda_question_id)

    def record_question_status(
        self,
        cycle_id: int,
        question_id: int,
        status: str,
        *,
        text: str | None = None,
        note: str | None = None,
        actor: Actor = SYSTEM,
        expected_version: int | None = None,
        reach: Reach | None = None,
    ) -> agenda.QuestionState:
        """Record a question answered, advanced or carried forward (see `agenda.record_status`);
        partners do it while their organisation leads or takes part in the current stage."""
        with self.checks.cycle_op(
            cycle_id,
            actor,
            "record a learning question's status",
            reach=reach,
            expected_version=expected_version,
            on_stage=True,
        ) as op:
            return agenda.record_status(
                op, question_id=question_id, status=status, text=text, note=note
            )

    def question_states(
        self, cycle_id: int, *, reach: Reach | None = None
    ) -> list[agenda.QuestionState]:
        with self.db.read_session() as session:
            self.checks.read_cycle(session, cycle_id, reach)
            return agenda.question_states(session, cycle_id)

    def agenda(self, alliance_id: int, *, reach: Reach | None = None) -> list[agenda.AgendaItem]:
        with self.db.read_session() as session:
            self.checks.require_alliance(session, reach, alliance_id)
            return agenda.agenda_of(session, alliance_id)

    def raise_agenda_question(
        self,
        alliance_id: int,
        text: str,
        reason: str,
        *,
        organisation_id: int | None = None,
        actor: Actor = SYSTEM,
        reach: Reach | None = None,
    ) -> AgendaQuestionRecord:
        """Put a question on the alliance's agenda outside any cycle."""
        organisation_id = organisation_id or actor.organisation_id
        with self.checks.alliance_write(
            alliance_id, actor, "raise an agenda question", reach=reach, credited=organisation_id
        ) as session:
            return agenda.raise_agenda_question(
                session,
                alliance_id=alliance_id,
                text=text,
                reason=reason,
                raised_by=actor.name,
                now=self.clock.now(),
                organisation_id=organisation_id,
            )

    # -- follow-on cycles ------------------------------------------------------------------

    def start_follow_on(
        self,
        source_cycle_id: int,
        title: str,
        *,
        template_key: str | None = None,
        question_ids: Sequence[int] | None = None,
        product_ids: Sequence[int] | None = None,
        topic: str | None = None,
        note: str | None = None,
        actor: Actor = SYSTEM,
        reach: Reach | None = None,
    ) -> FollowOn:
        """Start a cycle that follows on from `source_cycle_id` (finished or running): it works
        on the chosen open questions (None: every question not fully answered), takes the
        chosen products as inputs (None: the adapted versions, else the prototypes) and is
        proposed the same participants. Coordinators only.

        Raises CycleNotFound, NotPermitted, RecordNotFound, InputConflict, TemplateNotFound.
        """
        role = role_refusal(actor, organisers_only=True)
        with self.db.read_session() as session:
            source = self.checks.read_cycle(session, source_cycle_id, reach)
            if role is None and reach is not None and not reach.manages(source.alliance_id):
                role = "only the alliance's coordinator may do this"
            if role is not None:
                raise NotPermitted("start a follow-on cycle", role)
            plan = follow_on.plan_follow_on(
                session, source, question_ids=question_ids, product_ids=product_ids
            )
            key = template_key or source.template_key
            topic = topic or source.topic
        cycle = self.start_cycle(
            key,
            title,
            actor=actor,
            note=note,
            alliance_id=plan.alliance_id,
            topic=topic,
            reach=reach,
        )
        assert cycle.id is not None
        now = self.clock.now()
        with self.db.transaction() as session:
            new = lock_cycle(session, cycle.id)
            old = lock_cycle(session, source_cycle_id)
            ops = [
                CycleOp(
                    session=session,
                    cycle=c,
                    spec=self.templates.spec(session, c.template_id),
                    actor=actor,
                    now=now,
                    changes=self.changes,
                )
                for c in (new, old)
            ]
            link = follow_on.link_follow_on(ops[0], ops[1], plan, note=note)
            return FollowOn(cycle=new, link=link)

    def links(
        self, cycle_id: int, *, reach: Reach | None = None
    ) -> tuple[list[CycleLinkRecord], list[ProductRecord]]:
        """The cycle's links (from and to it) and the products it took as inputs."""
        with self.db.read_session() as session:
            self.checks.read_cycle(session, cycle_id, reach)
            return follow_on.links_of(session, cycle_id), follow_on.inputs_of(session, cycle_id)

    def cycle_map(self, alliance_id: int, *, reach: Reach | None = None) -> follow_on.CycleMap:
        with self.db.read_session() as session:
            self.checks.require_alliance(session, reach, alliance_id)
            return follow_on.cycle_map(session, alliance_id)

    # -- adapted versions ------------------------------------------------------------------

    def link_adapted_version(
        self,
        cycle_id: int,
        product_id: int,
        prototype_id: int,
        context_id: int,
        *,
        actor: Actor = SYSTEM,
        expected_version: int | None = None,
        reach: Reach | None = None,
    ) -> AdaptedVersionRecord:
        """Link an adapted version to the prototype and the context it came from (see
        `distinct.link_adapted_version`); partners while they act on the current stage."""
        with self.checks.cycle_op(
            cycle_id,
            actor,
            "link an adapted version",
            reach=reach,
            expected_version=expected_version,
            on_stage=True,
        ) as op:
            return distinct.link_adapted_version(
                op, product_id=product_id, prototype_id=prototype_id, context_id=context_id
            )

    def adapted_versions(
        self, cycle_id: int, *, reach: Reach | None = None
    ) -> list[AdaptedVersionRecord]:
        with self.db.read_session() as session:
            self.checks.read_cycle(session, cycle_id, reach)
            return distinct.adapted_versions_of(session, cycle_id)

    # -- adoption and outcomes -------------------------------------------------------------

    def record_adoption(
        self,
        alliance_id: int,
        product_id: int,
        organisation_id: int,
        use: str,
        *,
        country: str,
        place: str,
        adopted_on: date,
        description: str,
        actor: Actor = SYSTEM,
        reach: Reach | None = None,
    ) -> AdoptionRecord:
        """Record that an organisation used or adapted a tool (see `adoption.record_adoption`)."""
        with self.checks.alliance_write(
            alliance_id, actor, "record an adoption", reach=reach, credited=organisation_id
        ) as session:
            return adoption.record_adoption(
                session,
                alliance_id=alliance_id,
                product_id=product_id,
                organisation_id=organisation_id,
                use=use,
                country=country,
                place=place,
                adopted_on=adopted_on,
                description=description,
                recorded_by=actor.name,
                now=self.clock.now(),
            )

    def adoptions(self, alliance_id: int, *, reach: Reach | None = None) -> list[AdoptionRecord]:
        with self.db.read_session() as session:
            self.checks.require_alliance(session, reach, alliance_id)
            return adoption.adoptions_of(session, alliance_id)

    def record_outcome(
        self,
        alliance_id: int,
        kind: str,
        title: str,
        description: str,
        *,
        observed_on: date,
        cycle_ids: Sequence[int],
        learning_ids: Sequence[int] = (),
        organisation_id: int | None = None,
        actor: Actor = SYSTEM,
        reach: Reach | None = None,
    ) -> adoption.Outcome:
        """Record an outcome linked to the cycles behind it (see `adoption.record_outcome`)."""
        organisation_id = organisation_id or actor.organisation_id
        with self.checks.alliance_write(
            alliance_id, actor, "record an outcome", reach=reach, credited=organisation_id
        ) as session:
            return adoption.record_outcome(
                session,
                alliance_id=alliance_id,
                kind=kind,
                title=title,
                description=description,
                observed_on=observed_on,
                cycle_ids=cycle_ids,
                learning_ids=learning_ids,
                organisation_id=organisation_id,
                recorded_by=actor.name,
                now=self.clock.now(),
            )

    def outcomes(self, alliance_id: int, *, reach: Reach | None = None) -> list[adoption.Outcome]:
        with self.db.read_session() as session:
            self.checks.require_alliance(session, reach, alliance_id)
            return adoption.outcomes_of(session, alliance_id)

    # -- following a cycle -----------------------------------------------------------------

    def follow_cycle(
        self,
        cycle_id: int,
        person_id: int,
        *,
        actor: Actor = SYSTEM,
        reach: Reach | None = None,
    ) -> CycleFollowerRecord:
        """A member's person follows a cycle of the alliance and hears its results
        (`followers.follow`); raises CycleNotFound out of reach."""
        with self.db.transaction() as session:
            cycle = self.checks.read_cycle(session, cycle_id, reach)
            return followers.follow(
                session, cycle, person_id, reach=reach, actor=actor, now=self.clock.now()
            )

    def unfollow_cycle(
        self,
        cycle_id: int,
        person_id: int,
        *,
        actor: Actor = SYSTEM,
        reach: Reach | None = None,
    ) -> bool:
        """Stop following; False when the person did not follow the cycle."""
        with self.db.transaction() as session:
            cycle = self.checks.read_cycle(session, cycle_id, reach)
            return followers.unfollow(session, cycle, person_id, reach=reach, actor=actor)

    def followers(self, cycle_id: int, *, reach: Reach | None = None) -> list[CycleFollowerRecord]:
        with self.db.read_session() as session:
            self.checks.read_cycle(session, cycle_id, reach)
            return followers.followers_of(session, cycle_id, reach)

    # -- levels and organisations leaving --------------------------------------------------

    def propose_level(
        self,
        cycle_id: int,
        stage: str,
        organisation_id: int,
        level: str,
        *,
        note: str | None = None,
        actor: Actor = SYSTEM,
        expected_version: int | None = None,
        reach: Reach | None = None,
    ) -> LevelProposalRecord:
        """A partner proposes its organisation's level on a stage (see `proposals`)."""
        with self.checks.cycle_op(
            cycle_id,
            actor,
            "propose a level",
            reach=reach,
            expected_version=expected_version,
            credited=organisation_id,
        ) as op:
            return proposals.propose_level(
                op, stage=stage, organisation_id=organisation_id, level=level, note=note
            )

    def decide_proposal(
        self,
        cycle_id: int,
        proposal_id: int,
        *,
        level: str | None = None,
        decline: bool = False,
        note: str | None = None,
        actor: Actor = SYSTEM,
        expected_version: int | None = None,
        reach: Reach | None = None,
    ) -> LevelProposalRecord:
        """The coordinator confirms, changes or declines a proposal (see `proposals`)."""
        with self.checks.cycle_op(
            cycle_id,
            actor,
            "decide a level proposal",
            reach=reach,
            expected_version=expected_version,
            organisers_only=True,
        ) as op:
            if reach is not None and not reach.manages(op.cycle.alliance_id):
                raise NotPermitted(
                    "decide a level proposal", "only the alliance's coordinator may do this"
                )
            return proposals.decide_proposal(
                op, proposal_id=proposal_id, level=level, decline=decline, note=note
            )

    def proposals(self, cycle_id: int, *, reach: Reach | None = None) -> list[LevelProposalRecord]:
        with self.db.read_session() as session:
            self.checks.read_cycle(session, cycle_id, reach)
            return proposals.proposals_of(session, cycle_id)

    def organisation_left(
        self,
        alliance_id: int,
        organisation_id: int,
        reason: str,
        *,
        left_on: date | None = None,
        actor: Actor = SYSTEM,
        reach: Reach | None = None,
    ) -> dict[int, list[str]]:
        """Record that an organisation left the alliance; returns {cycle_id: flagged stages}
        (see `departures`). Coordinators only."""
        now = self.clock.now()
        with self.checks.alliance_write(
            alliance_id, actor, "record an organisation leaving", reach=reach, organisers_only=True
        ) as session:
            return departures.record_organisation_left(
                session,
                alliance_id=alliance_id,
                organisation_id=organisation_id,
                left_on=left_on or now.date(),
                reason=reason,
                actor=actor,
                now=now,
                changes=self.changes,
                spec_of=lambda cycle: self.templates.spec(session, cycle.template_id),
            )

    def departures(
        self, alliance_id: int, *, reach: Reach | None = None
    ) -> list[OrganisationDepartureRecord]:
        with self.db.read_session() as session:
            self.checks.require_alliance(session, reach, alliance_id)
            return departures.departures_of(session, alliance_id)

    def organisation_turnover(
        self,
        alliance_id: int,
        *,
        since: date | None = None,
        until: date | None = None,
        reach: Reach | None = None,
    ) -> OrganisationsTurnover:
        with self.db.read_session() as session:
            self.checks.require_alliance(session, reach, alliance_id)
            return departures.organisation_turnover(session, alliance_id, since=since, until=until)

    # -- the report ------------------------------------------------------------------------

    def alliance_report(self, alliance_id: int, *, reach: Reach | None = None) -> AllianceReport:
        """The alliance learning report as data; every member of the alliance may read it."""
        with self.db.read_session() as session:
            self.checks.require_alliance(session, reach, alliance_id)
            return build_alliance_report(session, alliance_id, self.clock.now())

    def render_alliance_report(
        self, alliance_id: int, fmt: str = "markdown", *, reach: Reach | None = None
    ) -> str:
        """The report as Markdown (`fmt="markdown"`) or HTML (`fmt="html"`)."""
        return render_alliance_report(self.alliance_report(alliance_id, reach=reach), fmt)
