"""One line per failure: what the CLI prints when a command cannot do its work.

Database, file and network errors name their cause in one line on stderr and exit with status 1;
the traceback appears only with `--debug` (or `CYCLE_ENGINE_DEBUG=1`), for bug reports. Errors
the engine raises on purpose already say what was wrong and where.
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING

from cycle_engine.errors import CycleEngineError, InvalidTemplate

if TYPE_CHECKING:
    from sqlalchemy.exc import DBAPIError

DEBUG_SETTING = "CYCLE_ENGINE_DEBUG"


def debugging() -> bool:
    """Whether failures should show their traceback (`--debug` sets the setting)."""
    return os.environ.get(DEBUG_SETTING, "").strip().lower() in {"1", "true", "yes", "on"}


def describe(error: BaseException) -> list[str]:
    """The lines that explain `error` to the person at the terminal (the first is the cause)."""
    from sqlalchemy import exc  # only on the way out: `--help` does not load SQLAlchemy

    if isinstance(error, InvalidTemplate):
        if len(error.problems) == 1:
            return [f"template is invalid: {error.problems[0]}"]
        return [f"template is invalid ({len(error.problems)} problems)"] + [
            f"  {problem}" for problem in error.problems
        ]
    if isinstance(error, CycleEngineError):
        return [str(error)]
    if isinstance(error, exc.DBAPIError):
        connecting = isinstance(error, exc.OperationalError)
        return [f"database: {_database_reason(error, connecting=connecting)}"]
    if isinstance(error, exc.SQLAlchemyError):
        return [f"database: {_first_line(error)}"]
    if type(error).__module__.partition(".")[0] in {"psycopg", "sqlite3"}:  # a quick read's driver
        connecting = type(error).__name__ == "OperationalError"
        return [f"database: {_reason(_first_line(error), connecting=connecting)}"]
    if isinstance(error, OSError):
        return [_os_reason(error)]
    if isinstance(error, UnicodeDecodeError):
        return [f"cannot read the file as UTF-8 text ({error.reason} at byte {error.start})"]
    return [
        f"unexpected {type(error).__name__}: {_first_line(error)} (run with --debug for details)"
    ]


def _database_reason(error: DBAPIError, *, connecting: bool) -> str:
    reason = _first_line(error.orig) if error.orig is not None else _first_line(error)
    return _reason(reason, connecting=connecting)


def _reason(reason: str, *, connecting: bool) -> str:
    lowered = reason.lower()
    if "disk is full" in lowered or "no space left" in lowered:
        return f"the disk is full ({reason})"
    if "readonly" in lowered or "read-only" in lowered:
        return f"the database is read-only ({reason})"
    if connecting and "connect" in lowered:
        return f"cannot connect ({reason})"
    return reason


def _os_reason(error: OSError) -> str:
    where = error.filename if error.filename is not None else None
    if error.errno == errno.ENOENT and where is not None:
        return f"{where}: no such file"
    if isinstance(error, ConnectionError | TimeoutError) or error.errno in {
        errno.ECONNREFUSED,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ETIMEDOUT,
    }:
        return f"network: {error.strerror or _first_line(error)}"
    reason = error.strerror or _first_line(error)
    return f"{where}: {reason}" if where is not None else reason


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
