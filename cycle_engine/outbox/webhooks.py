"""Which engine events become webhook deliveries: outbox rows (channel "webhook") written by a
change listener in the command's own transaction, so a delivery exists exactly when its event
committed. Signing and sending live in `notifications/webhooks.py`, in the same sender loop as
email; this side runs in every engine process (the server, `cycle-engine worker`, the CLI), so
overdue and stalled events from a worker are delivered too.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, select

from cycle_engine.changes import Change
from cycle_engine.outbox.expiry import webhook_expiry
from cycle_engine.store.events import has_webhooks
from cycle_engine.store.tables import FINISHED
from cycle_engine.store.tables.access import WebhookSubscriptionRecord
from cycle_engine.store.tables.outbox import WEBHOOK, OutboxRecord

#: Webhook events that stand for one kind of history event each (its `data` is in the payload).
EVENT_OF_KIND = {
    "product_added": "product.added",
    "stage_overdue": "stage.overdue",
    "stalled": "cycle.stalled",
    "participation_changed": "participation.changed",
    "context_added": "context.added",
    "context_updated": "context.updated",
    "context_reported": "result.reported",
    "question_added": "question.added",
    "questions_answered": "questions.answered",
    "learning_added": "learning.added",
    "due_date_moved": "due_date.moved",
    "focal_point_left": "person.left",
    "organisation_left": "organisation.left",
}


def event_kinds(change: Change) -> list[str]:
    """The webhook event kinds an engine change stands for. A cycle that ends in its first
    final stage is completed; one that ends in another (e.g. cancelled) is cancelled."""
    kind = change.event.kind
    kinds: list[str] = []
    if kind in ("started", "transition") and change.entered is not None:
        kinds.append("stage.entered")
    if kind == "transition" and change.cycle.status == FINISHED:
        finals = change.spec.final_stages
        completed = bool(finals) and change.event.to_state == finals[0]
        kinds.append("cycle.completed" if completed else "cycle.cancelled")
    if kind in EVENT_OF_KIND:
        kinds.append(EVENT_OF_KIND[kind])
    return kinds


def payload(change: Change, kind: str) -> dict[str, Any]:
    """The JSON document POSTed for one event kind of a change."""
    cycle, event = change.cycle, change.event
    visit = change.entered or change.left
    return {
        "event": kind,
        "occurred_at": event.at.isoformat(),
        "alliance_id": cycle.alliance_id,
        "cycle": {
            "id": cycle.id,
            "title": cycle.title,
            "state": cycle.state,
            "status": cycle.status,
            "version": cycle.version,
            "template_key": cycle.template_key,
        },
        "stage": None
        if visit is None
        else {
            "stage": visit.stage,
            "visit": visit.visit,
            "entered_at": visit.entered_at.isoformat(),
            "due_at": visit.due_at.isoformat() if visit.due_at else None,
        },
        "history": {
            "seq": event.seq,
            "kind": event.kind,
            "trigger": event.trigger,
            "from_state": event.from_state,
            "to_state": event.to_state,
            "actor": event.actor,
            "note": event.note,
            "data": event.data,
        },
    }


class WebhookListener:
    """Adds one outbox row per matching subscription for each change (never commits)."""

    def on_change(self, change: Change) -> None:
        cycle = change.cycle
        kinds = event_kinds(change)
        if cycle.alliance_id is None or not kinds:
            return
        assert cycle.id is not None
        if has_webhooks(change.session, cycle.id) is False:
            return  # the cycle's lock saw no active subscription of its alliance
        subscriptions = subscriptions_for(change.session, cycle.alliance_id)
        for kind in kinds:
            document = payload(change, kind)
            for subscription in subscriptions:
                if kind in subscription.events:
                    change.session.add(_row(change, subscription, kind, document))


def subscriptions_for(session: Session, alliance_id: int) -> list[WebhookSubscriptionRecord]:
    query = select(WebhookSubscriptionRecord).where(
        WebhookSubscriptionRecord.alliance_id == alliance_id,
        WebhookSubscriptionRecord.active == True,  # noqa: E712  (SQL expression)
    )
    return list(session.exec(query))


def _row(
    change: Change, subscription: WebhookSubscriptionRecord, kind: str, document: dict[str, Any]
) -> OutboxRecord:
    event = change.event
    delivery = f"wh-{subscription.id}-{change.cycle.id}-{event.seq}-{kind}"
    document = {**document, "delivery_id": delivery}
    visit = change.entered or change.left
    return OutboxRecord(
        channel=WEBHOOK,
        kind=kind,
        cycle_id=change.cycle.id,
        stage=visit.stage if visit else None,
        visit=visit.visit if visit else None,
        rule=f"webhook:{subscription.id}",
        occurrence=event.seq,
        recipient=subscription.url,
        dedupe_key=f"webhook:{subscription.id}:{change.cycle.id}:{event.seq}:{kind}",
        message_id=delivery,
        not_before=change.now,
        next_attempt_at=change.now,
        expires_at=webhook_expiry(change.now),
        created_at=change.now,
        context={
            "subscription_id": subscription.id,
            "body": json.dumps(document, separators=(",", ":"), sort_keys=True),
        },
    )
