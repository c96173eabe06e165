"""Settings of the HTTP service, read once from `CYCLE_ENGINE_*` environment variables.

Read in the app factory (or by `cycle-engine serve`), never at import time, so tests and
embedders build apps with their own settings. A production secret must be set and long; a
development run may use a generated one (`make run` keeps one per install in data/).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cycle_engine.errors import InvalidInput
from cycle_engine.outbox.addresses import ALLOW_SETTING, AddressPolicy
from cycle_engine.secret_file import read_or_create_secret
from cycle_engine.store.defaults import DEFAULT_DATABASE_URL

PREFIX = "CYCLE_ENGINE_"
MIN_SECRET_LENGTH = 32
MIN_METRICS_TOKEN_LENGTH = 16
_WEAK_SECRETS = frozenset({"changethis", "change-me", "secret", "dev", "development", "test"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the service needs to start; see `from_env` for the variable names."""

    database_url: str = DEFAULT_DATABASE_URL
    database_schema: str | None = None
    secret_key: str = field(default="", repr=False)
    base_url: str = "http://127.0.0.1:8000"
    default_timezone: str = "UTC"
    run_worker: bool = True
    run_sender: bool = True
    #: The sender in a child process of its own rather than beside the requests (`serve`
    #: sets it; `notifications.process` says why).
    sender_process: bool = False
    max_body_bytes: int = 1_048_576
    max_upload_bytes: int = 26_214_400
    data_dir: str = "data"
    dev_mode: bool = False
    #: Internal webhook receivers allowed besides public addresses (`outbox.addresses`).
    webhook_allow: str = ""
    #: The bearer token `/metrics` asks for; without one, `/metrics` answers 404.
    metrics_token: str = field(default="", repr=False)
    #: How long a checked API key is trusted before it is read again: a key revoked in any
    #: process is refused everywhere within this many seconds (0: read it on every request).
    key_cache_seconds: int = 5
    #: Requests that run blocking work at once (each holds at most one database connection):
    #: kept within the database pool, so no request ever waits for a connection.
    request_threads: int = 10

    def __post_init__(self) -> None:
        if self.database_schema == "":
            object.__setattr__(self, "database_schema", None)
        if not self.dev_mode:
            check_secret(self.secret_key)
        elif not self.secret_key:
            object.__setattr__(self, "secret_key", secrets.token_urlsafe(48))
        try:
            ZoneInfo(self.default_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(
                f"{PREFIX}DEFAULT_TIMEZONE", f"unknown time zone {self.default_timezone!r}"
            ) from None
        if self.max_body_bytes < 1024:
            raise InvalidInput(f"{PREFIX}MAX_BODY_BYTES", "must be at least 1024")
        if self.max_upload_bytes < self.max_body_bytes:
            raise InvalidInput(f"{PREFIX}MAX_UPLOAD_BYTES", "must be at least MAX_BODY_BYTES")
        self.webhook_addresses  # noqa: B018 - refuses a malformed allowlist now, not at first use
        check_metrics_token(self.metrics_token)
        if self.key_cache_seconds < 0:
            raise InvalidInput(f"{PREFIX}KEY_CACHE_SECONDS", "must be 0 or more")
        if not 1 <= self.request_threads <= 1000:
            raise InvalidInput(f"{PREFIX}REQUEST_THREADS", "must be between 1 and 1000")

    @property
    def webhook_addresses(self) -> AddressPolicy:
        """Where webhooks may be sent: public addresses and the WEBHOOK_ALLOW entries."""
        return AddressPolicy.from_setting(self.webhook_allow, setting=ALLOW_SETTING)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, /, **overrides: object) -> Settings:
        """Settings from `CYCLE_ENGINE_*` variables (DATABASE_URL, DATABASE_SCHEMA, SECRET_KEY,
        BASE_URL, DEFAULT_TIMEZONE, RUN_WORKER, RUN_SENDER, SENDER_PROCESS, MAX_BODY_BYTES,
        MAX_UPLOAD_BYTES, DATA_DIR, DEV_MODE, WEBHOOK_ALLOW, METRICS_TOKEN, KEY_CACHE_SECONDS,
        REQUEST_THREADS); keyword `overrides` win over the environment. An empty DATABASE_SCHEMA
        means none (the tables follow the database's search path).

        Raises:
            InvalidInput: a variable has a bad value (named in the error).
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name, kind in _FIELDS.items():
            raw = env.get(PREFIX + name.upper())
            if raw is not None:
                values[name] = _parse(name, raw, kind)
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


_FIELDS: dict[str, type] = {
    "database_url": str,
    "database_schema": str,
    "secret_key": str,
    "base_url": str,
    "default_timezone": str,
    "run_worker": bool,
    "run_sender": bool,
    "sender_process": bool,
    "max_body_bytes": int,
    "max_upload_bytes": int,
    "data_dir": str,
    "dev_mode": bool,
    "webhook_allow": str,
    "metrics_token": str,
    "key_cache_seconds": int,
    "request_threads": int,
}


def _parse(name: str, raw: str, kind: type) -> object:
    variable = PREFIX + name.upper()
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise InvalidInput(variable, f"expected true or false, got {raw!r}")
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise InvalidInput(variable, f"expected a whole number, got {raw!r}") from None
    return raw


def check_metrics_token(token: str) -> None:
    """Refuse a metrics token that is set but short or a well-known placeholder."""
    if token and (token.lower() in _WEAK_SECRETS or len(token) < MIN_METRICS_TOKEN_LENGTH):
        raise InvalidInput(
            f"{PREFIX}METRICS_TOKEN",
            f"is a placeholder or shorter than {MIN_METRICS_TOKEN_LENGTH} characters; "
            "set a random one (openssl rand -hex 32)",
        )


def check_secret(secret: str) -> None:
    """Refuse a missing, well-known or short secret key outside development mode."""
    variable = f"{PREFIX}SECRET_KEY"
    if not secret:
        raise InvalidInput(variable, "is not set; set a random secret of 32+ characters")
    if secret.lower() in _WEAK_SECRETS or len(secret) < MIN_SECRET_LENGTH:
        raise InvalidInput(
            variable,
            f"is a default or shorter than {MIN_SECRET_LENGTH} characters; set a random one",
        )


def secret_from_file(path: str | Path) -> str:
    """The secret kept in `path`, created (mode 0600) with a random one when missing."""
    secret = read_or_create_secret(path)
    check_secret(secret)
    return secret
