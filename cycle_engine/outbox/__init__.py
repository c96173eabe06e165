"""The outbox: deciding, in the transaction of each change, who is told what.

Every email, webhook delivery and nudge becomes an outbox row here, in the command's own
transaction; nothing outside this package chooses recipients.

    recipients   people by role (lead, active, informed, focal point, deputy, coordinator,
                 manager) and the escalation ladder
    enqueue      one row per person: context, dedupe key, fixed Message-ID, when it may go
    listener     OutboxListener: which events become which emails
    webhooks     WebhookListener: which events become deliveries to which subscriptions
    nudges       a coordinator's nudge: an event plus reminders to the open step's people
    signin       the dashboard's sign-in email: to whom, how often, what it carries
    preferences  immediate or daily digest, kinds switched off
    expiry       how long each notice stays worth sending (retried until then, never by count)
    claims       claiming rows with a lease, renewing and giving it back, recording outcomes
    commands     OutboxService (`engine.outbox`): outbox queries, preferences, email actions,
                 nudges
    level_choice partners choose their organisation's level from an email link (the proposal
                 command of `alliances.proposals`, once per link)

Rendering, signing and sending (SMTP, development mailbox, webhook POSTs) live in the
`notifications` package, which depends on this one.
"""

from __future__ import annotations
