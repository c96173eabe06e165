"""everything over HTTP: keys and role grants as resources, archived records, one idempotency store

Placeholder in the linear history, reserved for issue 19 (filled in by the work on that issue).

Revision ID: 0013_http_resources
Revises: 0012_learning_agenda
"""

from __future__ import annotations

revision = "0013_http_resources"
down_revision = "0012_learning_agenda"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
