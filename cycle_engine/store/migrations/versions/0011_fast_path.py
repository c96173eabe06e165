"""the fast path: a narrow timer due-queue and per-alliance counters

Placeholder in the linear history, reserved for issue 16 (filled in by the work on that issue).

Revision ID: 0011_fast_path
Revises: 0010_template_ownership
"""

from __future__ import annotations

revision = "0011_fast_path"
down_revision = "0010_template_ownership"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
