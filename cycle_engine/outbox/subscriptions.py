"""`WebhookSubscriptions` (`engine.outbox.subscriptions`): which URLs hear an alliance's events.

A subscription names the event kinds it wants (stage.entered, stage.overdue, cycle.stalled,
cycle.completed, product.added) and carries the secret its deliveries are signed with, shown once
at creation. The deliveries themselves are outbox rows (`outbox.webhooks`); a removed
subscription's pending deliveries fail instead of being sent. Every query and command takes the
caller's `reach`: a subscription of an alliance out of reach is not found, checked inside the
command's transaction. A URL is stored only if the address policy lets requests go to it
(`outbox.addresses`: public addresses, unless the deployment allows internal ones); the sender
checks it again, after resolving the name, before every delivery.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from sqlmodel import Session, col, select

from cycle_engine.alliances.reach import Reach, sees_alliance
from cycle_engine.clock import Clock
from cycle_engine.errors import AllianceNotFound, InvalidInput, RecordNotFound
from cycle_engine.outbox.addresses import PUBLIC_ONLY, AddressPolicy
from cycle_engine.store.db import Database
from cycle_engine.store.tables.access import WEBHOOK_EVENTS, WebhookSubscriptionRecord
from cycle_engine.store.tables.outbox import WEBHOOK, OutboxRecord


def _events(events: Sequence[str]) -> list[str]:
    unknown = [e for e in events if e not in WEBHOOK_EVENTS]
    if unknown:
        raise InvalidInput(
            "events", f"unknown event kinds {unknown}; expected some of {', '.join(WEBHOOK_EVENTS)}"
        )
    return sorted(set(events))


class WebhookSubscriptions:
    """Webhook subscriptions per alliance and their delivery log."""

    def __init__(self, *, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def subscribe(
        self,
        alliance_id: int,
        url: str,
        events: Sequence[str],
        *,
        created_by: str,
        reach: Reach | None = None,
        addresses: AddressPolicy = PUBLIC_ONLY,
    ) -> WebhookSubscriptionRecord:
        """Subscribe `url` to `events` of the alliance; the returned row carries its secret.

        Raises AllianceNotFound (also out of `reach`), InvalidInput for unknown event kinds,
        AddressRefused (an InvalidInput) for a URL `addresses` does not let requests go to.
        """
        kinds = _events(events)
        url = addresses.check_url(url)
        with self.db.transaction() as session:
            if reach is not None and not sees_alliance(session, reach, alliance_id):
                raise AllianceNotFound(alliance_id)
            record = WebhookSubscriptionRecord(
                alliance_id=alliance_id,
                url=url,
                events=kinds,
                secret=f"whsec_{secrets.token_urlsafe(32)}",
                created_at=self.clock.now(),
                created_by=created_by,
            )
            session.add(record)
            session.flush()
            return record

    def of_alliance(
        self, alliance_id: int, *, reach: Reach | None = None
    ) -> list[WebhookSubscriptionRecord]:
        """The alliance's subscriptions, oldest first; raises AllianceNotFound out of `reach`."""
        with self.db.read_session() as session:
            if reach is not None and not sees_alliance(session, reach, alliance_id):
                raise AllianceNotFound(alliance_id)
            query = select(WebhookSubscriptionRecord).where(
                WebhookSubscriptionRecord.alliance_id == alliance_id
            )
            return list(session.exec(query.order_by(col(WebhookSubscriptionRecord.id))))

    def get(self, webhook_id: int, *, reach: Reach | None = None) -> WebhookSubscriptionRecord:
        """One subscription; raises RecordNotFound (also when its alliance is out of `reach`)."""
        with self.db.read_session() as session:
            return self._find(session, webhook_id, reach)

    def update(
        self,
        webhook_id: int,
        *,
        url: str | None = None,
        events: Sequence[str] | None = None,
        active: bool | None = None,
        reach: Reach | None = None,
        addresses: AddressPolicy = PUBLIC_ONLY,
    ) -> WebhookSubscriptionRecord:
        """Change a subscription's URL, events or state; raises RecordNotFound, InvalidInput
        (AddressRefused for a URL `addresses` does not let requests go to)."""
        kinds = None if events is None else _events(events)
        if url is not None:
            url = addresses.check_url(url)
        with self.db.transaction() as session:
            record = self._find(session, webhook_id, reach)
            if url is not None:
                record.url = url
            if kinds is not None:
                record.events = kinds
            if active is not None:
                record.active = active
            session.add(record)
            session.flush()
            return record

    def remove(self, webhook_id: int, *, reach: Reach | None = None) -> None:
        """Remove a subscription; raises RecordNotFound (also out of `reach`)."""
        with self.db.transaction() as session:
            session.delete(self._find(session, webhook_id, reach))

    def deliveries(
        self, webhook_id: int, *, reach: Reach | None = None, limit: int = 50, offset: int = 0
    ) -> list[OutboxRecord]:
        """One page of a subscription's deliveries, newest first; raises RecordNotFound."""
        with self.db.read_session() as session:
            self._find(session, webhook_id, reach)
            query = (
                select(OutboxRecord)
                .where(
                    OutboxRecord.channel == WEBHOOK, OutboxRecord.rule == f"webhook:{webhook_id}"
                )
                .order_by(col(OutboxRecord.id).desc())
                .offset(offset)
                .limit(limit)
            )
            return list(session.exec(query))

    @staticmethod
    def _find(session: Session, webhook_id: int, reach: Reach | None) -> WebhookSubscriptionRecord:
        record = session.get(WebhookSubscriptionRecord, webhook_id)
        if record is None or (
            reach is not None and not sees_alliance(session, reach, record.alliance_id)
        ):
            raise RecordNotFound("webhook", webhook_id)
        return record
