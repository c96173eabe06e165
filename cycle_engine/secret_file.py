"""The per-install secret file that `make run` and development setups share.

One file (`<data_dir>/secret.key`), created once with a random key (mode 0600), so the server,
the mail sender and `signin-link` sign and verify links with the same secret.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_FILE_NAME = "secret.key"


def read_or_create_secret(path: str | Path) -> str:
    """The secret kept in `path`; a random one is written (mode 0600) when the file is missing."""
    path = Path(path)
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    return secret
