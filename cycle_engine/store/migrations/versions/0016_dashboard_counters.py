"""reserved for speed (issue 16): counters the dashboard reads instead of counting

Nothing changes yet.

Revision ID: 0016_dashboard_counters
Revises: 0015_learning_links
"""

from __future__ import annotations

revision = "0016_dashboard_counters"
down_revision = "0015_learning_links"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
