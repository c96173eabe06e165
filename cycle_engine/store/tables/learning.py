"""Tables of shared learning above the cycle (issue 12).

The alliance's learning agenda (questions that belong to the alliance, linked to the cycle
questions that work on them, each with an answer status per cycle), links between cycles
(follow-on cycles and the products carried into them), adoption and outcome records, partners'
level proposals, organisations leaving an alliance, and adapted versions linked to the prototype
and context they came from. All datetimes are aware UTC (`UTCDateTime`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from cycle_engine.store.tables.types import UTCDateTime

#: How a cycle left a learning question: fully answered, advanced (a partial answer), or carried
#: forward to later work (with a note saying why).
ANSWER_STATUSES = ("answered", "advanced", "carried_forward")
#: What an organisation did with a product: used it as it was, or adapted it.
ADOPTION_USES = ("used", "adapted")
#: The outcomes the method names above the cycle.
OUTCOME_KINDS = ("practice_change", "development_intervention", "policy_dialogue", "research_need")
#: Where a level proposal stands.
PROPOSAL_STATUSES = ("proposed", "confirmed", "changed", "declined", "withdrawn")


class AgendaQuestionRecord(SQLModel, table=True):
    """A learning question of the alliance: who raised it, when, why, and from which cycle."""

    __tablename__ = "agenda_questions"

    id: int | None = Field(default=None, primary_key=True)
    alliance_id: int = Field(foreign_key="alliances.id", index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    raised_at: datetime = Field(sa_type=UTCDateTime)
    raised_by: str = Field(max_length=200)
    raised_by_organisation_id: int | None = Field(default=None, foreign_key="organisations.id")
    raised_in_cycle_id: int | None = Field(default=None, foreign_key="cycles.id", index=True)
    raised_in_stage: str | None = Field(default=None, max_length=100)


class QuestionLinkRecord(SQLModel, table=True):
    """Links a cycle's learning question to the agenda question it works on; `carried_from_id`
    names the earlier cycle's question it was carried forward from."""

    __tablename__ = "question_links"
    __table_args__ = (UniqueConstraint("question_id", name="uq_question_link"),)

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="learning_questions.id", index=True)
    agenda_question_id: int = Field(foreign_key="agenda_questions.id", index=True)
    carried_from_id: int | None = Field(default=None, foreign_key="learning_questions.id")


class QuestionStatusRecord(SQLModel, table=True):
    """How a cycle left one of its questions (`status` in ANSWER_STATUSES), with the answer or
    progress and, when carried forward, the note saying why."""

    __tablename__ = "question_statuses"
    __table_args__ = (UniqueConstraint("question_id", name="uq_question_status"),)

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="learning_questions.id", index=True)
    cycle_id: int = Field(foreign_key="cycles.id", index=True)
    status: str = Field(max_length=20)
    text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    recorded_by: str = Field(max_length=200)


class CycleLinkRecord(SQLModel, table=True):
    """One cycle fed another (a follow-on cycle started from `from_cycle_id`)."""

    __tablename__ = "cycle_links"
    __table_args__ = (UniqueConstraint("from_cycle_id", "to_cycle_id", name="uq_cycle_link"),)

    id: int | None = Field(default=None, primary_key=True)
    from_cycle_id: int = Field(foreign_key="cycles.id", index=True)
    to_cycle_id: int = Field(foreign_key="cycles.id", index=True)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)


class CycleInputRecord(SQLModel, table=True):
    """A product of an earlier cycle (an adapted prototype) taken into a cycle as an input."""

    __tablename__ = "cycle_inputs"
    __table_args__ = (UniqueConstraint("cycle_id", "product_id", name="uq_cycle_input"),)

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycles.id", index=True)
    product_id: int = Field(foreign_key="products.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)


class AdoptionRecord(SQLModel, table=True):
    """An organisation used or adapted a product of a cycle (a tool, method or approach) in a
    place, on a date."""

    __tablename__ = "adoptions"

    id: int | None = Field(default=None, primary_key=True)
    alliance_id: int = Field(foreign_key="alliances.id", index=True)
    product_id: int = Field(foreign_key="products.id", index=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    use: str = Field(max_length=10)
    country: str = Field(max_length=100)
    place: str = Field(max_length=200)
    adopted_on: date
    description: str = Field(sa_column=Column(Text, nullable=False))
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    recorded_by: str = Field(max_length=200)


class OutcomeRecord(SQLModel, table=True):
    """An outcome above the cycle (`kind` in OUTCOME_KINDS): a change in an organisation's
    practice, a development intervention, a policy dialogue or a research need."""

    __tablename__ = "outcomes"

    id: int | None = Field(default=None, primary_key=True)
    alliance_id: int = Field(foreign_key="alliances.id", index=True)
    kind: str = Field(max_length=30)
    title: str = Field(max_length=300)
    description: str = Field(sa_column=Column(Text, nullable=False))
    organisation_id: int | None = Field(default=None, foreign_key="organisations.id")
    observed_on: date
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    recorded_by: str = Field(max_length=200)


class OutcomeSourceRecord(SQLModel, table=True):
    """A cycle (and optionally a learning entry of it) an outcome came from."""

    __tablename__ = "outcome_sources"

    id: int | None = Field(default=None, primary_key=True)
    outcome_id: int = Field(foreign_key="outcomes.id", index=True)
    cycle_id: int = Field(foreign_key="cycles.id", index=True)
    learning_id: int | None = Field(default=None, foreign_key="learning_entries.id")


class LevelProposalRecord(SQLModel, table=True):
    """A partner's proposed level for its organisation on one stage, and the coordinator's
    decision (confirmed as proposed, changed to another level, or declined)."""

    __tablename__ = "level_proposals"

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycles.id", index=True)
    stage: str = Field(max_length=100)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    level: str = Field(max_length=10)
    status: str = Field(default="proposed", max_length=10)
    source: str = Field(default="partner", max_length=20)
    proposed_at: datetime = Field(sa_type=UTCDateTime)
    proposed_by: str = Field(max_length=200)
    decided_level: str | None = Field(default=None, max_length=10)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=200)
    decision_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class OrganisationDepartureRecord(SQLModel, table=True):
    """An organisation left an alliance on a date, for a reason."""

    __tablename__ = "organisation_departures"
    __table_args__ = (
        UniqueConstraint("alliance_id", "organisation_id", name="uq_organisation_departure"),
    )

    id: int | None = Field(default=None, primary_key=True)
    alliance_id: int = Field(foreign_key="alliances.id", index=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    left_on: date
    reason: str = Field(sa_column=Column(Text, nullable=False))
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    recorded_by: str = Field(max_length=200)


class AdaptedVersionRecord(SQLModel, table=True):
    """An adapted version (a product) linked to the prototype and the context it came from."""

    __tablename__ = "adapted_versions"
    __table_args__ = (UniqueConstraint("product_id", name="uq_adapted_version"),)

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="products.id", index=True)
    prototype_id: int = Field(foreign_key="products.id", index=True)
    context_id: int = Field(foreign_key="test_contexts.id", index=True)


class CycleFollowerRecord(SQLModel, table=True):
    """A person of a member organisation following a cycle they may have no role in: they get
    the cycle's results emails with its informed organisations (issue 12 item 5)."""

    __tablename__ = "cycle_followers"
    __table_args__ = (UniqueConstraint("cycle_id", "person_id", name="uq_cycle_follower"),)

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycles.id", index=True)
    person_id: int = Field(foreign_key="people.id", index=True)
    followed_at: datetime = Field(sa_type=UTCDateTime)
    followed_by: str = Field(max_length=200)
