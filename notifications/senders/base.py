"""The mail transport interface and what a send can answer.

    MailError                 a send did not reach every recipient
    ├── TransientMailError    try again later (4xx, refused or dropped connection, timeout,
    │                         a server without the STARTTLS the settings require)
    └── PermanentMailError    give up (5xx, an address the server cannot take): the server's
                              reply is kept for coordinators

Messages travel as bytes (built by `notifications.render.build_message`). A sender returns
`SendResult` when the server accepted the message for at least one recipient;
refused addresses are listed in it one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, kw_only=True)
class RecipientResult:
    """The server's answer for one address."""

    address: str
    accepted: bool
    code: int | None = None
    reply: str | None = None


@dataclass(frozen=True, kw_only=True)
class SendResult:
    """Accepted for at least one address; `recipients` has one entry per envelope address."""

    recipients: tuple[RecipientResult, ...]
    response: str = ""

    @property
    def refused(self) -> tuple[RecipientResult, ...]:
        return tuple(r for r in self.recipients if not r.accepted)


@dataclass(eq=False)
class MailError(Exception):
    """A send failed; `code` and `message` carry the server's answer when there was one.

    `maybe_delivered`: the server may have taken the message anyway (no answer came after the
    data was sent), so a later attempt may deliver a second copy.
    """

    message: str
    code: int | None = None
    recipients: tuple[RecipientResult, ...] = field(default=())
    maybe_delivered: bool = False

    def __post_init__(self) -> None:
        super().__init__(self.describe())

    def describe(self) -> str:
        return f"{self.code} {self.message}" if self.code is not None else self.message

    @property
    def reply(self) -> str | None:
        """The server's own reply (code and text), when it answered."""
        refused = next((r for r in self.recipients if r.reply and r.code is not None), None)
        if refused is not None:
            return f"{refused.code} {refused.reply}"
        return self.describe() if self.code is not None else None


class TransientMailError(MailError):
    """Worth retrying later: a 4xx reply, a dropped connection, a timeout."""


class PermanentMailError(MailError):
    """Will not succeed by retrying: a 5xx reply or an address the server cannot take."""


class MailSender(Protocol):
    """Hands one message to a mail transport."""

    async def send(self, data: bytes, *, sender: str, recipients: Sequence[str]) -> SendResult:
        """Send the RFC 5322 message `data` (CRLF lines) from the envelope `sender` to the
        envelope `recipients`; raises TransientMailError or PermanentMailError when no
        recipient accepted it."""
        ...

    async def close(self) -> None:
        """Release connections; the sender may be used again afterwards."""
        ...
