"""The development mailbox: with no SMTP server configured, mail goes to a Maildir on disk.

A Maildir (`data/mailbox/{cur,new,tmp}`) is written atomically one file per message and is
readable by `cycle-engine mail list|show`, by mutt (`mutt -f data/mailbox`), and by the
dashboard. Nothing is sent anywhere and nothing is discarded: the sender creates the folders it
needs (`data/` included) before each message, and a disk that refuses a write (full, read-only)
is a temporary failure, so the message waits in the outbox instead of being lost.
"""

from __future__ import annotations

import asyncio
import mailbox
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path

from cycle_engine.notifications.senders.base import (
    RecipientResult,
    SendResult,
    TransientMailError,
)

_PARSER = BytesParser(policy=policy.default)


@dataclass(frozen=True, kw_only=True)
class MailboxEntry:
    """A summary line of one stored message."""

    key: str
    date: datetime | None
    sender: str
    to: str
    subject: str
    message_id: str


class MaildirMailSender:
    """Delivers every message into the Maildir at `path` (created, parents too, when missing)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _store(self, message: bytes) -> str:
        for folder in ("tmp", "new", "cur"):
            (self.path / folder).mkdir(parents=True, exist_ok=True)
        return mailbox.Maildir(self.path, create=False).add(message)

    async def send(self, data: bytes, *, sender: str, recipients: Sequence[str]) -> SendResult:
        """Store the message; raises TransientMailError when the disk refuses it."""
        envelope = f"Return-Path: <{sender}>\r\nDelivered-To: {', '.join(recipients)}\r\n"
        try:
            key = await asyncio.to_thread(self._store, envelope.encode("ascii", "replace") + data)
        except OSError as error:
            raise TransientMailError(
                f"cannot store the message in {self.path}: {type(error).__name__}: {error}"
            ) from error
        accepted = tuple(
            RecipientResult(address=a, accepted=True, code=250, reply=f"stored {key}")
            for a in recipients
        )
        return SendResult(recipients=accepted, response=f"250 stored in {self.path} as {key}")

    async def close(self) -> None:
        return None


def list_mailbox(path: Path) -> list[MailboxEntry]:
    """Every message in the Maildir at `path`, oldest first (empty when there is none)."""
    if not Path(path, "cur").is_dir():
        return []
    box = mailbox.Maildir(path, create=False)
    entries = []
    for key in box.iterkeys():
        parsed = read_mailbox_message(path, key)
        date = parsed["Date"]
        entries.append(
            MailboxEntry(
                key=key,
                date=parsedate_to_datetime(str(date)) if date else None,
                sender=str(parsed["From"] or ""),
                to=str(parsed["To"] or ""),
                subject=str(parsed["Subject"] or ""),
                message_id=str(parsed["Message-ID"] or ""),
            )
        )
    entries.sort(key=lambda e: (e.date.timestamp() if e.date else 0.0, e.key))
    return entries


def read_mailbox_message(path: Path, key: str) -> EmailMessage:
    """The message stored under `key`; raises KeyError when there is none."""
    box = mailbox.Maildir(path, create=False)
    with box.get_file(key) as handle:
        data = handle.read()
    parsed = _PARSER.parsebytes(data)
    assert isinstance(parsed, EmailMessage)
    return parsed
