"""Assembling a ready outbox sender from settings, and running it in the background.

One sender delivers every channel: email and webhooks. With an SMTP server configured, mail
goes through `SmtpMailSender`; without one it goes to the development Maildir under the data
directory, so `make run` works with nothing else installed and every email can be read
(`cycle-engine mail list|show`). Webhooks are signed POSTs (`notifications.webhooks`). The API's
background services and `cycle-engine mail send` call `build_outbox_sender` once with settings
they loaded, so both deliver the same channels.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from cycle_engine.engine import CycleEngine
from cycle_engine.notifications.delivery import ChannelHandler, EmailChannel, OutboxSender
from cycle_engine.notifications.links import LinkSigner
from cycle_engine.notifications.render import Renderer
from cycle_engine.notifications.senders.base import MailSender
from cycle_engine.notifications.senders.mailbox import MaildirMailSender
from cycle_engine.notifications.senders.smtp import SmtpMailSender
from cycle_engine.notifications.settings import MailSettings
from cycle_engine.notifications.webhooks import WebhookChannel
from cycle_engine.outbox.claims import ClaimPolicy
from cycle_engine.store.tables.outbox import EMAIL, WEBHOOK

log = logging.getLogger("cycle_engine.notifications")


def build_mail_sender(settings: MailSettings) -> MailSender:
    """SMTP when configured, else the development Maildir (never a silent discard)."""
    if settings.smtp is not None:
        return SmtpMailSender(settings.smtp)
    return MaildirMailSender(settings.mailbox_dir)


def build_link_signer(engine: CycleEngine, settings: MailSettings) -> LinkSigner:
    return LinkSigner(settings.secret_key, settings.base_url, engine.clock)


def build_outbox_sender(
    engine: CycleEngine,
    settings: MailSettings,
    *,
    mailer: MailSender | None = None,
    renderer: Renderer | None = None,
    webhooks: ChannelHandler | None = None,
    owner: str | None = None,
) -> OutboxSender:
    """An OutboxSender for `engine` delivering email and webhooks.

    `mailer`, `renderer` and `webhooks` replace the defaults built from `settings` (a recording
    mail sender in tests, for example).
    """
    email = EmailChannel(
        mailer or build_mail_sender(settings),
        renderer or Renderer(),
        build_link_signer(engine, settings),
        settings.envelope_sender,
        settings.sender_name or "Cycle Engine",
        concurrency=settings.smtp.pool_size if settings.smtp is not None else 4,
    )
    policy = ClaimPolicy(hourly_cap=settings.hourly_cap)
    return OutboxSender(
        engine.db,
        engine.clock,
        {EMAIL: email, WEBHOOK: webhooks or WebhookChannel(engine.db)},
        policy=policy,
        owner=owner,
    )


class SenderService:
    """The sender loop as a background service (`start` / `stop`) beside the API in `serve`.

    Not to be confused with the engine's `OutboxService` (`engine.outbox`), which decides and
    queries what is sent.
    """

    name = "outbox sender"

    def __init__(self, sender: OutboxSender, *, interval: float = 5.0) -> None:
        self.sender = sender
        self.interval = interval
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.sender.run_forever(self._stop, interval=self.interval)
            except Exception:  # keep sending after a database hiccup; the rows wait safely
                log.exception("outbox sender pass failed; retrying")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=self.interval)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.sender.close()
