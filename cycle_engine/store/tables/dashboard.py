"""What the dashboard remembers about sign-ins: used sign-in links and open browser sessions.

A sign-in link is single use: its id is written here the first time it is used, so the primary
key refuses a replay even when two requests race. A browser session is a row keyed by the
SHA-256 of the random key its cookie carries, so a stolen database does not yield live cookies;
signing out sets `ended_at`, which the cookie cannot undo.

Besides its tables, the dashboard declares one index on a core table that its overview needs to
stay fast with 100,000 cycles: stage visits by the time they were left (the on-time rate over
recent weeks).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from cycle_engine.store.tables.cycles import StageRecord
from cycle_engine.store.tables.types import UTCDateTime


class SignInUseRecord(SQLModel, table=True):
    """A sign-in link that was used (by its id), so it can never be used again."""

    __tablename__ = "dashboard_signin_uses"

    token_id: str = Field(primary_key=True, max_length=64)
    person_id: int = Field(foreign_key="people.id", index=True)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime = Field(sa_type=UTCDateTime)


class DashboardSessionRecord(SQLModel, table=True):
    """A signed-in browser: whose it is, until when, and whether it signed out."""

    __tablename__ = "dashboard_sessions"

    key_hash: str = Field(primary_key=True, max_length=64)
    person_id: int = Field(foreign_key="people.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


#: Closed stage visits by the time they were left: the on-time rate over recent weeks of the
#: cycles a partner sees. Only closed visits: an index holding the open ones too was taken
#: for "left_at IS NULL" instead of the open visits' deadline index, and lists by deadline read
#: every open visit (revision 0016).
VISITS_BY_LEFT_AT = Index(
    "ix_stage_visits_left_at",
    StageRecord.__table__.c.left_at,  # type: ignore[attr-defined]
    sqlite_where=text("left_at IS NOT NULL"),
    postgresql_where=text("left_at IS NOT NULL"),
)
