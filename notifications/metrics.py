"""Counting what the sender does, for the metrics a `mail send --forever` process exports:
deliveries per channel and outcome, and the SMTP server's replies by class.

The delivery loop stays as it is: `instrument(sender, metrics)` wraps each channel handler (and
the email channel's mail sender) in a counting one with the same interface, so the numbers come
from the outcomes the loop records, never from a second opinion. Each delivery also runs inside a
log context naming its message, cycle and outbox row, so every line it logs says which message
it was about.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from cycle_engine.logs import log_context
from cycle_engine.notifications.delivery import EmailChannel, OutboxSender
from cycle_engine.notifications.pipeline import ChannelHandler
from cycle_engine.notifications.senders.base import MailError, MailSender, SendResult
from cycle_engine.outbox.claims import Outcome
from cycle_engine.store.tables.outbox import OutboxRecord

log = logging.getLogger("cycle_engine.notifications")


class DeliveryCounts(Protocol):
    """Where deliveries are counted: the process's `EngineMetrics`, or a sender process's link
    to the API process that started it (`notifications.process`)."""

    def record_delivery(self, channel: str, outcome: str) -> None: ...

    def record_smtp_reply(self, code: int | None) -> None: ...


class CountingMailSender:
    """A MailSender that counts the SMTP reply to each recipient of each message it hands on."""

    def __init__(self, inner: MailSender, metrics: DeliveryCounts) -> None:
        self.inner = inner
        self.metrics = metrics

    async def send(self, data: bytes, *, sender: str, recipients: Sequence[str]) -> SendResult:
        try:
            result = await self.inner.send(data, sender=sender, recipients=recipients)
        except MailError as error:
            for refused in error.recipients or ():
                self.metrics.record_smtp_reply(refused.code)
            if not error.recipients:
                self.metrics.record_smtp_reply(error.code)
            raise
        for answer in result.recipients:
            self.metrics.record_smtp_reply(answer.code if answer.code else 250)
        return result

    async def close(self) -> None:
        await self.inner.close()


def _alliance(row: OutboxRecord) -> object:
    """The alliance a row is about: a webhook's id, an email's name (what its context holds)."""
    context = row.context or {}
    named = context.get("alliance")
    return context.get("alliance_id") or (named.get("name") if isinstance(named, dict) else None)


class CountingChannel:
    """A ChannelHandler that counts each outcome of the channel it wraps, per channel."""

    def __init__(self, inner: ChannelHandler, channel: str, metrics: DeliveryCounts) -> None:
        self.inner = inner
        self.channel = channel
        self.metrics = metrics

    @property
    def concurrency(self) -> int:
        return self.inner.concurrency

    async def deliver(self, row: OutboxRecord, now: datetime) -> Outcome:
        with log_context(message_id=row.message_id, cycle_id=row.cycle_id, alliance=_alliance(row)):
            outcome = await self.inner.deliver(row, now)
            name = type(outcome).__name__.lower()
            log.info(
                "%s %s (outbox %s, attempt %s): %s",
                self.channel,
                row.kind,
                row.id,
                row.attempts,
                name,
            )
        self.metrics.record_delivery(self.channel, name)
        return outcome

    async def close(self) -> None:
        await self.inner.close()


def instrument(sender: OutboxSender, metrics: DeliveryCounts, *, smtp: bool) -> OutboxSender:
    """Count `sender`'s deliveries into `metrics` (and, with `smtp`, the SMTP replies)."""
    for name, handler in list(sender.channels.items()):
        if smtp and isinstance(handler, EmailChannel):
            handler.mailer = CountingMailSender(handler.mailer, metrics)
        sender.channels[name] = CountingChannel(handler, name, metrics)
    return sender
