"""A database as the release before the merged history left it, filled like today's demo.

That release migrated to five heads branching from 0001_core and recorded them in Alembic's
default `alembic_version`. `build_old_release` runs those same revisions and records them the
same way. `fill_like_the_demo` seeds the demo alliance (`cycle_engine.demo.seed`), walks a cycle
through today's engine and adds the rows the HTTP layer writes in a scratch database at the
current head, then copies every row into the old database, keeping the columns the old schema
has: so the fill keeps working whatever later revisions add. Rows are compared through the
columns the database itself has (reflection), not through today's models.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.schema import DropTable
from sqlmodel import SQLModel, col

import cycle_engine.store.tables.all  # noqa: F401  (every table on the metadata)
from cycle_engine import Actor, CycleEngine
from cycle_engine.demo.seed import seed_alliance
from cycle_engine.store.db import Database
from cycle_engine.store.schema import VERSION_TABLE, current_revisions, upgrade
from cycle_engine.store.tables.access import (
    ApiIdempotencyRecord,
    ApiKeyRecord,
    WebhookSubscriptionRecord,
)
from cycle_engine.store.tables.dashboard import DashboardSessionRecord, SignInUseRecord
from cycle_engine.store.tables.outbox import OutboxRecipientRecord, OutboxRecord
from cycle_engine.testing import ManualClock

#: The heads of the release before the merge, one per area.
OLD_HEADS = ("0002_alliance", "0003_timers", "0004_outbox", "0005_access", "0006_dashboard")
COORDINATOR = Actor(name="Lucía Ramírez", role="coordinator")
START = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)


def build_old_release(url: str) -> None:
    """Migrate the empty database at `url` to the old heads, recorded in `alembic_version`."""
    for head in OLD_HEADS:
        upgrade(url, head)
    database = Database(url)
    try:
        revisions = sorted(current_revisions(database))
        assert revisions == sorted(OLD_HEADS), revisions
        legacy = Table(
            "alembic_version",
            MetaData(),
            Column("version_num", String(32), nullable=False),
            PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
        )
        with database.engine.begin() as connection:
            connection.execute(DropTable(Table(VERSION_TABLE, MetaData())))
            legacy.create(connection)
            connection.execute(insert(legacy), [{"version_num": head} for head in revisions])
    finally:
        database.dispose()


def fill_like_the_demo(url: str, data_dir: Path) -> int:
    """Fill the old-release database at `url` like the demo (every table gets rows); returns
    the walked cycle's id (it waits in multi-context testing)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    scratch = f"sqlite:///{data_dir / 'scratch-at-head.db'}"
    upgrade(scratch)
    cycle_id = _fill_at_head(scratch, data_dir)
    _copy_rows(scratch, url)
    return cycle_id


def _fill_at_head(url: str, data_dir: Path) -> int:
    clock = ManualClock(START)
    with CycleEngine(url, clock=clock, data_dir=data_dir) as engine:
        engine.publish_builtin_templates()
        seed = seed_alliance(engine, clock)
        cycle_id = _walk(engine, clock, seed.alliance_id, seed.partners, seed.contact, seed.deputy)
        clock.advance(timedelta(days=40))
        engine.run_due_timers()  # reminders, overdue notices and stall flags: timers and outbox
        focal_point = seed.contact[seed.partners[3]]
        engine.outbox.set_notification_preferences(focal_point, mode="digest", digest_hour=7)
        visit_id = engine.get_cycle(cycle_id).current_stage_id
        assert visit_id is not None
        engine.outbox.record_email_action(
            action="snooze",
            person_id=focal_point,
            cycle_id=cycle_id,
            stage_visit_id=visit_id,
            use_key=f"snooze:{cycle_id}:{visit_id}:{focal_point}",
            data={"days": 3},
        )
        _add_http_rows(engine, clock, seed.alliance_id, seed.partners[0], focal_point)
    return cycle_id


def _copy_rows(source_url: str, target_url: str) -> None:
    """Every row of `source_url`'s engine tables into the same tables of `target_url`, limited
    to the columns the target has; PostgreSQL's id sequences are moved past the copied ids."""
    source, target = Database(source_url), Database(target_url)
    try:
        with source.engine.connect() as reading, target.engine.begin() as writing:
            old = MetaData()
            old.reflect(writing)
            for table in SQLModel.metadata.sorted_tables:
                if table.name not in old.tables:
                    continue  # a table a later revision added
                columns = [c.name for c in old.tables[table.name].columns]
                rows = [
                    {name: row[name] for name in columns if name in row}
                    for row in reading.execute(select(table)).mappings()
                ]
                if rows:
                    writing.execute(insert(old.tables[table.name]), rows)
                if target.is_postgresql and "id" in columns and rows:
                    writing.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"(SELECT max(id) FROM {table.name}))"
                        )
                    )
    finally:
        source.dispose()
        target.dispose()


def _walk(
    engine: CycleEngine,
    clock: ManualClock,
    alliance_id: int,
    partners: list[int],
    contact: dict[int, int],
    deputy: dict[int, int],
) -> int:
    """The demo's cycle up to multi-context testing, with roles, products, contexts, learning."""
    cycle = engine.start_cycle(
        "learning-cycle",
        "Linking farmer groups to buyers in the Central American highlands",
        alliance_id=alliance_id,
        topic="Rural enterprise development",
        actor=COORDINATOR,
        questions=["Which forms of organisation help smallholder groups sell to formal buyers?"],
    )
    assert cycle.id is not None
    cid = cycle.id
    engine.fire(cid, "questions_agreed", actor=COORDINATOR, idempotency_key="demo:questions")
    stages = ["work_plan", "good_practice_review", "prototype", "multi_context_testing"]
    stages.append("documentation")
    for offset, stage in enumerate(stages):
        lead = partners[offset]
        engine.work.assign(
            cid,
            stage,
            lead,
            "lead",
            focal_point_id=contact[lead],
            deputy_id=deputy[lead],
            actor=COORDINATOR,
        )
        engine.work.assign(cid, stage, partners[offset + 7], "active", actor=COORDINATOR)
    engine.fire(cid, "roles_assigned", actor=COORDINATOR)
    engine.fire(cid, "plan_approved", actor=COORDINATOR)
    clock.advance(timedelta(days=20))
    engine.work.add_product(
        cid,
        "good_practice_review",
        "Good practice in linking farmer groups to buyers",
        partners[0],
        file_name="good-practice-review.md",
        content=b"# Good practice review\n\nTwelve experiences from four countries.\n",
        actor=COORDINATOR,
    )
    engine.fire(cid, "review_completed", actor=COORDINATOR)
    engine.work.add_product(
        cid,
        "prototype",
        "Buyer-readiness self-assessment tool",
        partners[1],
        form="tool",
        link="https://docs.example.org/buyer-readiness-tool",
        actor=COORDINATOR,
    )
    engine.fire(cid, "prototypes_ready", actor=COORDINATOR)
    context = engine.work.add_context(
        cid,
        "Quiché highlands",
        "Guatemala",
        "Santa Cruz del Quiché",
        partners[3],
        actor=COORDINATOR,
    )
    assert context.id is not None
    engine.work.report_context(
        cid,
        context.id,
        "Groups scored themselves; three found buyers.",
        "strong",
        actor=COORDINATOR,
    )
    engine.work.add_learning(
        cid,
        "organisational_learning",
        "Joint reviews across countries",
        "Partners now review field results together every quarter.",
        [partners[0], partners[3]],
        actor=COORDINATOR,
    )
    return cid


def _add_http_rows(
    engine: CycleEngine, clock: ManualClock, alliance_id: int, organisation_id: int, person_id: int
) -> None:
    """Rows the HTTP layer and the mail sender write: keys, subscriptions, sessions, results."""
    now = clock.now()
    with engine.db.transaction() as session:
        key = ApiKeyRecord(
            prefix="0a1b2c3d",
            hash="0" * 64,
            name="demo coordinator",
            role="coordinator",
            alliance_id=alliance_id,
            created_at=now,
        )
        partner_key = ApiKeyRecord(
            prefix="4e5f6a7b",
            hash="1" * 64,
            name="demo partner",
            role="partner",
            organisation_id=organisation_id,
            created_at=now,
        )
        session.add_all([key, partner_key])
        session.flush()
        assert key.id is not None
        message = session.scalars(select(OutboxRecord).order_by(col(OutboxRecord.id))).first()
        assert message is not None and message.id is not None, "the timers enqueued no email"
        session.add_all(
            [
                WebhookSubscriptionRecord(
                    alliance_id=alliance_id,
                    url="https://hooks.example.org/cycles",
                    secret="s" * 32,
                    events=["stage.entered"],
                    created_at=now,
                ),
                ApiIdempotencyRecord(
                    api_key_id=key.id, key="demo-1", fingerprint="2" * 64, created_at=now
                ),
                SignInUseRecord(
                    token_id="a" * 32, person_id=person_id, expires_at=now, used_at=now
                ),
                DashboardSessionRecord(
                    key_hash="b" * 64,
                    person_id=person_id,
                    created_at=now,
                    expires_at=now + timedelta(days=7),
                    last_seen_at=now,
                ),
                OutboxRecipientRecord(
                    outbox_id=message.id,
                    address=message.recipient,
                    accepted=True,
                    code=250,
                    reply="2.0.0 Ok",
                    at=now,
                ),
            ]
        )


def table_rows(
    url: str, columns: dict[str, list[str]] | None = None
) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every engine table the database has, in primary-key order, read through
    its own columns (or only `columns`, to compare a database before and after an upgrade)."""
    database = Database(url)
    try:
        with database.engine.connect() as connection:
            present = MetaData()
            present.reflect(connection)
            result = {}
            for table in SQLModel.metadata.sorted_tables:
                if table.name not in present.tables or (columns and table.name not in columns):
                    continue
                reflected = present.tables[table.name]
                names = columns[table.name] if columns else [c.name for c in reflected.columns]
                query = select(*(reflected.c[n] for n in names)).order_by(
                    *(reflected.c[c.name] for c in table.primary_key)
                )
                result[table.name] = [tuple(row) for row in connection.execute(query)]
            return result
    finally:
        database.dispose()


def column_names(url: str) -> dict[str, list[str]]:
    """The columns each engine table has in the database at `url`."""
    database = Database(url)
    try:
        with database.engine.connect() as connection:
            present = MetaData()
            present.reflect(connection)
            return {
                t.name: [c.name for c in present.tables[t.name].columns]
                for t in SQLModel.metadata.sorted_tables
                if t.name in present.tables
            }
    finally:
        database.dispose()


def row_counts(url: str) -> dict[str, int]:
    """How many rows each engine table the database has holds (tables a later revision adds
    are left out while the database is behind)."""
    database = Database(url)
    try:
        with database.engine.connect() as connection:
            present = set(inspect(connection).get_table_names())
            return {
                table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                for table in SQLModel.metadata.sorted_tables
                if table.name in present
            }
    finally:
        database.dispose()
