"""speed (issue 16): stage visits closed per alliance and UTC day, for the on-time figure

`alliance_closed_days` holds, per alliance and UTC day, how many stage visits with a deadline
were closed that day and how many of them by their deadline. The overview's on-time figure
reads the days of its window (some 90 rows) instead of scanning every closed visit. Triggers
on `stage_visits` keep it in the writing transaction, whatever writes the visit (a fire, a
correction, an import): a visit counts on the day it was left, and a change to its deadline
or its leaving moves it. The upgrade fills it from the visits already there.

Two indexes let the overview's short lists read a page instead of every cycle of the
alliance: `ix_stage_visits_open_due` gains the cycle after the deadline (the lists by deadline
are ordered by deadline, then cycle, so a page is an index range in order), and
`ix_stall_flags_active_since` orders active stall flags by how long they have stood (then
cycle). `ix_stage_visits_left_at` keeps only closed visits: holding the open ones too, it was
taken for "left_at IS NULL" in place of the deadline index, and a short list read them all.

Revision ID: 0016_dashboard_counters
Revises: 0014_template_drafts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision = "0016_dashboard_counters"
down_revision = "0014_template_drafts"
branch_labels = None
depends_on = None

OPEN_VISIT = sa.text("left_at IS NULL")
CLOSED_VISIT = sa.text("left_at IS NOT NULL")
ACTIVE_FLAG = sa.text("cleared_at IS NULL")
#: The alliance of the cycle a visit (`row`) belongs to.
_ALLIANCE_OF = "(SELECT alliance_id FROM cycles WHERE id = {row}.cycle_id)"
#: A visit that counts: closed, with a deadline.
_COUNTS = "{row}.left_at IS NOT NULL AND {row}.due_at IS NOT NULL"

SQLITE_ADD = """
    INSERT INTO alliance_closed_days (alliance_id, day, closed, on_time)
    SELECT {alliance}, substr(NEW.left_at, 1, 10), 1, NEW.left_at <= NEW.due_at
    WHERE {counts} AND {alliance} IS NOT NULL
    ON CONFLICT (alliance_id, day) DO UPDATE SET
        closed = closed + 1, on_time = on_time + excluded.on_time;
""".format(alliance=_ALLIANCE_OF.format(row="NEW"), counts=_COUNTS.format(row="NEW"))
SQLITE_REMOVE = """
    UPDATE alliance_closed_days SET
        closed = closed - 1, on_time = on_time - (OLD.left_at <= OLD.due_at)
    WHERE {counts} AND alliance_id = {alliance} AND day = substr(OLD.left_at, 1, 10);
""".format(alliance=_ALLIANCE_OF.format(row="OLD"), counts=_COUNTS.format(row="OLD"))

SQLITE = [
    f"""
    CREATE TRIGGER ce_closed_visit_insert AFTER INSERT ON stage_visits
    WHEN {_COUNTS.format(row="NEW")}
    BEGIN {SQLITE_ADD} END
    """,
    f"""
    CREATE TRIGGER ce_closed_visit_update AFTER UPDATE OF due_at, left_at ON stage_visits
    WHEN (OLD.due_at IS NOT NEW.due_at OR OLD.left_at IS NOT NEW.left_at)
        AND ({_COUNTS.format(row="OLD")} OR {_COUNTS.format(row="NEW")})
    BEGIN {SQLITE_REMOVE} {SQLITE_ADD} END
    """,
    f"""
    CREATE TRIGGER ce_closed_visit_delete AFTER DELETE ON stage_visits
    WHEN {_COUNTS.format(row="OLD")}
    BEGIN {SQLITE_REMOVE} END
    """,
]
SQLITE_TRIGGERS = ["ce_closed_visit_insert", "ce_closed_visit_update", "ce_closed_visit_delete"]

_PG_DAY = "to_char({value} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
POSTGRESQL = [
    f"""
    CREATE FUNCTION ce_closed_visit() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        alliance integer;
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') AND {_COUNTS.format(row="OLD")} THEN
            SELECT alliance_id INTO alliance FROM cycles WHERE id = OLD.cycle_id;
            UPDATE alliance_closed_days SET
                closed = closed - 1,
                on_time = on_time - (OLD.left_at <= OLD.due_at)::int
            WHERE alliance_id = alliance AND day = {_PG_DAY.format(value="OLD.left_at")};
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') AND {_COUNTS.format(row="NEW")} THEN
            SELECT alliance_id INTO alliance FROM cycles WHERE id = NEW.cycle_id;
            IF alliance IS NOT NULL THEN
                INSERT INTO alliance_closed_days AS days (alliance_id, day, closed, on_time)
                VALUES (alliance, {_PG_DAY.format(value="NEW.left_at")}, 1,
                        (NEW.left_at <= NEW.due_at)::int)
                ON CONFLICT (alliance_id, day) DO UPDATE SET
                    closed = days.closed + 1, on_time = days.on_time + excluded.on_time;
            END IF;
        END IF;
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE TRIGGER ce_closed_visit_insert AFTER INSERT ON stage_visits
    FOR EACH ROW WHEN ({_COUNTS.format(row="NEW")}) EXECUTE FUNCTION ce_closed_visit()
    """,
    f"""
    CREATE TRIGGER ce_closed_visit_update AFTER UPDATE OF due_at, left_at ON stage_visits
    FOR EACH ROW WHEN ((OLD.due_at IS DISTINCT FROM NEW.due_at
                        OR OLD.left_at IS DISTINCT FROM NEW.left_at)
                       AND ({_COUNTS.format(row="OLD")} OR {_COUNTS.format(row="NEW")}))
    EXECUTE FUNCTION ce_closed_visit()
    """,
    f"""
    CREATE TRIGGER ce_closed_visit_delete AFTER DELETE ON stage_visits
    FOR EACH ROW WHEN ({_COUNTS.format(row="OLD")}) EXECUTE FUNCTION ce_closed_visit()
    """,
]

FILL = """
    INSERT INTO alliance_closed_days (alliance_id, day, closed, on_time)
    SELECT cycles.alliance_id, {day}, count(*),
        sum(CASE WHEN stage_visits.left_at <= stage_visits.due_at THEN 1 ELSE 0 END)
    FROM stage_visits JOIN cycles ON cycles.id = stage_visits.cycle_id
    WHERE cycles.alliance_id IS NOT NULL AND stage_visits.left_at IS NOT NULL
        AND stage_visits.due_at IS NOT NULL
    GROUP BY cycles.alliance_id, {day}
"""


def upgrade() -> None:
    op.create_table(
        "alliance_closed_days",
        sa.Column("alliance_id", sa.Integer(), nullable=False),
        sa.Column("day", AutoString(length=10), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["alliance_id"], ["alliances.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("alliance_id", "day"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    day = (
        _PG_DAY.format(value="stage_visits.left_at")
        if postgres
        else "substr(stage_visits.left_at, 1, 10)"
    )
    op.execute(FILL.format(day=day))
    for statement in POSTGRESQL if postgres else SQLITE:
        op.execute(statement)
    _open_due_index(["due_at", "cycle_id"])
    op.create_index(
        "ix_stall_flags_active_since",
        "stall_flags",
        ["since", "cycle_id"],
        sqlite_where=ACTIVE_FLAG,
        postgresql_where=ACTIVE_FLAG,
    )
    _left_at_index(CLOSED_VISIT)


def _left_at_index(where: sa.TextClause | None) -> None:
    op.drop_index("ix_stage_visits_left_at", table_name="stage_visits")
    op.create_index(
        "ix_stage_visits_left_at",
        "stage_visits",
        ["left_at"],
        sqlite_where=where,
        postgresql_where=where,
    )


def _open_due_index(columns: list[str]) -> None:
    op.drop_index("ix_stage_visits_open_due", table_name="stage_visits")
    op.create_index(
        "ix_stage_visits_open_due",
        "stage_visits",
        columns,
        sqlite_where=OPEN_VISIT,
        postgresql_where=OPEN_VISIT,
    )


def downgrade() -> None:
    op.drop_index("ix_stall_flags_active_since", table_name="stall_flags")
    _left_at_index(None)
    _open_due_index(["due_at"])
    postgres = op.get_bind().dialect.name == "postgresql"
    for name in SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON stage_visits" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS ce_closed_visit()")
    op.drop_table("alliance_closed_days")
