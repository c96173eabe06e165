"""one history: join the five branches that grew from 0001_core; later revisions are linear

Revision ID: 0007_one_history
Revises: 0002_alliance, 0003_timers, 0004_outbox, 0005_access, 0006_dashboard
"""

from __future__ import annotations

revision = "0007_one_history"
down_revision = ("0002_alliance", "0003_timers", "0004_outbox", "0005_access", "0006_dashboard")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
