"""Stored product files: kept under the engine's data directory, size-limited, and checked to be
what their name says (a `.pdf` must start like a PDF) before anything is written.

Files are written before the database row commits; the command removes the file again when its
transaction fails, so a refused or failed command leaves neither row nor file behind.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from cycle_engine.errors import InvalidInput

#: Default largest product file accepted, in bytes (20 MiB).
MAX_PRODUCT_BYTES = 20 * 1024 * 1024

_ZIP = (b"PK\x03\x04",)
#: Allowed extensions -> (content type, accepted leading bytes; None = UTF-8 text).
CONTENT_TYPES: dict[str, tuple[str, tuple[bytes, ...] | None]] = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _ZIP),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _ZIP),
    ".pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", _ZIP),
    ".odt": ("application/vnd.oasis.opendocument.text", _ZIP),
    ".zip": ("application/zip", _ZIP),
    ".txt": ("text/plain", None),
    ".md": ("text/markdown", None),
    ".csv": ("text/csv", None),
}


@dataclass(frozen=True, kw_only=True)
class StoredFile:
    """A file written under the data directory; `path` is relative to it."""

    path: str
    name: str
    content_type: str
    size: int
    sha256: str


def safe_name(name: str) -> str:
    base = Path(name).name
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._")
    return cleaned[:120] or "file"


def check_content(name: str, content: bytes, max_bytes: int) -> str:
    """The content type of `content` named `name`; raises InvalidInput when refused."""
    if len(content) > max_bytes:
        raise InvalidInput(
            "file", f"{name} is {len(content):,} bytes; the limit is {max_bytes:,} bytes"
        )
    if not content:
        raise InvalidInput("file", f"{name} is empty")
    suffix = Path(name).suffix.lower()
    if suffix not in CONTENT_TYPES:
        raise InvalidInput(
            "file",
            f"{name}: file type {suffix or '(none)'!r} is not accepted "
            f"(accepted: {', '.join(sorted(CONTENT_TYPES))})",
        )
    content_type, signatures = CONTENT_TYPES[suffix]
    if signatures is None:
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("file", f"{name} is not UTF-8 text") from None
        if "\x00" in text:
            raise InvalidInput("file", f"{name} is not text (it contains NUL bytes)")
    elif not content.startswith(signatures):
        raise InvalidInput(
            "file", f"{name} does not look like {content_type} (it starts {content[:8]!r})"
        )
    return content_type


class FileStore:
    """Product files under `root` (the engine's data directory)."""

    def __init__(self, root: Path, max_bytes: int = MAX_PRODUCT_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def save(self, cycle_id: int, name: str, content: bytes) -> StoredFile:
        """Check and write `content`; raises InvalidInput (nothing written) when refused."""
        content_type = check_content(name, content, self.max_bytes)
        relative = (
            Path("products") / f"cycle-{cycle_id}" / f"{uuid.uuid4().hex[:12]}-{safe_name(name)}"
        )
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        return StoredFile(
            path=relative.as_posix(),
            name=Path(name).name,
            content_type=content_type,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
        )

    def discard(self, stored: StoredFile) -> None:
        (self.root / stored.path).unlink(missing_ok=True)

    def path_of(self, relative: str) -> Path:
        return self.root / relative
