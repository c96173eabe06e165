"""The alliance's own history, and what corrections leave behind (issue 19).

A cycle's history is its `events`; an alliance's records (the alliance, its organisations,
their seats and agency links, people, role grants) change outside any cycle, so corrections to
them are written here, one line each: who changed what, when, from which values to which. An
archived organisation keeps its rows and its history; `archived_at` says it no longer takes
new work.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from cycle_engine.store.tables.types import JSONType, UTCDateTime

#: What an alliance history line records.
ALLIANCE_EVENT_KINDS = (
    "alliance_updated",
    "organisation_updated",
    "organisation_archived",
    "organisation_removed",
    "member_updated",
    "member_removed",
    "person_updated",
    "person_removed",
    "role_granted",
    "role_revoked",
    "key_created",
    "key_revoked",
    "imported",
)


class AllianceEventRecord(SQLModel, table=True):
    """One line of an alliance's history: `subject` names the record (`organisation:7`),
    `data` what changed (`{"field": [old, new]}`) or what was added."""

    __tablename__ = "alliance_events"

    id: int | None = Field(default=None, primary_key=True)
    alliance_id: int = Field(foreign_key="alliances.id", index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=200)
    kind: str = Field(max_length=40)
    subject: str = Field(max_length=100)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)


class OrganisationArchiveRecord(SQLModel, table=True):
    """An organisation archived: it keeps its history, takes no new work, and its open roles
    were flagged in every alliance it sat in (as a departure flags them)."""

    __tablename__ = "organisation_archives"

    organisation_id: int = Field(foreign_key="organisations.id", primary_key=True)
    archived_at: datetime = Field(sa_type=UTCDateTime)
    archived_by: str = Field(max_length=200)
    reason: str = Field(max_length=2000)
