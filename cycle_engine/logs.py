"""Structured logs: one event per line, carrying the request, cycle, timer, message and alliance
it belongs to, and never a secret.

An operator greps one line per event, or feeds JSON lines to a log store; either way each line
names what it was about. The context lives in `contextvars`, so it follows a request through
FastAPI's thread pool and a delivery through its asyncio task without being passed around:

    with log_context(cycle_id=7, timer_id=42):
        log.info("timer fired")          # ... timer fired [cycle_id=7 timer_id=42]

`alliance` holds the alliance's id, or its name where only the name is at hand.

`ContextFilter` copies the bound fields onto every record; `JsonFormatter` (when
`CYCLE_ENGINE_LOG_FORMAT=json`) and `TextFormatter` (the default) write one line per event, a
traceback included. Both pass the finished line through `redact`, the last line of defence: the
engine never logs a token on purpose, and whatever slips through (a bearer token, an API key,
a webhook secret, a signed link's token, a registered secret value) is masked. Standard library
only, so every process (serve, worker, sender, the CLI) sets it up the same way with
`configure_logging()`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal

#: The context fields a line may carry, in the order text lines show them.
FIELDS = ("request_id", "alliance", "cycle_id", "timer_id", "message_id")
FORMAT_SETTING = "CYCLE_ENGINE_LOG_FORMAT"
LogFormat = Literal["text", "json"]

_EMPTY: Mapping[str, object] = MappingProxyType({})
_context: ContextVar[Mapping[str, object]] = ContextVar("cycle_engine_log_context", default=_EMPTY)
_secrets: set[str] = set()
_MASK = "***"
_PATTERNS = (
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=\-]{8,}"), r"\1 " + _MASK),
    (re.compile(r"(?i)(authorization:\s*\w+\s+)\S+"), r"\1" + _MASK),
    (re.compile(r"\b(ce_[A-Za-z0-9]+_)[A-Za-z0-9_\-]{8,}"), r"\1" + _MASK),
    (re.compile(r"\b(whsec_)[A-Za-z0-9_\-]+"), r"\1" + _MASK),
    (
        re.compile(
            r"(?i)([?&;](?:t|token|key|secret|sig|signature|password|auth|code)=)[^&\s\"'<>]+"
        ),
        r"\1" + _MASK,
    ),
    (re.compile(r"(/email/calendar/)[^/\s\"'?]+?(\.ics)"), r"\1" + _MASK + r"\2"),
    (
        re.compile(
            r"(?i)((?:password|secret|token|api_key|authorization)[\"']?\s*[:=]\s*[\"']?)"
            r"[^\s\"',;&]{4,}"
        ),
        r"\1" + _MASK,
    ),
)


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Bind `fields` (names from FIELDS; None values are left out) to every line logged inside."""
    token = bind(**fields)
    try:
        yield
    finally:
        _context.reset(token)


def bind(**fields: object) -> Token[Mapping[str, object]]:
    """Bind `fields` until `unbind(token)`; for middleware that cannot use a `with` block."""
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown log context fields {unknown}; known: {', '.join(FIELDS)}")
    bound = {name: value for name, value in fields.items() if value is not None}
    return _context.set({**_context.get(), **bound})


def unbind(token: Token[Mapping[str, object]]) -> None:
    _context.reset(token)


def current(name: str) -> object | None:
    """The value bound to `name` here, or None."""
    return _context.get().get(name)


def request_id() -> str | None:
    """The id of the HTTP request being handled here, if any (error pages show it)."""
    value = current("request_id")
    return None if value is None else str(value)


def register_secret(value: str | None) -> None:
    """Mask `value` wherever it appears in a log line (the secret key, tokens from settings)."""
    if value and len(value) >= 8:
        _secrets.add(value)


def redact(line: str) -> str:
    """`line` with registered secrets and anything shaped like a token replaced by ***."""
    for value in _secrets:
        if value in line:
            line = line.replace(value, _MASK)
    for pattern, replacement in _PATTERNS:
        line = pattern.sub(replacement, line)
    return line


class ContextFilter(logging.Filter):
    """Copies the bound context fields onto each record (an explicit `extra=` value wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


def _fields(record: logging.LogRecord) -> dict[str, object]:
    return {
        name: getattr(record, name) for name in FIELDS if getattr(record, name, None) is not None
    }


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            event["exception"] = record.exc_text
        return redact(json.dumps(event, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    """Readable single lines: `time LEVEL logger: message [field=value ...]`; a traceback
    stays on the same line, its line breaks written as `\\n`."""

    def format(self, record: logging.LogRecord) -> str:
        context = " ".join(f"{name}={value}" for name, value in _fields(record).items())
        line = f"{_timestamp(record)} {record.levelname} {record.name}: {record.getMessage()}"
        if context:
            line += f" [{context}]"
        if record.exc_info:
            line += " | " + self.formatException(record.exc_info)
        return redact(line.replace("\r", "").replace("\n", "\\n"))


def log_format(environ: Mapping[str, str] | None = None) -> LogFormat:
    """`text` or `json`, from CYCLE_ENGINE_LOG_FORMAT (default text); raises ValueError."""
    raw = (os.environ if environ is None else environ).get(FORMAT_SETTING, "").strip().lower()
    if raw in ("", "text"):
        return "text"
    if raw == "json":
        return "json"
    raise ValueError(f"{FORMAT_SETTING}: expected text or json, got {raw!r}")


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time of each record (a test may swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(level: str | int = "INFO", *, fmt: LogFormat | None = None) -> None:
    """Send every logger's records to stderr as one line each, in `fmt` (default: the setting).

    Calling it again (a second command, a test) replaces the handler it installed before and
    leaves any other handler alone. Chatty libraries (APScheduler's ticks, transitions' callbacks,
    httpx's requests) log warnings only. Raises ValueError for a bad CYCLE_ENGINE_LOG_FORMAT.
    """
    handler = _StderrHandler()
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if (fmt or log_format()) == "json" else TextFormatter())
    handler.set_name("cycle_engine")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "cycle_engine"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    chatty = ("apscheduler", "alembic", "transitions", "httpx", "httpcore", "aiosmtplib")
    for name in chatty:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
