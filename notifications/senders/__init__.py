"""Pluggable mail transports: every sender implements `MailSender` from `base`."""

from __future__ import annotations

from cycle_engine.notifications.senders.base import (
    MailError,
    MailSender,
    PermanentMailError,
    RecipientResult,
    SendResult,
    TransientMailError,
)
from cycle_engine.notifications.senders.mailbox import MaildirMailSender
from cycle_engine.notifications.senders.recording import RecordingMailSender
from cycle_engine.notifications.senders.smtp import SmtpMailSender

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
