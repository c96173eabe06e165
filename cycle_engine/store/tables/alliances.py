"""Tables of the Learning Alliance domain.

Alliances group partner organisations (an organisation may sit in several alliances); people
belong to one organisation; coordinators and managers hold an alliance role. Per cycle:
participation per stage, the work plan, products, testing contexts with their results,
learning questions and learning log entries. All datetimes are aware UTC (`UTCDateTime`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from cycle_engine.store.tables.types import UTCDateTime

#: Organisation kinds, as the method names the partners of an alliance.
ORGANISATION_KINDS = ("research", "ngo", "donor", "government", "private", "local")
ORGANISATION_KIND_TITLES = {
    "research": "Research",
    "ngo": "NGO",
    "donor": "Donor or development agency",
    "government": "Government or policy body",
    "private": "Private business",
    "local": "Farmer or local organisation",
}
LANGUAGES = ("en", "es", "fr")
ALLIANCE_ROLES = ("coordinator", "manager")
LEVELS = ("lead", "active", "informed")


class AllianceRecord(SQLModel, table=True):
    """A Learning Alliance: a theme, a home time zone, a language and working hours."""

    __tablename__ = "alliances"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    theme: str = Field(max_length=300)
    timezone: str = Field(default="UTC", max_length=64)
    language: str = Field(default="en", max_length=5)
    working_hours_start: int = Field(default=9)
    working_hours_end: int = Field(default=17)
    weekend_days: str = Field(default="5,6", max_length=20)
    created_at: datetime = Field(sa_type=UTCDateTime)


class OrganisationRecord(SQLModel, table=True):
    """A partner organisation; `kind` is one of ORGANISATION_KINDS."""

    __tablename__ = "organisations"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=20)
    country: str = Field(max_length=100)
    timezone: str = Field(default="UTC", max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)


class MembershipRecord(SQLModel, table=True):
    """An organisation's seat in an alliance; `works_with_id` names the partner agency a local
    organisation works through."""

    __tablename__ = "alliance_members"
    __table_args__ = (
        UniqueConstraint("alliance_id", "organisation_id", name="uq_alliance_member"),
    )

    id: int | None = Field(default=None, primary_key=True)
    alliance_id: int = Field(foreign_key="alliances.id", index=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    works_with_id: int | None = Field(default=None, foreign_key="organisations.id")
    joined_on: date


class PersonRecord(SQLModel, table=True):
    """A person in a partner organisation; `left_on` is set when they leave it."""

    __tablename__ = "people"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    email: str = Field(max_length=254, unique=True)
    language: str = Field(default="en", max_length=5)
    timezone: str = Field(default="UTC", max_length=64)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    joined_on: date
    left_on: date | None = Field(default=None)


class AllianceRoleRecord(SQLModel, table=True):
    """A person coordinating or managing an alliance (`role` in ALLIANCE_ROLES)."""

    __tablename__ = "alliance_roles"
    __table_args__ = (
        UniqueConstraint("alliance_id", "person_id", "role", name="uq_alliance_role"),
    )

    id: int | None = Field(default=None, primary_key=True)
    alliance_id: int = Field(foreign_key="alliances.id", index=True)
    person_id: int = Field(foreign_key="people.id", index=True)
    role: str = Field(max_length=20)


class ParticipationRecord(SQLModel, table=True):
    """How one organisation takes part in one stage of a cycle (lead, active or informed)."""

    __tablename__ = "participation"
    __table_args__ = (
        UniqueConstraint("cycle_id", "stage", "organisation_id", name="uq_participation"),
    )

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycles.id", index=True)
    stage: str = Field(max_length=100)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    level: str = Field(max_length=10)
    focal_point_id: int | None = Field(default=None, foreign_key="people.id", index=True)
    deputy_id: int | None = Field(default=None, foreign_key="people.id")
    needs_focal_point: bool = Field(default=False)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class PlanRecord(SQLModel, table=True):
    """The planned start and due date of one stage of a cycle (the work plan)."""

    __tablename__ = "work_plan"
    __table_args__ = (UniqueConstraint("cycle_id", "stage", name="uq_work_plan_stage"),)

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycles.id", index=True)
    stage: str = Field(max_length=100)
    position: int
    planned_start: datetime = Field(sa_type=UTCDateTime)
    planned_due: datetime = Field(sa_type=UTCDateTime)
    original_due: datetime = Field(sa_type=UTCDateTime)
    changes: int = Field(default=0)


class ProductRecord(SQLModel, table=True):
    """A product a stage yields (a review, a prototype, documented results...)."""

    __tablename__ = "products"

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycles.id", index=True)
    stage: str = Field(max_length=100)
    kind: str = Field(max_length=40)
    form: str | None = Field(default=None, max_length=20)
    title: str = Field(max_length=300)
    link: str | None = Field(default=None, max_length=1000)
    file_path: str | None = Field(default=None, max_length=500)
    file_name: str | None = Field(default=None, max_length=255)
    content_type: str | None = Field(default=None, max_length=100)
    size_bytes: int | None = Field(default=None)
    sha256: str | None = Field(default=None, max_length=64)
    author_organisation_id: int = Field(foreign_key="organisations.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)


class ContextRecord(SQLModel, table=True):
    """A distinct context (country, community or site) where prototypes are tested."""

    __tablename__ = "test_contexts"
    __table_args__ = (UniqueConstraint("cycle_id", "name", name="uq_test_context_name"),)

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycles.id", index=True)
    name: str = Field(max_length=200)
    country: str = Field(max_length=100)
    community: str = Field(max_length=200)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    status: str = Field(default="planned", max_length=20)
    created_at: datetime = Field(sa_type=UTCDateTime)


class ContextResultRecord(SQLModel, table=True):
    """Results one context reported in one testing round (a visit of the testing stage)."""

    __tablename__ = "context_results"

    id: int | None = Field(default=None, primary_key=True)
    context_id: int = Field(foreign_key="test_contexts.id", index=True)
    cycle_id: int = Field(foreign_key="cycles.id", index=True)
    stage: str = Field(max_length=100)
    visit: int
    rating: str = Field(max_length=10)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    reported_at: datetime = Field(sa_type=UTCDateTime)
    reported_by: str = Field(max_length=200)


class QuestionRecord(SQLModel, table=True):
    """A learning question of a cycle and, once documented, its answer."""

    __tablename__ = "learning_questions"

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycles.id", index=True)
    position: int
    text: str = Field(sa_column=Column(Text, nullable=False))
    answer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answered_by: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)


class LearningRecord(SQLModel, table=True):
    """A learning log entry, typed by the kinds of learning the method documents."""

    __tablename__ = "learning_entries"

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycles.id", index=True)
    stage: str = Field(max_length=100)
    kind: str = Field(max_length=40)
    title: str = Field(max_length=300)
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)


class LearningOrganisationRecord(SQLModel, table=True):
    """Links a learning entry to an organisation that learnt it."""

    __tablename__ = "learning_organisations"
    __table_args__ = (
        UniqueConstraint("learning_id", "organisation_id", name="uq_learning_organisation"),
    )

    id: int | None = Field(default=None, primary_key=True)
    learning_id: int = Field(foreign_key="learning_entries.id", index=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
