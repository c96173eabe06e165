"""Exporting: the rows of one alliance (or one cycle) and everything they refer to, as a document.

One read transaction, so the document is the database as of one instant. Rows are read table by
table with `IN (...)` over the ids gathered so far, parents first: the alliance and its seats,
the cycles and their rows, then every organisation and person those rows name (a focal point
from an organisation that left the alliance still travels with the participation that names
them), then the templates the cycles run on.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from cycle_engine.errors import AllianceNotFound, CycleNotFound
from cycle_engine.store.schema import current_revisions
from cycle_engine.transfer.document import FORMAT, FORMAT_VERSION, TABLES, encode, table

if TYPE_CHECKING:
    from cycle_engine.engine import CycleEngine

#: Rows that belong to a cycle, by the column naming it.
_CYCLE_ROWS = (
    "stage_visits",
    "participation",
    "work_plan",
    "products",
    "test_contexts",
    "context_results",
    "learning_questions",
    "learning_entries",
    "timers",
    "stall_flags",
    "events",
)
#: Columns of cycle rows that name an organisation or a person.
_ORGANISATION_COLUMNS: dict[str, tuple[str, ...]] = {
    "participation": ("organisation_id",),
    "products": ("author_organisation_id",),
    "test_contexts": ("organisation_id",),
    "learning_organisations": ("organisation_id",),
}
_PERSON_COLUMNS: dict[str, tuple[str, ...]] = {
    "participation": ("focal_point_id", "deputy_id"),
    "timers": ("person_id",),
    "alliance_roles": ("person_id",),
}


def _rows(
    connection: Connection, name: str, column: str, ids: Collection[int]
) -> list[dict[str, Any]]:
    if not ids:
        return []
    source = table(name)
    query = select(source).where(source.c[column].in_(sorted(ids))).order_by(*source.primary_key)
    return [dict(row._mapping) for row in connection.execute(query)]


def _ids(rows: Iterable[dict[str, Any]], *columns: str) -> set[int]:
    return {row[c] for row in rows for c in columns if row.get(c) is not None}


class _Gathering:
    """The rows gathered so far, by table."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}

    def add(self, name: str, column: str, ids: Collection[int]) -> list[dict[str, Any]]:
        found = _rows(self.connection, name, column, ids)
        self.rows[name].extend(found)
        return found

    def alliance(self, alliance_id: int) -> None:
        if not self.add("alliances", "id", [alliance_id]):
            raise AllianceNotFound(alliance_id)
        self.add("alliance_members", "alliance_id", [alliance_id])
        self.add("alliance_roles", "alliance_id", [alliance_id])

    def cycles(self, cycle_ids: Collection[int]) -> None:
        self.add("cycles", "id", cycle_ids)
        for name in _CYCLE_ROWS:
            self.add(name, "cycle_id", cycle_ids)
        self.add("learning_organisations", "learning_id", _ids(self.rows["learning_entries"], "id"))
        self.add("templates", "id", _ids(self.rows["cycles"], "template_id"))

    def partners(self) -> None:
        """Every organisation and person the gathered rows name, and their preferences."""
        rows = self.rows
        organisations = _ids(rows["alliance_members"], "organisation_id", "works_with_id")
        for name, columns in _ORGANISATION_COLUMNS.items():
            organisations |= _ids(rows[name], *columns)
        people = {
            p["id"] for p in _rows(self.connection, "people", "organisation_id", organisations)
        }
        for name, columns in _PERSON_COLUMNS.items():
            people |= _ids(rows[name], *columns)
        found = self.add("people", "id", people)
        organisations |= _ids(found, "organisation_id")
        self.add("organisations", "id", organisations)
        self.add("notification_preferences", "person_id", people)


def _document(
    engine: CycleEngine, scope: dict[str, Any], rows: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "schema_revision": ",".join(sorted(current_revisions(engine.db))),
        "scope": scope,
        "tables": {name: [encode(row) for row in rows[name]] for name in TABLES},
    }


def export_alliance(engine: CycleEngine, alliance_id: int) -> dict[str, Any]:
    """The alliance `alliance_id` with its partners and every cycle, as one JSON-ready document.

    Raises AllianceNotFound.
    """
    with engine.db.read_session() as session:
        gathering = _Gathering(session.connection())
        gathering.alliance(alliance_id)
        cycles = table("cycles")
        ids = session.connection().execute(
            select(cycles.c.id).where(cycles.c.alliance_id == alliance_id)
        )
        gathering.cycles([row[0] for row in ids])
        gathering.partners()
        name = gathering.rows["alliances"][0]["name"]
    return _document(engine, {"kind": "alliance", "id": alliance_id, "name": name}, gathering.rows)


def export_cycle(engine: CycleEngine, cycle_id: int) -> dict[str, Any]:
    """One cycle with its template, its alliance (row, seats, roles) and everyone it names.

    Raises CycleNotFound.
    """
    with engine.db.read_session() as session:
        gathering = _Gathering(session.connection())
        gathering.cycles([cycle_id])
        if not gathering.rows["cycles"]:
            raise CycleNotFound(cycle_id)
        cycle = gathering.rows["cycles"][0]
        if cycle["alliance_id"] is not None:
            gathering.alliance(cycle["alliance_id"])
        gathering.partners()
    return _document(
        engine, {"kind": "cycle", "id": cycle_id, "title": cycle["title"]}, gathering.rows
    )
