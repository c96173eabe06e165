"""What every CLI command shares: the database option, the engine with the installed plugins'
extensions, JSON output, and one-line errors.

The CLI imports SQLAlchemy, the models and the engine only inside the commands that use them,
so `cycle-engine --help` and argument errors answer at once (a test pins what `--help` imports).
"""

from __future__ import annotations

import base64
import json
import math
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from functools import wraps
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer

from cycle_engine.cli.failures import debugging, describe
from cycle_engine.plugins import load_extensions

if TYPE_CHECKING:
    from cycle_engine.changes import ChangeSubscriber
    from cycle_engine.engine import CycleEngine
    from cycle_engine.spec.guards import GuardRegistry

P = ParamSpec("P")
R = TypeVar("R")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (default: $CYCLE_ENGINE_DATABASE_URL or data/).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def database_url(option: str | None) -> str:
    from cycle_engine.store.defaults import (
        DEFAULT_DATABASE_URL,  # imported on use: `--help` stays fast
    )

    return option or os.environ.get("CYCLE_ENGINE_DATABASE_URL") or DEFAULT_DATABASE_URL


def database_schema() -> str | None:
    """The PostgreSQL schema of the engine's tables: $CYCLE_ENGINE_DATABASE_SCHEMA, if set."""
    return os.environ.get("CYCLE_ENGINE_DATABASE_SCHEMA") or None


@contextmanager
def open_engine(
    db: str | None, *, subscribers: Sequence[ChangeSubscriber] = (), **options: Any
) -> Iterator[CycleEngine]:
    """The engine on `--db` (in $CYCLE_ENGINE_DATABASE_SCHEMA, if set), with every installed
    host plugin's extensions and `subscribers` (the process's metrics) after theirs."""
    from cycle_engine.engine import CycleEngine  # imported on use: `--help` stays fast

    options.setdefault("schema", database_schema())
    arguments = load_extensions().engine_arguments()
    arguments["subscribers"] = [*arguments["subscribers"], *subscribers]
    with CycleEngine(database_url(db), **arguments, **options) as engine:
        yield engine


def guard_registry() -> GuardRegistry:
    """The guards a template may name in this process: the built-in ones and every installed
    host plugin's (what `open_engine` gives an engine), for commands that read a file only."""
    from cycle_engine.alliances.guards import default_guards  # imported on use: `--help` stays fast

    registry = default_guards()
    for guard in load_extensions().guards:
        registry.register(guard)
    return registry


def fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


def reports_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn any failure into its one-line reason on stderr and exit status 1 (see `failures`);
    with `--debug` the exception propagates with its traceback."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as error:
            if debugging():
                raise
            first, *more = describe(error)
            typer.echo(f"error: {first}", err=True)
            for line in more:
                typer.echo(line, err=True)
            raise typer.Exit(code=1) from None

    return wrapper


def to_plain(value: Any) -> Any:
    """Any value a command prints as JSON-ready data: rows and models, dataclasses, mappings,
    sequences and sets, datetimes and dates (ISO 8601), durations (ISO 8601 durations such as
    `P3W`, as templates write them), decimals, enums, paths, UUIDs and bytes; anything else
    becomes its text, so `--json` output always serialises."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if hasattr(value, "model_dump"):  # a row (SQLModel) or any pydantic model
        return {k: to_plain(v) for k, v in value.model_dump().items()}
    if is_dataclass(value) and not isinstance(value, type):
        return {k: to_plain(v) for k, v in asdict(value).items()}
    if isinstance(value, Mapping):
        return {str(to_plain(k)): to_plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((to_plain(v) for v in value), key=str)
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    return _scalar(value)


def _scalar(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        from cycle_engine.spec.durations import format_duration  # on use: `--help` stays fast

        return format_duration(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Enum):
        return to_plain(value.value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)  # paths, UUIDs, zones and whatever else: their text


def print_json(value: Any) -> None:
    """Print `value` as one JSON document (built whole first: never half a document)."""
    text = json.dumps(to_plain(value), indent=2, ensure_ascii=False, allow_nan=False)
    sys.stdout.write(text + "\n")


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"
