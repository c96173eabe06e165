"""The development mailbox: with no SMTP server configured, mail goes to a Maildir on disk.

A Maildir (`data/mailbox/{cur,new,tmp}`) is written atomically one file per message and is
readable by `cycle-engine mail list|show`, by mutt (`mutt -f data/mailbox`), and by the
dashboard. Nothing is sent anywhere and nothing is discarded.
"""

from __future__ import annotations

import mailbox
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path

from cycle_engine.notifications.senders.base import RecipientResult, SendResult

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
    """Delivers every message into the Maildir at `path` (created when missing)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    async def send(self, data: bytes, *, sender: str, recipients: Sequence[str]) -> SendResult:
        box = mailbox.Maildir(self.path, create=True)
        envelope = f"Return-Path: <{sender}>\r\nDelivered-To: {', '.join(recipients)}\r\n"
        key = box.add(envelope.encode("ascii", "replace") + data)
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
