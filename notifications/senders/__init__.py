"""Pluggable mail transports: every sender implements `MailSender` from `base`."""

from __future__ import annotations

from notifications.senders.base import (
    MailError,
    MailSender,
    PermanentMailError,
    RecipientResult,
    SendResult,
    TransientMailError,
)
from notifications.senders.mailbox import MaildirMailSender
from notifications.senders.recording import RecordingMailSender
from notifications.senders.smtp import SmtpMailSender

__all__ = [
    "MailError",
    "MailSender",
    "MaildirMailSender",
    "PermanentMailError",
    "RecipientResult",
    "RecordingMailSender",
    "SendResult",
    "SmtpMailSender",
    "TransientMailError",
]
