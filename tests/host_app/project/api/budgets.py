"""The budget desk's own tables, and the guard that keeps a purchase from being ordered until
its budget is approved. The tables live in the engine's database, so the guard reads them in the
same transaction as the command it guards."""

from __future__ import annotations

from cycle_engine import GuardContext, GuardDefinition
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    func,
    select,
)

metadata = MetaData()
approvals = Table(
    "budget_desk_approvals",
    metadata,
    Column("cycle_id", Integer, primary_key=True),
    Column("approved_by", String(200), nullable=False),
)
audit_log = Table(
    "budget_desk_audit",
    metadata,
    Column("cycle_id", Integer, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("kind", String(50), nullable=False),
    Column("to_state", String(100)),
    Column("at", DateTime(timezone=True), nullable=False),
)


def budget_approved(ctx: GuardContext, required: object) -> list[str]:
    """Why the cycle may not go on: nothing once the desk approved its budget."""
    if not required:
        return []
    approved = ctx.session.connection().execute(
        select(approvals.c.approved_by).where(approvals.c.cycle_id == ctx.cycle.id)
    )
    if approved.first() is None:
        return ["the budget desk has not approved this purchase's budget yet"]
    return []


BUDGET_APPROVED = GuardDefinition(
    name="budget_approved",
    arg_type=bool,
    description="the budget desk approved the cycle's budget",
    check=budget_approved,
)


class BudgetBook:
    """The desk's own access to its tables (its own SQLAlchemy engine on the same database)."""

    def __init__(self, database_url: str) -> None:
        self.db = create_engine(database_url)

    def create_tables(self) -> None:
        metadata.create_all(self.db)

    def approve(self, cycle_id: int, approved_by: str) -> None:
        with self.db.begin() as connection:
            connection.execute(
                approvals.insert().values(cycle_id=cycle_id, approved_by=approved_by)
            )

    def audited(self, cycle_id: int, seq: int) -> bool:
        """Whether the audit row of event `seq` is committed (seen from another connection)."""
        with self.db.connect() as connection:
            count = connection.execute(
                select(func.count())
                .select_from(audit_log)
                .where(audit_log.c.cycle_id == cycle_id, audit_log.c.seq == seq)
            ).scalar_one()
        return bool(count)

    def close(self) -> None:
        self.db.dispose()
