"""Webhook delivery: one signed POST per outbox row of channel "webhook".

Which events become deliveries, and for which subscriptions, is decided in
`cycle_engine.outbox.webhooks`, in the command's own transaction. This module only signs and
sends, from the same sender loop as email (`notifications.delivery`), so wherever that loop runs
(`serve`, `cycle-engine mail send`) webhooks leave too, with the outbox's lease and retries.
Each POST is signed at send time (a retry carries a fresh timestamp):

    X-CycleEngine-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>

A receiver recomputes the HMAC over the timestamp and the raw body with its subscription
secret, compares in constant time and refuses old timestamps (`verify_signature`). The rows of
one batch are POSTed concurrently and a retried row arrives late, so receivers order events by
the body's `history.seq` (per cycle) rather than by arrival, and drop repeats by
`X-CycleEngine-Delivery` (at least once, like every outbox row).

Before each POST the receiver's name is resolved and every address checked against the address
policy (`cycle_engine.outbox.addresses`: public addresses, plus the deployment's
CYCLE_ENGINE_WEBHOOK_ALLOW); the POST goes to the address that was checked, so a DNS answer
that changes in between cannot send it inside. A refused address fails the delivery for good.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import datetime

import httpx

from cycle_engine.outbox.addresses import AddressPolicy, AddressRefused
from cycle_engine.outbox.claims import Delivered, Failed, Outcome, Retry
from cycle_engine.store.db import Database
from cycle_engine.store.tables.access import WebhookSubscriptionRecord
from cycle_engine.store.tables.outbox import WEBHOOK, OutboxRecord

SIGNATURE_HEADER = "X-CycleEngine-Signature"
EVENT_HEADER = "X-CycleEngine-Event"
DELIVERY_HEADER = "X-CycleEngine-Delivery"
TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """Whether `header` signs `body` with `secret` within `tolerance` seconds of `now`."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass(frozen=True, kw_only=True)
class WebhookRequest:
    """What `WebhookSender` POSTs: the URL, the raw body and the signed headers."""

    url: str
    body: bytes
    headers: dict[str, str]


def build_request(
    row: OutboxRecord, subscription: WebhookSubscriptionRecord, now: float | None = None
) -> WebhookRequest:
    """The signed request for one outbox row (signed at send time, so retries are fresh)."""
    body = str(row.context["body"]).encode()
    timestamp = int(time.time() if now is None else now)
    return WebhookRequest(
        url=subscription.url,
        body=body,
        headers={
            "Content-Type": "application/json",
            "User-Agent": "cycle-engine-webhooks/1",
            SIGNATURE_HEADER: sign(subscription.secret, timestamp, body),
            EVENT_HEADER: row.kind,
            DELIVERY_HEADER: row.message_id,
        },
    )


class WebhookDeliveryError(Exception):
    """A delivery failed; `permanent` says retrying cannot help (e.g. 410, subscription gone);
    `status` is the receiver's answer, `maybe_delivered` when no answer came after sending."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        status: int | None = None,
        maybe_delivered: bool = False,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.status = status
        self.maybe_delivered = maybe_delivered


class WebhookSender:
    """Delivers one outbox row of channel "webhook": a signed POST, 2xx means delivered.

    4xx answers (except 408 and 429) and removed or paused subscriptions are permanent
    failures; 5xx, timeouts and connection errors are transient (the outbox retries them).
    The HTTP client is opened on first use and released by `aclose`, after which the sender
    may be used again (in another event loop, too).
    """

    channel = WEBHOOK

    def __init__(
        self,
        db: Database,
        *,
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
        addresses: AddressPolicy | None = None,
    ) -> None:
        self.db = db
        self.timeout = timeout
        self._client = client
        #: Where POSTs may go; CYCLE_ENGINE_WEBHOOK_ALLOW (read now) when not given.
        self.addresses = addresses if addresses is not None else AddressPolicy.from_env()

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def _subscription(self, row: OutboxRecord) -> WebhookSubscriptionRecord:
        with self.db.read_session() as session:
            subscription = session.get(
                WebhookSubscriptionRecord, int(row.context.get("subscription_id", 0))
            )
        if subscription is None:
            raise WebhookDeliveryError("the subscription was removed", permanent=True)
        if not subscription.active:
            raise WebhookDeliveryError("the subscription is paused", permanent=True)
        return subscription

    async def send(self, row: OutboxRecord) -> int:
        """POST the row's body, signed now; returns the receiver's status code.

        Raises:
            WebhookDeliveryError: the subscription is gone or paused, its address is refused,
                the receiver could not be reached, or it answered other than 2xx.
        """
        subscription = await asyncio.to_thread(self._subscription, row)
        request = build_request(row, subscription)
        try:
            target = await asyncio.to_thread(self.addresses.resolve, request.url)
        except AddressRefused as refused:
            raise WebhookDeliveryError(f"refused: {refused.message}", permanent=True) from None
        except OSError as error:
            raise WebhookDeliveryError(
                f"cannot resolve the receiver: {error}", permanent=False
            ) from error
        try:
            response = await self._http().post(
                target.url,
                content=request.body,
                headers={**request.headers, **target.headers},
                extensions=dict(target.extensions),
            )
        except httpx.HTTPError as error:
            raise WebhookDeliveryError(
                f"{type(error).__name__}: {error}",
                permanent=False,
                maybe_delivered=isinstance(error, httpx.ReadTimeout | httpx.RemoteProtocolError),
            ) from error
        if 200 <= response.status_code < 300:
            return response.status_code
        permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
        raise WebhookDeliveryError(
            f"the receiver answered {response.status_code}",
            permanent=permanent,
            status=response.status_code,
        )


class WebhookChannel:
    """The sender loop's handler for channel "webhook" (see `notifications.delivery`):
    delivered on 2xx, retried on transient failures until the row expires, failed for good on
    permanent ones; up to `concurrency` POSTs at a time."""

    def __init__(
        self,
        db: Database,
        *,
        timeout: float = 10.0,
        sender: WebhookSender | None = None,
        concurrency: int = 8,
        addresses: AddressPolicy | None = None,
    ) -> None:
        self.sender = sender or WebhookSender(db, timeout=timeout, addresses=addresses)
        self.concurrency = concurrency

    async def deliver(self, row: OutboxRecord, now: datetime) -> Outcome:
        try:
            status = await self.sender.send(row)
        except WebhookDeliveryError as error:
            reply = f"HTTP {error.status}" if error.status is not None else None
            if error.permanent:
                return Failed(error=str(error), reply=reply)
            return Retry(error=str(error), reply=reply, maybe_delivered=error.maybe_delivered)
        return Delivered(response=f"HTTP {status}")

    async def close(self) -> None:
        await self.sender.aclose()
