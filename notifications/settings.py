"""Mail settings, built from `CYCLE_ENGINE_*` environment variables by one explicit call.

Nothing here reads the environment at import time: the app factory or the CLI calls
`load_mail_settings()` once and hands the result down. Credentials without TLS are refused,
so a password never crosses the network in plain text by accident.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Literal

from cycle_engine.errors import InvalidInput
from cycle_engine.secret_file import SECRET_FILE_NAME, read_or_create_secret

TlsMode = Literal["none", "starttls", "tls"]
TLS_MODES: tuple[TlsMode, ...] = ("none", "starttls", "tls")
PREFIX = "CYCLE_ENGINE_"


@dataclass(frozen=True, kw_only=True)
class SmtpSettings:
    """Where and how to hand mail to an SMTP server.

    `timeout` bounds a whole exchange (connect, TLS, login, envelope and data);
    `pool_size` bounds both the open connections and the messages in flight.
    """

    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    tls: TlsMode = "starttls"
    timeout: float = 30.0
    pool_size: int = 4
    ca_file: str | None = None

    def __post_init__(self) -> None:
        if not self.host:
            raise InvalidInput("CYCLE_ENGINE_SMTP_HOST", "must name the SMTP server")
        if self.tls not in TLS_MODES:
            raise InvalidInput(
                "CYCLE_ENGINE_SMTP_TLS", f"must be one of {', '.join(TLS_MODES)}, got {self.tls!r}"
            )
        if not 0 < self.port < 65536:
            raise InvalidInput("CYCLE_ENGINE_SMTP_PORT", f"must be 1-65535, got {self.port}")
        if self.timeout <= 0:
            raise InvalidInput("CYCLE_ENGINE_SMTP_TIMEOUT", "must be a positive number of seconds")
        if self.pool_size < 1:
            raise InvalidInput("CYCLE_ENGINE_SMTP_POOL", "must be at least 1")
        if (self.username or self.password) and self.tls == "none":
            raise InvalidInput(
                "CYCLE_ENGINE_SMTP_TLS",
                "credentials are set, so TLS is required: use 'starttls' or 'tls', never 'none'",
            )


@dataclass(frozen=True, kw_only=True)
class MailSettings:
    """Everything the notification sender needs besides the database.

    `smtp` is None when no server is configured: mail then goes to the development Maildir
    under `data_dir / "mailbox"`, so nothing is lost or silently discarded.
    """

    smtp: SmtpSettings | None
    secret_key: str = field(repr=False)
    sender: str = "Cycle Engine <cycle-engine@localhost>"
    base_url: str = "http://127.0.0.1:8000"
    data_dir: Path = Path("data")
    hourly_cap: int = 10

    def __post_init__(self) -> None:
        _, address = parseaddr(self.sender)
        if "@" not in address or "\n" in self.sender or "\r" in self.sender:
            raise InvalidInput("CYCLE_ENGINE_SMTP_FROM", f"not an email address: {self.sender!r}")
        if not self.base_url.startswith(("http://", "https://")):
            raise InvalidInput(
                "CYCLE_ENGINE_BASE_URL", f"must start with http(s)://: {self.base_url!r}"
            )
        if len(self.secret_key) < 16:
            raise InvalidInput("CYCLE_ENGINE_SECRET_KEY", "must be at least 16 characters")
        if self.hourly_cap < 1:
            raise InvalidInput("CYCLE_ENGINE_MAIL_HOURLY_CAP", "must be at least 1")

    @property
    def envelope_sender(self) -> str:
        """The bare address (SMTP MAIL FROM)."""
        return parseaddr(self.sender)[1]

    @property
    def sender_name(self) -> str:
        return parseaddr(self.sender)[0]

    @property
    def mailbox_dir(self) -> Path:
        return self.data_dir / "mailbox"


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise InvalidInput(PREFIX + name, f"must be a number, got {raw!r}") from None


def load_mail_settings(
    env: Mapping[str, str] | None = None,
    *,
    secret_key: str | None = None,
    base_url: str | None = None,
    data_dir: str | Path | None = None,
) -> MailSettings:
    """Build settings from `env` (default: `os.environ`); raises InvalidInput naming the variable.

    Variables: CYCLE_ENGINE_SMTP_HOST/PORT/USERNAME/PASSWORD/TLS (none|starttls|tls)/TIMEOUT/
    POOL/CA_FILE/FROM, CYCLE_ENGINE_BASE_URL, CYCLE_ENGINE_SECRET_KEY, CYCLE_ENGINE_DATA_DIR,
    CYCLE_ENGINE_MAIL_HOURLY_CAP. Keyword arguments win over the environment (the app factory
    passes its own secret and base URL, so links it serves are the links emails carry). With no
    secret anywhere, the development secret file `<data_dir>/secret.key` is used (created once).
    """
    env = os.environ if env is None else env
    host = env.get(PREFIX + "SMTP_HOST", "").strip()
    smtp = None
    if host:
        tls = env.get(PREFIX + "SMTP_TLS", "starttls").strip().lower()
        if tls not in TLS_MODES:
            raise InvalidInput(
                PREFIX + "SMTP_TLS", f"must be one of {', '.join(TLS_MODES)}, got {tls!r}"
            )
        default_port = {"none": 25, "starttls": 587, "tls": 465}[tls]
        smtp = SmtpSettings(
            host=host,
            port=int(_number(env, "SMTP_PORT", default_port)),
            username=env.get(PREFIX + "SMTP_USERNAME") or None,
            password=env.get(PREFIX + "SMTP_PASSWORD") or None,
            tls=tls,
            timeout=_number(env, "SMTP_TIMEOUT", 30.0),
            pool_size=int(_number(env, "SMTP_POOL", 4)),
            ca_file=env.get(PREFIX + "SMTP_CA_FILE") or None,
        )
    directory = Path(data_dir if data_dir is not None else env.get(PREFIX + "DATA_DIR", "data"))
    secret = secret_key or env.get(PREFIX + "SECRET_KEY") or development_secret(directory)
    return MailSettings(
        smtp=smtp,
        secret_key=secret,
        sender=env.get(PREFIX + "SMTP_FROM", "Cycle Engine <cycle-engine@localhost>"),
        base_url=(base_url or env.get(PREFIX + "BASE_URL", "http://127.0.0.1:8000")).rstrip("/"),
        data_dir=directory,
        hourly_cap=int(_number(env, "MAIL_HOURLY_CAP", 10)),
    )


def development_secret(data_dir: Path) -> str:
    """The per-install secret in `<data_dir>/secret.key`, shared with `serve`."""
    return read_or_create_secret(data_dir / SECRET_FILE_NAME)
