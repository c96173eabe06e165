"""`cycle-engine backup FILE` and `restore FILE`: the embedded SQLite database and the uploaded
files in one archive, taken while the engine runs, put back after checks.

Both work on the SQLite file of `--db` and the data directory (`--data-dir`, default
$CYCLE_ENGINE_DATA_DIR or data/). On PostgreSQL they refuse with a pointer to `pg_dump` (README,
"Backups"). The work happens in `cycle_engine.store.backup`, imported on use so `--help` stays
fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from cycle_engine.cli.common import DbOption, JsonOption, database_url, print_json, reports_errors

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Uploaded files and the mailbox (default: $CYCLE_ENGINE_DATA_DIR or data).",
        show_default=False,
    ),
]


def _data_dir(option: Path | None) -> Path:
    return option or Path(os.environ.get("CYCLE_ENGINE_DATA_DIR") or "data")


@reports_errors
def backup(
    archive: Annotated[Path, typer.Argument(help="The archive to write (.tar.gz).")],
    db: DbOption = None,
    data_dir: DataDirOption = None,
    json: JsonOption = False,
) -> None:
    """Back up the SQLite database (a consistent copy, while it runs) and the data directory."""
    from cycle_engine.store.backup import backup as make_backup  # imported on use

    report = make_backup(database_url(db), archive, data_dir=_data_dir(data_dir))
    if json:
        print_json(report)
        return
    typer.echo(
        f"backup {report.archive}: database {report.database_bytes:,} bytes at schema "
        f"{report.revision}, {report.files} files"
    )


@reports_errors
def restore(
    archive: Annotated[Path, typer.Argument(help="An archive made by `cycle-engine backup`.")],
    db: DbOption = None,
    data_dir: DataDirOption = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Overwrite the database even while a process has it open."),
    ] = False,
) -> None:
    """Restore a backup: check it is complete and known, then put the database and files back."""
    from cycle_engine.store.backup import restore as put_back  # imported on use

    url = database_url(db)
    revision = put_back(archive, url, data_dir=_data_dir(data_dir), force=force)
    typer.echo(f"restored {archive} into {url} (schema {revision})")
    typer.echo("next: `cycle-engine migrate` if this engine is newer than the backup's")
