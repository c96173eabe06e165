"""reserved for shared learning (issue 12): links and records of this session

Nothing changes yet.

Revision ID: 0015_learning_links
Revises: 0014_template_drafts
"""

from __future__ import annotations

revision = "0015_learning_links"
down_revision = "0014_template_drafts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
