"""Template drafts: a template being edited in the dashboard, not yet published.

A draft belongs to an alliance (or, `alliance_id` NULL, is an administrator's draft of a
built-in template); no cycle can start on it, because cycles only name published versions
(`templates`). Its `revision` grows by one on every save, so a save made against an older
revision is refused as a conflict instead of overwriting a colleague's change. Each save leaves
a row in `template_draft_changes`: who, when, and what changed, in words.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from cycle_engine.store.tables.types import UTCDateTime


class TemplateDraftRecord(SQLModel, table=True):
    """One draft: its text as last saved, the revision it is at, and who made it."""

    __tablename__ = "template_drafts"

    id: int | None = Field(default=None, primary_key=True)
    alliance_id: int | None = Field(default=None, foreign_key="alliances.id", index=True)
    key: str = Field(max_length=100)
    title: str = Field(default="", max_length=200)
    source_text: str = Field(sa_column=Column(Text, nullable=False))
    revision: int = Field(default=1)
    based_on_id: int | None = Field(default=None, foreign_key="templates.id")
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_by: str = Field(max_length=200)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class TemplateDraftChangeRecord(SQLModel, table=True):
    """One save of a draft: the revision it made, who, when and what changed."""

    __tablename__ = "template_draft_changes"

    id: int | None = Field(default=None, primary_key=True)
    draft_id: int = Field(foreign_key="template_drafts.id", index=True)
    revision: int
    changed_by: str = Field(max_length=200)
    changed_at: datetime = Field(sa_type=UTCDateTime)
    summary: str = Field(sa_column=Column(Text, nullable=False))
