"""the fast path: a narrow timer due-queue and per-alliance counters, kept by triggers

`timer_queue` holds one short row per open (pending or leased) timer: when to look at it next
and who holds its lease. Claiming updates only those rows, never the wide `timers` row with its
six indexes; the two partial indexes on `timers` that claims used go. Triggers on `timers` add
a timer's queue row, move it with the timer's due time and delete it when the timer is done.

`alliance_counts` (active and finished cycles, stalled open visits) and `alliance_due_days`
(open visits by the UTC day they fall due) let the dashboard's overview read O(alliances) rows
instead of counting every cycle. Triggers on `cycles`, `stage_visits` and `stall_flags` keep
them in the writing transaction, whatever writes those rows; the upgrade fills them from the
rows already there.

A visit is stalled while it has at least one active flag: a flag raises the count only when it
is the visit's first active one, and clearing lowers it only when it was the last. PostgreSQL
runs those two as BEFORE row triggers, which see the rows the same statement already changed
(an AFTER row trigger sees the whole statement's effect, so clearing two flags in one UPDATE
would lower the count twice); SQLite runs row triggers one row at a time either way.

Revision ID: 0011_fast_path
Revises: 0010_template_ownership
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

from cycle_engine.store.tables.types import UTCDateTime

revision = "0011_fast_path"
down_revision = "0010_template_ownership"
branch_labels = None
depends_on = None

LEASED = sa.text("lease_owner IS NOT NULL")
#: The alliance of the cycle a visit or flag (`row`) belongs to.
_ALLIANCE_OF = "(SELECT alliance_id FROM cycles WHERE id = {row}.cycle_id)"

SQLITE = [
    # cycles: active and finished
    """
    CREATE TRIGGER ce_counts_cycle_insert AFTER INSERT ON cycles
    WHEN NEW.alliance_id IS NOT NULL
    BEGIN
        INSERT INTO alliance_counts (alliance_id, active, finished, stalled)
        VALUES (NEW.alliance_id, NEW.status = 'active', NEW.status = 'finished', 0)
        ON CONFLICT (alliance_id) DO UPDATE SET
            active = active + excluded.active, finished = finished + excluded.finished;
    END
    """,
    """
    CREATE TRIGGER ce_counts_cycle_update AFTER UPDATE OF status, alliance_id ON cycles
    WHEN OLD.status IS NOT NEW.status OR OLD.alliance_id IS NOT NEW.alliance_id
    BEGIN
        UPDATE alliance_counts SET
            active = active - (OLD.status = 'active'),
            finished = finished - (OLD.status = 'finished')
        WHERE alliance_id = OLD.alliance_id;
        INSERT INTO alliance_counts (alliance_id, active, finished, stalled)
        SELECT NEW.alliance_id, NEW.status = 'active', NEW.status = 'finished', 0
        WHERE NEW.alliance_id IS NOT NULL
        ON CONFLICT (alliance_id) DO UPDATE SET
            active = active + excluded.active, finished = finished + excluded.finished;
    END
    """,
    """
    CREATE TRIGGER ce_counts_cycle_delete AFTER DELETE ON cycles
    WHEN OLD.alliance_id IS NOT NULL
    BEGIN
        UPDATE alliance_counts SET
            active = active - (OLD.status = 'active'),
            finished = finished - (OLD.status = 'finished')
        WHERE alliance_id = OLD.alliance_id;
    END
    """,
    # stage_visits: open visits by due day
    f"""
    CREATE TRIGGER ce_due_visit_insert AFTER INSERT ON stage_visits
    WHEN NEW.left_at IS NULL AND NEW.due_at IS NOT NULL
    BEGIN
        INSERT INTO alliance_due_days (alliance_id, day, open_visits)
        SELECT {_ALLIANCE_OF.format(row="NEW")}, substr(NEW.due_at, 1, 10), 1
        WHERE {_ALLIANCE_OF.format(row="NEW")} IS NOT NULL
        ON CONFLICT (alliance_id, day) DO UPDATE SET open_visits = open_visits + 1;
    END
    """,
    f"""
    CREATE TRIGGER ce_due_visit_update AFTER UPDATE OF due_at, left_at ON stage_visits
    WHEN OLD.due_at IS NOT NEW.due_at OR OLD.left_at IS NOT NEW.left_at
    BEGIN
        UPDATE alliance_due_days SET open_visits = open_visits - 1
        WHERE OLD.left_at IS NULL AND OLD.due_at IS NOT NULL
            AND alliance_id = {_ALLIANCE_OF.format(row="OLD")}
            AND day = substr(OLD.due_at, 1, 10);
        INSERT INTO alliance_due_days (alliance_id, day, open_visits)
        SELECT {_ALLIANCE_OF.format(row="NEW")}, substr(NEW.due_at, 1, 10), 1
        WHERE NEW.left_at IS NULL AND NEW.due_at IS NOT NULL
            AND {_ALLIANCE_OF.format(row="NEW")} IS NOT NULL
        ON CONFLICT (alliance_id, day) DO UPDATE SET open_visits = open_visits + 1;
    END
    """,
    f"""
    CREATE TRIGGER ce_due_visit_delete AFTER DELETE ON stage_visits
    WHEN OLD.left_at IS NULL AND OLD.due_at IS NOT NULL
    BEGIN
        UPDATE alliance_due_days SET open_visits = open_visits - 1
        WHERE alliance_id = {_ALLIANCE_OF.format(row="OLD")}
            AND day = substr(OLD.due_at, 1, 10);
    END
    """,
    # stall_flags: visits with at least one active flag
    f"""
    CREATE TRIGGER ce_stalled_flag_insert AFTER INSERT ON stall_flags
    WHEN NEW.cleared_at IS NULL AND NOT EXISTS (
        SELECT 1 FROM stall_flags AS other WHERE other.stage_visit_id = NEW.stage_visit_id
            AND other.cleared_at IS NULL AND other.id <> NEW.id)
    BEGIN
        UPDATE alliance_counts SET stalled = stalled + 1
        WHERE alliance_id = {_ALLIANCE_OF.format(row="NEW")};
    END
    """,
    f"""
    CREATE TRIGGER ce_stalled_flag_clear AFTER UPDATE OF cleared_at ON stall_flags
    WHEN OLD.cleared_at IS NULL AND NEW.cleared_at IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM stall_flags AS other WHERE other.stage_visit_id = NEW.stage_visit_id
            AND other.cleared_at IS NULL AND other.id <> NEW.id)
    BEGIN
        UPDATE alliance_counts SET stalled = stalled - 1
        WHERE alliance_id = {_ALLIANCE_OF.format(row="NEW")};
    END
    """,
    f"""
    CREATE TRIGGER ce_stalled_flag_delete AFTER DELETE ON stall_flags
    WHEN OLD.cleared_at IS NULL AND NOT EXISTS (
        SELECT 1 FROM stall_flags AS other WHERE other.stage_visit_id = OLD.stage_visit_id
            AND other.cleared_at IS NULL AND other.id <> OLD.id)
    BEGIN
        UPDATE alliance_counts SET stalled = stalled - 1
        WHERE alliance_id = {_ALLIANCE_OF.format(row="OLD")};
    END
    """,
]
SQLITE.extend(
    [
        """
        CREATE TRIGGER ce_queue_timer_insert AFTER INSERT ON timers
        WHEN NEW.status IN ('pending', 'claimed')
        BEGIN
            INSERT INTO timer_queue (timer_id, cycle_id, due_at, lease_owner)
            VALUES (NEW.id, NEW.cycle_id, coalesce(NEW.lease_until, NEW.due_at), NEW.lease_owner);
        END
        """,
        """
        CREATE TRIGGER ce_queue_timer_update AFTER UPDATE OF status, due_at ON timers
        WHEN OLD.status IS NOT NEW.status OR OLD.due_at IS NOT NEW.due_at
        BEGIN
            DELETE FROM timer_queue
            WHERE timer_id = NEW.id AND NEW.status NOT IN ('pending', 'claimed');
            INSERT INTO timer_queue (timer_id, cycle_id, due_at, lease_owner)
            SELECT NEW.id, NEW.cycle_id, NEW.due_at, NULL
            WHERE NEW.status IN ('pending', 'claimed')
            ON CONFLICT (timer_id) DO UPDATE SET due_at = excluded.due_at, lease_owner = NULL;
        END
        """,
    ]
)
SQLITE_TRIGGERS = [
    "ce_queue_timer_insert",
    "ce_queue_timer_update",
    "ce_counts_cycle_insert",
    "ce_counts_cycle_update",
    "ce_counts_cycle_delete",
    "ce_due_visit_insert",
    "ce_due_visit_update",
    "ce_due_visit_delete",
    "ce_stalled_flag_insert",
    "ce_stalled_flag_clear",
    "ce_stalled_flag_delete",
]

_PG_DAY = "to_char({value} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
POSTGRESQL = [
    """
    CREATE FUNCTION ce_counts_cycle() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.alliance_id IS NOT NULL THEN
            UPDATE alliance_counts SET
                active = active - (OLD.status = 'active')::int,
                finished = finished - (OLD.status = 'finished')::int
            WHERE alliance_id = OLD.alliance_id;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.alliance_id IS NOT NULL THEN
            INSERT INTO alliance_counts AS counts (alliance_id, active, finished, stalled)
            VALUES (NEW.alliance_id, (NEW.status = 'active')::int,
                    (NEW.status = 'finished')::int, 0)
            ON CONFLICT (alliance_id) DO UPDATE SET
                active = counts.active + excluded.active,
                finished = counts.finished + excluded.finished;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER ce_counts_cycle_insert AFTER INSERT ON cycles
    FOR EACH ROW EXECUTE FUNCTION ce_counts_cycle()
    """,
    """
    CREATE TRIGGER ce_counts_cycle_update AFTER UPDATE OF status, alliance_id ON cycles
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                       OR OLD.alliance_id IS DISTINCT FROM NEW.alliance_id)
    EXECUTE FUNCTION ce_counts_cycle()
    """,
    """
    CREATE TRIGGER ce_counts_cycle_delete AFTER DELETE ON cycles
    FOR EACH ROW EXECUTE FUNCTION ce_counts_cycle()
    """,
    f"""
    CREATE FUNCTION ce_due_visit() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        alliance integer;
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.left_at IS NULL AND OLD.due_at IS NOT NULL THEN
            SELECT alliance_id INTO alliance FROM cycles WHERE id = OLD.cycle_id;
            UPDATE alliance_due_days SET open_visits = open_visits - 1
            WHERE alliance_id = alliance AND day = {_PG_DAY.format(value="OLD.due_at")};
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.left_at IS NULL AND NEW.due_at IS NOT NULL THEN
            SELECT alliance_id INTO alliance FROM cycles WHERE id = NEW.cycle_id;
            IF alliance IS NOT NULL THEN
                INSERT INTO alliance_due_days AS days (alliance_id, day, open_visits)
                VALUES (alliance, {_PG_DAY.format(value="NEW.due_at")}, 1)
                ON CONFLICT (alliance_id, day) DO UPDATE SET
                    open_visits = days.open_visits + 1;
            END IF;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER ce_due_visit_insert AFTER INSERT ON stage_visits
    FOR EACH ROW WHEN (NEW.left_at IS NULL AND NEW.due_at IS NOT NULL)
    EXECUTE FUNCTION ce_due_visit()
    """,
    """
    CREATE TRIGGER ce_due_visit_update AFTER UPDATE OF due_at, left_at ON stage_visits
    FOR EACH ROW WHEN (OLD.due_at IS DISTINCT FROM NEW.due_at
                       OR OLD.left_at IS DISTINCT FROM NEW.left_at)
    EXECUTE FUNCTION ce_due_visit()
    """,
    """
    CREATE TRIGGER ce_due_visit_delete AFTER DELETE ON stage_visits
    FOR EACH ROW WHEN (OLD.left_at IS NULL AND OLD.due_at IS NOT NULL)
    EXECUTE FUNCTION ce_due_visit()
    """,
    """
    CREATE FUNCTION ce_stalled_flag() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        flag stall_flags%ROWTYPE;
        step integer;
    BEGIN
        IF TG_OP = 'INSERT' THEN
            flag := NEW;
            step := 1;
        ELSE
            flag := OLD;
            step := -1;
        END IF;
        IF NOT EXISTS (
            SELECT 1 FROM stall_flags AS other WHERE other.stage_visit_id = flag.stage_visit_id
                AND other.cleared_at IS NULL AND other.id <> flag.id
        ) THEN
            UPDATE alliance_counts SET stalled = stalled + step
            WHERE alliance_id = (SELECT alliance_id FROM cycles WHERE id = flag.cycle_id);
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER ce_stalled_flag_insert BEFORE INSERT ON stall_flags
    FOR EACH ROW WHEN (NEW.cleared_at IS NULL) EXECUTE FUNCTION ce_stalled_flag()
    """,
    """
    CREATE TRIGGER ce_stalled_flag_clear BEFORE UPDATE OF cleared_at ON stall_flags
    FOR EACH ROW WHEN (OLD.cleared_at IS NULL AND NEW.cleared_at IS NOT NULL)
    EXECUTE FUNCTION ce_stalled_flag()
    """,
    """
    CREATE TRIGGER ce_stalled_flag_delete BEFORE DELETE ON stall_flags
    FOR EACH ROW WHEN (OLD.cleared_at IS NULL) EXECUTE FUNCTION ce_stalled_flag()
    """,
]
POSTGRESQL.extend(
    [
        """
        CREATE FUNCTION ce_queue_timer() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.status NOT IN ('pending', 'claimed') THEN
                DELETE FROM timer_queue WHERE timer_id = NEW.id;
            ELSIF TG_OP = 'INSERT' THEN
                INSERT INTO timer_queue (timer_id, cycle_id, due_at, lease_owner)
                VALUES (NEW.id, NEW.cycle_id, coalesce(NEW.lease_until, NEW.due_at),
                        NEW.lease_owner);
            ELSE
                INSERT INTO timer_queue AS queue (timer_id, cycle_id, due_at, lease_owner)
                VALUES (NEW.id, NEW.cycle_id, NEW.due_at, NULL)
                ON CONFLICT (timer_id) DO UPDATE SET
                    due_at = excluded.due_at, lease_owner = NULL;
            END IF;
            RETURN NULL;
        END $$
        """,
        """
        CREATE TRIGGER ce_queue_timer_insert AFTER INSERT ON timers
        FOR EACH ROW WHEN (NEW.status IN ('pending', 'claimed'))
        EXECUTE FUNCTION ce_queue_timer()
        """,
        """
        CREATE TRIGGER ce_queue_timer_update AFTER UPDATE OF status, due_at ON timers
        FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                           OR OLD.due_at IS DISTINCT FROM NEW.due_at)
        EXECUTE FUNCTION ce_queue_timer()
        """,
    ]
)
POSTGRESQL_FUNCTIONS = ["ce_counts_cycle", "ce_due_visit", "ce_stalled_flag", "ce_queue_timer"]

#: The counters as the rows already there say (the upgrade's starting point).
FILL_COUNTS = """
    INSERT INTO alliance_counts (alliance_id, active, finished, stalled)
    SELECT alliances.id,
        (SELECT count(*) FROM cycles WHERE cycles.alliance_id = alliances.id
            AND cycles.status = 'active'),
        (SELECT count(*) FROM cycles WHERE cycles.alliance_id = alliances.id
            AND cycles.status = 'finished'),
        (SELECT count(DISTINCT stall_flags.stage_visit_id) FROM stall_flags
            JOIN cycles ON cycles.id = stall_flags.cycle_id
            WHERE cycles.alliance_id = alliances.id AND stall_flags.cleared_at IS NULL)
    FROM alliances WHERE EXISTS (SELECT 1 FROM cycles WHERE cycles.alliance_id = alliances.id)
"""
FILL_QUEUE = """
    INSERT INTO timer_queue (timer_id, cycle_id, due_at, lease_owner)
    SELECT id, cycle_id,
        CASE WHEN status = 'claimed' THEN coalesce(lease_until, due_at) ELSE due_at END,
        CASE WHEN status = 'claimed' THEN lease_owner END
    FROM timers WHERE status IN ('pending', 'claimed')
"""
FILL_DUE_DAYS = """
    INSERT INTO alliance_due_days (alliance_id, day, open_visits)
    SELECT cycles.alliance_id, {day}, count(*)
    FROM stage_visits JOIN cycles ON cycles.id = stage_visits.cycle_id
    WHERE cycles.alliance_id IS NOT NULL AND stage_visits.left_at IS NULL
        AND stage_visits.due_at IS NOT NULL
    GROUP BY cycles.alliance_id, {day}
"""


def upgrade() -> None:
    op.create_table(
        "alliance_counts",
        sa.Column("alliance_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Integer(), nullable=False),
        sa.Column("finished", sa.Integer(), nullable=False),
        sa.Column("stalled", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["alliance_id"], ["alliances.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("alliance_id"),
    )
    op.create_table(
        "alliance_due_days",
        sa.Column("alliance_id", sa.Integer(), nullable=False),
        sa.Column("day", AutoString(length=10), nullable=False),
        sa.Column("open_visits", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["alliance_id"], ["alliances.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("alliance_id", "day"),
    )
    op.create_table(
        "timer_queue",
        sa.Column("timer_id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=True),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", AutoString(length=200), nullable=True),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"]),
        sa.ForeignKeyConstraint(["timer_id"], ["timers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("timer_id"),
    )
    op.create_index("ix_timer_queue_due", "timer_queue", ["due_at", "timer_id"])
    op.create_index(
        "ix_timer_queue_leased",
        "timer_queue",
        ["due_at"],
        sqlite_where=LEASED,
        postgresql_where=LEASED,
    )
    op.drop_index("ix_timers_claimed_lease", table_name="timers")
    op.drop_index("ix_timers_pending_due", table_name="timers")
    postgres = op.get_bind().dialect.name == "postgresql"
    op.execute(FILL_QUEUE)
    op.execute(FILL_COUNTS)
    day = "to_char(stage_visits.due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')" if postgres else None
    op.execute(FILL_DUE_DAYS.format(day=day or "substr(stage_visits.due_at, 1, 10)"))
    for statement in POSTGRESQL if postgres else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    tables = {
        "ce_counts": "cycles",
        "ce_due": "stage_visits",
        "ce_stalled": "stall_flags",
        "ce_queue": "timers",
    }
    for name in SQLITE_TRIGGERS:
        if postgres:
            table = next(t for prefix, t in tables.items() if name.startswith(prefix))
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    if postgres:
        for function in POSTGRESQL_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.drop_table("alliance_due_days")
    op.drop_table("alliance_counts")
    op.drop_index("ix_timer_queue_leased", table_name="timer_queue")
    op.drop_index("ix_timer_queue_due", table_name="timer_queue")
    op.drop_table("timer_queue")
    pending, claimed = sa.text("status = 'pending'"), sa.text("status = 'claimed'")
    op.create_index(
        "ix_timers_pending_due",
        "timers",
        ["due_at", "id"],
        sqlite_where=pending,
        postgresql_where=pending,
    )
    op.create_index(
        "ix_timers_claimed_lease",
        "timers",
        ["lease_until"],
        sqlite_where=claimed,
        postgresql_where=claimed,
    )
