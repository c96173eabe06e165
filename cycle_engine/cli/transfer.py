"""`cycle-engine export alliance ID FILE`, `export cycle ID FILE` and `import FILE`: move an
alliance or a cycle to another installation as one JSON document (`cycle_engine.transfer`).

The document is written to a temporary file and renamed, so a failed export never leaves half a
file behind; an import is one transaction, so a refused one leaves the database as it was.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from cycle_engine.cli.common import DbOption, open_engine, reports_errors
from cycle_engine.errors import InvalidInput

app = typer.Typer(help="Export an alliance or a cycle as one JSON document.", no_args_is_help=True)
FileArg = Annotated[Path, typer.Argument(help="The JSON document to write.")]


def _write(path: Path, document: dict[str, Any]) -> None:
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False, indent=1)
        handle.write("\n")
    os.replace(partial, path)


def _summary(document: dict[str, Any]) -> str:
    tables = document["tables"]
    counts = ", ".join(
        f"{len(tables[name])} {name.replace('_', ' ')}"
        for name in ("cycles", "organisations", "people", "events")
    )
    return f"{counts} (schema {document['schema_revision']})"


@app.command("alliance")
@reports_errors
def export_alliance(
    alliance_id: Annotated[int, typer.Argument(metavar="ID", help="The alliance's id.")],
    path: FileArg,
    db: DbOption = None,
) -> None:
    """Export an alliance: its partners, people, roles and every cycle with its history."""
    from cycle_engine.transfer import export_alliance as export  # imported on use

    with open_engine(db) as engine:
        document = export(engine, alliance_id)
    _write(path, document)
    typer.echo(f"exported alliance {alliance_id} to {path}: {_summary(document)}")


@app.command("cycle")
@reports_errors
def export_cycle(
    cycle_id: Annotated[int, typer.Argument(metavar="ID", help="The cycle's id.")],
    path: FileArg,
    db: DbOption = None,
) -> None:
    """Export one cycle with its template, its alliance's partners and its history."""
    from cycle_engine.transfer import export_cycle as export  # imported on use

    with open_engine(db) as engine:
        document = export(engine, cycle_id)
    _write(path, document)
    typer.echo(f"exported cycle {cycle_id} to {path}: {_summary(document)}")


@reports_errors
def import_(
    path: Annotated[Path, typer.Argument(help="A document made by `cycle-engine export`.")],
    db: DbOption = None,
) -> None:
    """Import an exported alliance or cycle into this database (every id is new here)."""
    from cycle_engine.transfer import import_document  # imported on use

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise InvalidInput("document", f"{path} is not JSON: {error}") from None
    with open_engine(db) as engine:
        report = import_document(engine, document)
    scope = document.get("scope", {})
    counts = ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in report.rows.items())
    typer.echo(f"imported {scope.get('kind', 'document')} from {path}: {counts}")
    for old, new in report.ids.get("alliances", {}).items():
        typer.echo(f"alliance {old} is now alliance {new}")
