"""An in-memory mail sender for embedders' tests: keeps every message it is handed.

Shipped in the library (as structlog ships its testing helpers) so a host application can
assert on the emails the engine would send without running a mail server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from cycle_engine.notifications.senders.base import (
    MailError,
    PermanentMailError,
    RecipientResult,
    SendResult,
)


@dataclass(frozen=True)
class RecordedMail:
    """One message as the sender saw it."""

    data: bytes
    sender: str
    recipients: tuple[str, ...]

    @property
    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.data)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


class RecordingMailSender:
    """Records messages; addresses in `refuse` are refused with a 550 like a real server.

    `failures` is a queue of errors to raise on the next sends, in order (to script a retry).
    """

    def __init__(self, *, refuse: Sequence[str] = (), failures: Sequence[MailError] = ()) -> None:
        self.sent: list[RecordedMail] = []
        self.refuse = {address.lower() for address in refuse}
        self.failures = list(failures)

    async def send(self, data: bytes, *, sender: str, recipients: Sequence[str]) -> SendResult:
        if self.failures:
            raise self.failures.pop(0)
        results = tuple(
            RecipientResult(address=a, accepted=False, code=550, reply="mailbox unavailable")
            if a.lower() in self.refuse
            else RecipientResult(address=a, accepted=True, code=250, reply="OK")
            for a in recipients
        )
        if not any(r.accepted for r in results):
            raise PermanentMailError("all recipients refused", 550, results)
        self.sent.append(RecordedMail(data, sender, tuple(recipients)))
        return SendResult(recipients=results, response="250 OK recorded")

    async def close(self) -> None:
        return None
