"""Reading an onboarding file (`alliances.onboarding`): CSV or JSON into rows, each with where it
came from, so every problem can name its row and column.

    CSV   one sheet, a header row, one record per row: `record` is `organisation` or `person`;
          organisations: name, kind, country, timezone, works_with (the agency's name),
          joined_on; people: name, email, organisation (its name), language, timezone, role
          (coordinator or manager, optional), joined_on
    JSON  {"organisations": [{...}], "people": [{...}]} with the same fields (text values)

`to_csv` writes such a file (the demo's partner list is one).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cycle_engine.errors import InvalidInput

ORGANISATION_FIELDS = ("name", "kind", "country", "timezone", "works_with", "joined_on")
PERSON_FIELDS = ("name", "email", "organisation", "language", "timezone", "role", "joined_on")
CSV_COLUMNS = ("record", *dict.fromkeys(ORGANISATION_FIELDS + PERSON_FIELDS))


@dataclass(frozen=True, kw_only=True)
class RowError:
    """One problem: `row` is the CSV line (the header is line 1) or `organisations[3]`."""

    row: str
    column: str
    message: str


class ImportRejected(InvalidInput):
    """The file has problems; `errors` lists each with its row and column. Nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        first = errors[0]
        super().__init__(
            "file",
            f"{len(errors)} problem(s); first: row {first.row}, {first.column}: {first.message}",
        )


@dataclass(frozen=True, kw_only=True)
class Row:
    where: str
    values: dict[str, str]


def parse(content: bytes, media_type: str) -> tuple[list[Row], list[Row]]:
    """The organisation and person rows of a CSV or JSON file; ImportRejected when it cannot
    be read."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportRejected(
            [RowError(row="1", column="file", message=f"not UTF-8: {error}")]
        ) from None
    if "json" in media_type:
        return _parse_json(text)
    return _parse_csv(text)


def _parse_csv(text: str) -> tuple[list[Row], list[Row]]:
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in reader.fieldnames or []]
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    if "record" not in columns or unknown:
        message = (
            f"unknown columns {unknown}" if unknown else "the header needs a `record` column"
        ) + f"; columns: {', '.join(CSV_COLUMNS)}"
        raise ImportRejected([RowError(row="1", column="header", message=message)])
    organisations: list[Row] = []
    persons: list[Row] = []
    errors: list[RowError] = []
    for line, raw in enumerate(reader, start=2):
        values = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if None in raw:
            errors.append(
                RowError(row=str(line), column="record", message="more cells than columns")
            )
            continue
        kind = values.pop("record", "")
        kept = {k: v for k, v in values.items() if v}
        if kind == "organisation":
            organisations.append(Row(where=str(line), values=kept))
        elif kind == "person":
            persons.append(Row(where=str(line), values=kept))
        elif any(values.values()) or kind:
            errors.append(
                RowError(row=str(line), column="record", message="must be organisation or person")
            )
    if errors:
        raise ImportRejected(errors)
    return organisations, persons


def _parse_json(text: str) -> tuple[list[Row], list[Row]]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ImportRejected(
            [RowError(row=str(error.lineno), column="file", message=f"not JSON: {error.msg}")]
        ) from None
    if not isinstance(document, dict) or set(document) - {"organisations", "people"}:
        raise ImportRejected(
            [
                RowError(
                    row="document",
                    column="file",
                    message='expected {"organisations": [...], "people": [...]}',
                )
            ]
        )
    sections: dict[str, list[Row]] = {"organisations": [], "people": []}
    errors: list[RowError] = []
    allowed = {"organisations": ORGANISATION_FIELDS, "people": PERSON_FIELDS}
    for section, rows in sections.items():
        items = document.get(section, [])
        if not isinstance(items, list):
            errors.append(RowError(row=section, column=section, message="must be a list"))
            continue
        for index, item in enumerate(items):
            where = f"{section}[{index}]"
            if not isinstance(item, dict):
                errors.append(RowError(row=where, column=section, message="must be an object"))
                continue
            for key, value in item.items():
                if key not in allowed[section]:
                    errors.append(RowError(row=where, column=key, message="unknown field"))
                elif value is not None and not isinstance(value, str):
                    errors.append(RowError(row=where, column=key, message="must be text"))
            values = {k: v.strip() for k, v in item.items() if isinstance(v, str) and v.strip()}
            rows.append(Row(where=where, values=values))
    if errors:
        raise ImportRejected(errors)
    return sections["organisations"], sections["people"]


def to_csv(organisations: Iterable[Mapping[str, str]], persons: Iterable[Mapping[str, str]]) -> str:
    """A CSV file this module imports (the demo's partner list is written with it)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in organisations:
        writer.writerow({"record": "organisation", **row})
    for row in persons:
        writer.writerow({"record": "person", **row})
    return out.getvalue()
