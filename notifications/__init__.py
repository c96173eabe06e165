"""Notifications: render outbox rows into emails and deliver them, once, in each person's language.

The decision of *who* gets *what* lives in the core (`cycle_engine.outbox`) because it must be
written in the same transaction as the event that causes it. This package does the rest:

    settings       SMTP and link settings, read from the environment once by the app or CLI
    senders/       MailSender protocol (base), aiosmtplib with a pool (smtp), an in-memory
                   recorder for tests (recording), and a development Maildir (mailbox)
    render         one Jinja2 environment: text + HTML parts per kind and language, safe headers
    delivery       the outbox sender loop: claim with a lease, render, send, mark, back off
    digest         folds a person's pending notices into one daily email at their local hour
    links          signed, expiring, per-action links (itsdangerous)
    actions        acknowledge / mark done / ask for more time / snooze, once, through the engine
    ics            calendar feed and attachments (RFC 5545)
    cli            `cycle-engine mail send|list|show`

Dependencies point one way: api -> notifications -> cycle_engine.
"""

from __future__ import annotations
