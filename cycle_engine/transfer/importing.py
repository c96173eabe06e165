"""Importing a document: every row inserted anew, its id and every reference to another row
remapped, in one transaction.

Checks come first and change nothing: the document's format, that its alliance, organisations
(by name) and people (by email) are new here. Templates are matched by content: a template
version with the same key and content hash is used as it is; otherwise the version is added
(keeping its number when free, else the next one). Timers come in pending (a claim's lease
belonged to the old installation's workers) with their unique keys rebuilt from the new ids, so
the new installation's workers fire what was still due and nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select, update

from cycle_engine.errors import InvalidInput
from cycle_engine.scheduler.store import dedupe_key
from cycle_engine.store.tables.timers import CLAIMED, PENDING
from cycle_engine.transfer.document import (
    FORMAT,
    FORMAT_VERSION,
    TABLES,
    decode,
    foreign_keys,
    remap_data,
    table,
)

if TYPE_CHECKING:
    from cycle_engine.engine import CycleEngine

#: Unique natural keys an import refuses to duplicate: table -> column.
_UNIQUE = {"alliances": "name", "organisations": "name", "people": "email"}
_JSON_WITH_IDS = {"events": "data", "timers": "payload"}


@dataclass(frozen=True, kw_only=True)
class ImportReport:
    """What an import inserted: rows per table, and old id -> new id per table."""

    rows: dict[str, int]
    ids: dict[str, dict[int, int]] = field(repr=False)

    def new_id(self, table_name: str, old_id: int) -> int:
        """The id the row `old_id` of `table_name` got here; raises KeyError."""
        return self.ids[table_name][old_id]


def _check_document(document: Any) -> dict[str, list[dict[str, Any]]]:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InvalidInput("document", f"is not a Cycle Engine export (format {FORMAT!r})")
    if document.get("format_version") != FORMAT_VERSION:
        raise InvalidInput(
            "document",
            f"is format version {document.get('format_version')!r}; this engine reads "
            f"{FORMAT_VERSION}",
        )
    tables = document.get("tables")
    if not isinstance(tables, dict) or not set(tables) <= set(TABLES):
        raise InvalidInput("document", f"tables must be a subset of {', '.join(TABLES)}")
    return {name: list(tables.get(name) or []) for name in TABLES}


def _refuse_existing(connection: Connection, tables: dict[str, list[dict[str, Any]]]) -> None:
    clashes: list[str] = []
    for name, column in _UNIQUE.items():
        values = [row[column] for row in tables[name]]
        if not values:
            continue
        source = table(name)
        found = connection.execute(select(source.c[column]).where(source.c[column].in_(values)))
        clashes += [f"{name[:-1] if name != 'people' else 'person'} {v!r}" for (v,) in found]
    if clashes:
        raise InvalidInput(
            "document",
            f"these already exist here: {', '.join(sorted(clashes))}; import into an empty "
            "database (or one without these partners)",
        )


def _template_id(connection: Connection, row: dict[str, Any]) -> int:
    """The id of the same template version here, added (keeping its number if free) if new."""
    templates = table("templates")
    same = connection.execute(
        select(templates.c.id).where(
            templates.c.key == row["key"], templates.c.content_hash == row["content_hash"]
        )
    ).scalar()
    if same is not None:
        return int(same)
    versions = set(
        connection.execute(select(templates.c.version).where(templates.c.key == row["key"]))
        .scalars()
        .all()
    )
    values = {k: v for k, v in row.items() if k != "id"}
    if values["version"] in versions:
        values["version"] = max(versions) + 1
    return int(
        connection.execute(insert(templates).values(values).returning(templates.c.id)).scalar_one()
    )


class _Inserter:
    """Inserts document rows table by table, keeping old id -> new id."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.ids: dict[str, dict[int, int]] = defaultdict(dict)
        self.done: set[str] = set()
        self.later: list[tuple[str, int, str, str, int]] = []  # table, new id, column, target, old

    def insert(self, name: str, rows: list[dict[str, Any]]) -> None:
        target = table(name)
        references = foreign_keys(name)
        for raw in rows:
            values = decode(name, raw)
            old_id = values.pop("id", None) if "id" in target.c else None
            deferred: list[tuple[str, str, int]] = []
            for column, parent in references.items():
                old = values.get(column)
                if old is None:
                    continue
                if parent not in self.done and parent != name:
                    values[column] = None
                    deferred.append((column, parent, old))
                    continue
                values[column] = self._new(name, column, parent, old)
            self._adjust(name, values)
            if old_id is None:
                self.connection.execute(insert(target).values(values))
                continue
            new_id = int(
                self.connection.execute(
                    insert(target).values(values).returning(target.c.id)
                ).scalar_one()
            )
            self.ids[name][old_id] = new_id
            self.later += [(name, new_id, column, parent, old) for column, parent, old in deferred]
        self.done.add(name)

    def _new(self, name: str, column: str, parent: str, old: int) -> int:
        try:
            return self.ids[parent][old]
        except KeyError:
            raise InvalidInput(
                "document", f"{name}.{column} names {parent} {old}, which the document lacks"
            ) from None

    def _adjust(self, name: str, values: dict[str, Any]) -> None:
        column = _JSON_WITH_IDS.get(name)
        if column is not None and values.get(column) is not None:
            values[column] = remap_data(values[column], self.ids)
        if name == "timers":
            if values.get("status") == CLAIMED:
                values["status"] = PENDING
            values["lease_owner"] = values["lease_until"] = None
            values["dedupe_key"] = dedupe_key(
                values.get("cycle_id"),
                values.get("stage_visit_id"),
                values.get("stage"),
                values["rule"],
                values["occurrence"],
                values.get("person_id"),
            )

    def finish(self) -> None:
        """Set the references to rows inserted after the row naming them."""
        for name, new_id, column, parent, old in self.later:
            target = table(name)
            self.connection.execute(
                update(target)
                .where(target.c.id == new_id)
                .values({column: self._new(name, column, parent, old)})
            )


def import_document(engine: CycleEngine, document: dict[str, Any]) -> ImportReport:
    """Insert the rows of an export `document` into `engine`'s database, in one transaction.

    Raises InvalidInput (not an export, a newer format, a row naming one the document lacks, or
    an alliance, organisation or person that already exists here) or InvalidTemplate (a template
    names a guard this engine lacks); nothing is written then.
    """
    tables = _check_document(document)
    for row in tables["templates"]:  # each must load with this engine's guards
        engine.templates.validate(row["source_text"], row["source_name"])
    with engine.db.transaction() as session:
        connection = session.connection()
        _refuse_existing(connection, tables)
        inserter = _Inserter(connection)
        for row in tables["templates"]:
            inserter.ids["templates"][row["id"]] = _template_id(
                connection, decode("templates", row)
            )
        inserter.done.add("templates")
        for name in TABLES[1:]:
            inserter.insert(name, tables[name])
        inserter.finish()
    return ImportReport(
        rows={name: len(tables[name]) for name in TABLES if tables[name]},
        ids={name: dict(mapping) for name, mapping in inserter.ids.items()},
    )
