"""Notifications: render outbox rows and deliver them (emails in each person's language, signed
webhooks), once, through one sender loop.

The decision of *who* is told *what* (emails, webhooks, nudges) lives in the core
(`cycle_engine.outbox`) because it must be written in the same transaction as the event that
causes it. This package does the rest, and decides nobody's recipients:

    settings       SMTP and link settings, read from the environment once by the app or CLI
    senders/       MailSender protocol (base), aiosmtplib with a pool (smtp), an in-memory
                   recorder for tests (recording), and a development Maildir (mailbox)
    render         one Jinja2 environment: text + HTML parts per kind and language, safe headers
    delivery       the outbox sender for every channel (`OutboxSender`) and the email channel:
                   render, say when late, send
    pipeline       one sender pass: claims just ahead of the wire, leases renewed while held,
                   each outcome recorded as soon as it is known
    webhooks       signed POSTs for rows of channel "webhook", and `verify_signature`
    service        the sender built from settings (email + webhooks), as a background service
    digest         folds a person's pending notices into one daily email at their local hour
    links          signed, expiring, per-action links (itsdangerous)
    actions        acknowledge / mark done / ask for more time / snooze, once, through the engine
    level_page     the email link's page where a partner proposes its organisation's levels
    ics            calendar feed and attachments (RFC 5545)
    cli            `cycle-engine mail send|list|show|outbox` (send delivers every channel)

Dependencies point one way: api -> notifications -> cycle_engine.
"""

from __future__ import annotations
