"""The world every benchmark runs in: the path users take, not a bare template.

Cycles of the built-in `learning-cycle` in one alliance whose organisations take part in every
work stage at every level (the first organisation leads, the second is active, the rest are
informed), each organisation with a focal point; the first focal point is the alliance's
coordinator. That is what the demo builds and what every user runs: the outbox, the turnover
check and the domain guards all have real records to read.

- `build` makes it through the engine's public services (every row is what a user's commands
  write), for benchmarks that time commands and requests on a few hundred cycles;
- `bulk` adds cycles of the same shape by set-based SQL (`INSERT ... SELECT` over a generated
  series, not through the engine) for scale runs of 1,000,000 cycles: each cycle in one stage
  with its organisations at the three levels, a closed earlier visit (some closed late), some
  open visits overdue and some stalled. On SQLite the counters' triggers run for every row, as
  they would for the engine's writes; on PostgreSQL the load runs without row triggers (they
  made it tens of minutes) and the alliance's counters are recounted from the rows after it
  (the benchmark then checks them against counting the cycles).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text

from cycle_engine import Actor, CycleEngine
from cycle_engine.testing import WorldBuilder

COORDINATOR = Actor(name="Ana Pérez", role="coordinator")
TEMPLATE = "learning-cycle"
ALLIANCE_NAME = "Alianza de aprendizaje"
#: The level of the n-th organisation in every stage.
LEVELS = ("lead", "active")


def level_of(n: int) -> str:
    return LEVELS[n] if n < len(LEVELS) else "informed"


@dataclass(frozen=True, kw_only=True)
class World:
    """Ids of what `build` made."""

    alliance_id: int
    organisations: list[int]
    people: list[int]  # one focal point per organisation, in the same order
    cycles: list[int]

    @property
    def coordinator(self) -> int:
        """The person who coordinates the alliance (the first organisation's focal point)."""
        return self.people[0]


def build(
    engine: CycleEngine, cycles: int, organisations: int = 3, *, emails: str = "example.org"
) -> World:
    """An alliance with `organisations` partners at every level of every work stage of
    `cycles` learning cycles, through the engine (publishes the built-in templates)."""
    engine.publish_builtin_templates()
    world = WorldBuilder(engine, actor=COORDINATOR)
    world.alliance("alliance", ALLIANCE_NAME, "Rural enterprise", timezone="UTC")
    for n in range(organisations):
        world.organisation(f"o{n}", f"Partner {n}", "ngo", "Honduras", member_of=["alliance"])
        roles = {"alliance": "coordinator"} if n == 0 else {}
        world.person(f"p{n}", f"Focal {n}", f"focal{n}@{emails}", f"o{n}", roles=roles)
    spec = engine.templates.spec(TEMPLATE)
    ids = []
    for c in range(cycles):
        cycle = world.cycle(f"c{c}", TEMPLATE, f"Cycle {c}", "alliance", questions=["Q?"])
        for stage in spec.work_stages:
            for n in range(organisations):
                world.role(f"c{c}", stage.key, f"o{n}", level_of(n), focal_point=f"p{n}")
        ids.append(cycle)
    return World(
        alliance_id=world["alliance"],
        organisations=[world[f"o{n}"] for n in range(organisations)],
        people=[world[f"p{n}"] for n in range(organisations)],
        cycles=ids,
    )


#: `bulk`'s numbered rows: a recursive CTE on SQLite, generate_series on PostgreSQL.
_SERIES = {
    True: "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :count) ",
    False: "",
}
_FROM_SERIES = {True: "FROM seq", False: "FROM generate_series(1, :count) AS seq(n)"}


def _shift(sqlite: bool, column: str, days: str, minutes: str = "0") -> str:
    """`column` plus `days` days and `minutes` minutes (SQL integer expressions)."""
    if sqlite:
        return (
            f"strftime('%Y-%m-%d %H:%M:%f000', {column}, ({days}) || ' days', "
            f"({minutes}) || ' minutes')"
        )
    return (
        f"CAST({column} AS timestamptz) + ({days}) * interval '1 day' "
        f"+ ({minutes}) * interval '1 minute'"
    )


_DAY = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
#: The alliance's counters from its rows (as the migrations fill them), after a PostgreSQL load
#: that ran without the triggers that keep them (row triggers made it tens of minutes).
_RECOUNT = [
    "DELETE FROM alliance_counts WHERE alliance_id = :alliance",
    "DELETE FROM alliance_due_days WHERE alliance_id = :alliance",
    "DELETE FROM alliance_closed_days WHERE alliance_id = :alliance",
    """
    INSERT INTO alliance_counts (alliance_id, active, finished, stalled)
    SELECT :alliance,
        (SELECT count(*) FROM cycles WHERE alliance_id = :alliance AND status = 'active'),
        (SELECT count(*) FROM cycles WHERE alliance_id = :alliance AND status = 'finished'),
        (SELECT count(DISTINCT f.stage_visit_id) FROM stall_flags f
            JOIN cycles c ON c.id = f.cycle_id
            WHERE c.alliance_id = :alliance AND f.cleared_at IS NULL)""",
    f"""
    INSERT INTO alliance_due_days (alliance_id, day, open_visits)
    SELECT :alliance, {_DAY.format("v.due_at")}, count(*)
    FROM stage_visits v JOIN cycles c ON c.id = v.cycle_id
    WHERE c.alliance_id = :alliance AND v.left_at IS NULL AND v.due_at IS NOT NULL
    GROUP BY 2""",
    f"""
    INSERT INTO alliance_closed_days (alliance_id, day, closed, on_time)
    SELECT :alliance, {_DAY.format("v.left_at")}, count(*),
        sum(CASE WHEN v.left_at <= v.due_at THEN 1 ELSE 0 END)
    FROM stage_visits v JOIN cycles c ON c.id = v.cycle_id
    WHERE c.alliance_id = :alliance AND v.left_at IS NOT NULL AND v.due_at IS NOT NULL
    GROUP BY 2""",
]


def bulk(engine: CycleEngine, world: World, count: int, now: datetime) -> None:
    """`count` learning cycles of `world`'s alliance by set-based SQL (once per world), in
    `prototype`:

    - an earlier `good_practice_review` visit closed 10 to 79 days ago, one in four after its
      deadline (the on-time figure has 90 days of closed visits to read);
    - the open `prototype` visit due 5 days (and up to a day) ago for one cycle in three
      (overdue), in 1 to 40 days for the others; one cycle in ten with a `no_activity` stall flag;
    - the world's organisations at their levels on the open stage, with their focal points.
    """
    sqlite = engine.db.is_sqlite
    stamp = now.strftime("%Y-%m-%d %H:%M:%S") if sqlite else now.isoformat()
    stamp_sql = ":now" if sqlite else "CAST(:now AS timestamptz)"
    series, source = _SERIES[sqlite], _FROM_SERIES[sqlite]
    due_days = "CASE WHEN id % 3 = 0 THEN -5 ELSE 1 + id % 40 END"
    statements = [
        f"""{series}
        INSERT INTO cycles (template_id, template_key, title, state, status, version,
            started_at, updated_at, created_by, alliance_id)
        SELECT (SELECT max(id) FROM templates WHERE key = '{TEMPLATE}'), '{TEMPLATE}',
            'Bulk cycle ' || seq.n, 'prototype', 'active', 5, {stamp_sql}, {stamp_sql}, 'bulk',
            :alliance {source}""",
        f"""
        INSERT INTO stage_visits (cycle_id, stage, visit, entered_at, due_at, left_at,
            last_activity_at)
        SELECT id, 'good_practice_review', 1, {_shift(sqlite, stamp_sql, "-100")},
            {_shift(sqlite, stamp_sql, "-10 - id % 70 + CASE WHEN id % 4 = 0 THEN -3 ELSE 3 END")},
            {_shift(sqlite, stamp_sql, "-10 - id % 70")},
            {_shift(sqlite, stamp_sql, "-10 - id % 70")}
        FROM cycles WHERE created_by = 'bulk' AND alliance_id = :alliance""",
        f"""
        INSERT INTO stage_visits (cycle_id, stage, visit, entered_at, due_at, last_activity_at)
        SELECT id, 'prototype', 1, {_shift(sqlite, stamp_sql, "-10 - id % 70")},
            {_shift(sqlite, stamp_sql, due_days, "-(id % 1440)")},
            {_shift(sqlite, stamp_sql, "-1 - id % 30")}
        FROM cycles WHERE created_by = 'bulk' AND alliance_id = :alliance""",
        """
        UPDATE cycles SET current_stage_id = stage_visits.id FROM stage_visits
        WHERE stage_visits.cycle_id = cycles.id AND stage_visits.left_at IS NULL
            AND cycles.created_by = 'bulk' AND cycles.alliance_id = :alliance""",
        f"""
        INSERT INTO stall_flags (cycle_id, stage_visit_id, stage, reason, detail, since)
        SELECT id, current_stage_id, 'prototype', 'no_activity', 'no activity for 20 days',
            {_shift(sqlite, stamp_sql, "-1 - id % 9")}
        FROM cycles WHERE created_by = 'bulk' AND alliance_id = :alliance AND id % 10 = 0
""",
    ]
    false = "0" if sqlite else "false"
    parts = [
        f"""
        INSERT INTO participation (cycle_id, stage, organisation_id, level, focal_point_id,
            needs_focal_point, updated_at)
        SELECT id, 'prototype', {organisation}, '{level_of(n)}', {person}, {false}, {stamp_sql}
        FROM cycles WHERE created_by = 'bulk' AND alliance_id = :alliance"""
        for n, (organisation, person) in enumerate(
            zip(world.organisations, world.people, strict=True)
        )
    ]
    params = {"count": count, "now": stamp, "alliance": world.alliance_id}
    with engine.db.transaction() as session:
        if not sqlite:  # PostgreSQL: no row triggers for the load; the counters recounted after
            session.execute(text("SET LOCAL session_replication_role = replica"))
        for number, statement in enumerate([*statements, *parts]):
            if number == 3 and not sqlite:  # statistics of the new rows before the join below
                session.execute(text("ANALYZE cycles"))  # (without: a nested loop, quadratic)
                session.execute(text("ANALYZE stage_visits"))
            session.execute(text(statement), params)
        if not sqlite:
            session.execute(text("SET LOCAL session_replication_role = origin"))
            for statement in _RECOUNT:
                session.execute(text(statement), params)
        # fresh planner statistics, as autovacuum would give (SQLite keeps them only when
        # ANALYZE runs in a transaction that commits; without them it reads every cycle)
        session.execute(text("ANALYZE"))
