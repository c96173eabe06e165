"""The export document's shape: which tables travel, in which order, and how values are written.

Tables are listed parents first, so an import can insert them in this order and replace every
foreign key with the new id of the row it names (foreign keys are read from the table metadata,
so a new column that names another table is remapped without touching this module). A foreign
key to a table that comes later (a cycle's current stage visit) is set once that table is in.
Ids inside JSON columns (an event's `stage_visit_id`, a timer payload's `person_id`) are
remapped by their key name (`DATA_ID_KEYS`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Table
from sqlmodel import SQLModel

import cycle_engine.store.tables.all  # noqa: F401  (registers every table)
from cycle_engine.clock import as_utc
from cycle_engine.errors import InvalidInput
from cycle_engine.store.tables.types import UTCDateTime

FORMAT = "cycle-engine-export"
FORMAT_VERSION = 1

#: Tables a document carries, parents first.
TABLES = (
    "templates",
    "alliances",
    "organisations",
    "alliance_members",
    "people",
    "alliance_roles",
    "notification_preferences",
    "cycles",
    "stage_visits",
    "participation",
    "work_plan",
    "products",
    "test_contexts",
    "context_results",
    "learning_questions",
    "learning_entries",
    "learning_organisations",
    "timers",
    "stall_flags",
    "events",
)

#: Keys inside JSON columns (events.data, timers.payload) that hold the id of a row of a table.
DATA_ID_KEYS = {
    "cycle_id": "cycles",
    "stage_visit_id": "stage_visits",
    "visit_id": "stage_visits",
    "timer_id": "timers",
    "person_id": "people",
    "focal_point_id": "people",
    "deputy_id": "people",
    "organisation_id": "organisations",
    "product_id": "products",
    "context_id": "test_contexts",
    "result_id": "context_results",
    "question_id": "learning_questions",
    "learning_id": "learning_entries",
}


def table(name: str) -> Table:
    """The engine's table `name` (its own metadata; the schema follows the connection's map)."""
    return SQLModel.metadata.tables[name]


def foreign_keys(name: str) -> dict[str, str]:
    """Column -> the table it names, for each foreign key of table `name`."""
    return {
        column.name: next(iter(column.foreign_keys)).column.table.name
        for column in table(name).columns
        if column.foreign_keys
    }


def encode(row: dict[str, Any]) -> dict[str, Any]:
    """A row's values as JSON values (datetimes as ISO 8601 UTC, dates as ISO dates)."""
    encoded: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            encoded[key] = as_utc(value).isoformat()
        elif isinstance(value, date):
            encoded[key] = value.isoformat()
        else:
            encoded[key] = value
    return encoded


def decode(name: str, row: dict[str, Any]) -> dict[str, Any]:
    """A document row back to column values; raises InvalidInput for an unknown column."""
    columns = table(name).columns
    unknown = sorted(set(row) - set(columns.keys()))
    if unknown:
        raise InvalidInput(
            "document", f"{name} rows have columns this engine does not know: {', '.join(unknown)}"
        )
    decoded: dict[str, Any] = {}
    for key, value in row.items():
        kind = columns[key].type
        if value is not None and isinstance(kind, UTCDateTime):
            decoded[key] = as_utc(datetime.fromisoformat(value))
        elif value is not None and isinstance(kind, Date):
            decoded[key] = date.fromisoformat(value)
        else:
            decoded[key] = value
    return decoded


def remap_data(data: Any, lookup: dict[str, dict[int, int]]) -> Any:
    """`data` (a JSON column's value) with the ids under DATA_ID_KEYS replaced by their new ids;
    an id the document does not carry stays as it was."""
    if isinstance(data, dict):
        result: dict[str, Any] = {}
        for key, value in data.items():
            target = DATA_ID_KEYS.get(key)
            if target is not None and isinstance(value, int) and not isinstance(value, bool):
                result[key] = lookup.get(target, {}).get(value, value)
            else:
                result[key] = remap_data(value, lookup)
        return result
    if isinstance(data, list):
        return [remap_data(item, lookup) for item in data]
    return data
