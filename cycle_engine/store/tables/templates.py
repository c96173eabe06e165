"""Published template versions and the plans that move running cycles between them.

A version keeps its source text so it can be rebuilt exactly. Built-in templates are global
(`alliance_id` NULL, published by an administrator); every other template belongs to one
alliance. A key is unique per owner: the partial unique indexes hold (key, version) unique among
the built-in templates and (alliance, key, version) unique within each alliance.

A migration plan names the target version, which running cycles move (all on a version or key,
or chosen ones), how old stages map to new ones and what happens to stages not yet entered. Its
preview remembers the version of each cycle it showed, so applying it skips a cycle that changed
since; its report says what happened.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Text, text
from sqlmodel import Field, SQLModel

from cycle_engine.store.tables.types import JSONType, UTCDateTime

#: Template version statuses ("draft" is kept for later).
PUBLISHED = "published"
RETIRED = "retired"
TEMPLATE_STATUSES = (PUBLISHED, RETIRED)

#: What a migration does to the planned dates of stages a cycle has not entered yet.
REPLAN = "replan"
KEEP = "keep"
UNENTERED_RULES = (REPLAN, KEEP)

#: Migration plan statuses.
PLAN_CREATED = "created"
PLAN_PREVIEWED = "previewed"
PLAN_APPLIED = "applied"


class TemplateRecord(SQLModel, table=True):
    """One version of a cycle template; same content under the same key is the same version."""

    __tablename__ = "templates"
    __table_args__ = (
        Index(
            "uq_templates_builtin_key_version",
            "key",
            "version",
            unique=True,
            sqlite_where=text("alliance_id IS NULL"),
            postgresql_where=text("alliance_id IS NULL"),
        ),
        Index(
            "uq_templates_alliance_key_version",
            "alliance_id",
            "key",
            "version",
            unique=True,
            sqlite_where=text("alliance_id IS NOT NULL"),
            postgresql_where=text("alliance_id IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, max_length=100)
    version: int
    title: str = Field(max_length=200)
    content_hash: str = Field(max_length=64)
    source_name: str = Field(max_length=300)
    source_text: str = Field(sa_column=Column(Text, nullable=False))
    published_at: datetime = Field(sa_type=UTCDateTime)
    alliance_id: int | None = Field(default=None, foreign_key="alliances.id", index=True)
    status: str = Field(default=PUBLISHED, max_length=20)
    published_by: str = Field(default="system", max_length=200)

    @property
    def label(self) -> str:
        """`learning-cycle v2`: how people name a version."""
        return f"{self.key} v{self.version}"


class TemplateMigrationRecord(SQLModel, table=True):
    """A plan moving running cycles to one template version, with its preview and report."""

    __tablename__ = "template_migrations"

    id: int | None = Field(default=None, primary_key=True)
    alliance_id: int | None = Field(default=None, foreign_key="alliances.id", index=True)
    template_id: int = Field(foreign_key="templates.id", index=True)
    source_key: str = Field(max_length=100)
    source_template_id: int | None = Field(default=None, foreign_key="templates.id")
    cycle_ids: list[int] = Field(default_factory=list, sa_type=JSONType)
    stage_map: dict[str, str] = Field(default_factory=dict, sa_type=JSONType)
    unentered: str = Field(default=REPLAN, max_length=10)
    status: str = Field(default=PLAN_CREATED, max_length=20)
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    previewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    preview_versions: dict[str, int] = Field(default_factory=dict, sa_type=JSONType)
    applied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    applied_by: str | None = Field(default=None, max_length=200)
    report: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
