"""The outbox's core: deciding, in the transaction of each change, who is emailed what.

    recipients   people by role (lead, active, informed, focal point, deputy, coordinator,
                 manager) and the escalation ladder
    enqueue      one row per person: context, dedupe key, fixed Message-ID, when it may go
    listener     OutboxListener: which events become which emails
    claims       claiming rows with a lease and recording delivery outcomes
    preferences  immediate or daily digest, kinds switched off
    commands     NotificationCommands, the engine mixin (outbox queries, preferences, actions)

Rendering and SMTP live in the `notifications` package, which depends on this one.
"""

from __future__ import annotations
