"""Published template versions: the source text is kept so any version can be rebuilt exactly."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from cycle_engine.store.tables.types import UTCDateTime


class TemplateRecord(SQLModel, table=True):
    """One version of a cycle template; same content under the same key is the same version."""

    __tablename__ = "templates"
    __table_args__ = (
        UniqueConstraint("key", "version", name="uq_templates_key_version"),
        UniqueConstraint("key", "content_hash", name="uq_templates_key_hash"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, max_length=100)
    version: int
    title: str = Field(max_length=200)
    content_hash: str = Field(max_length=64)
    source_name: str = Field(max_length=300)
    source_text: str = Field(sa_column=Column(Text, nullable=False))
    published_at: datetime = Field(sa_type=UTCDateTime)
