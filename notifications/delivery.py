"""The outbox sender: claim due rows with a lease, deliver each through its channel, record.

Delivery is generic: a row names its channel ("email", "webhook"), and a `ChannelHandler` per
channel turns the row into an `Outcome` (delivered, retry later, failed for good, suppressed).
`EmailChannel` renders the row's context in the person's language, signs its action links,
attaches the calendar entry to "stage started" emails and hands the message to a `MailSender`;
`WebhookChannel` (`notifications.webhooks`) signs and POSTs a webhook row's body. Both leave
through this one loop, with the same leases, back-off and outcome records.

No database transaction is open while a message is on the wire: a claim commits first, and the
outcome is recorded afterwards, only if this sender still holds the lease. A sender killed
between the server's 250 and that record leaves the row claimed; when the lease expires another
sender sends it again, with the same Message-ID (fixed when the row was created).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from jinja2 import TemplateError

from cycle_engine.clock import Clock
from cycle_engine.notifications.digest import collect_digests
from cycle_engine.notifications.formatting import parse_moment
from cycle_engine.notifications.ics import calendar, stage_entry
from cycle_engine.notifications.links import ActionClaim, LinkSigner
from cycle_engine.notifications.render import Attachment, Renderer, build_message, person_address
from cycle_engine.notifications.senders.base import (
    MailSender,
    PermanentMailError,
    RecipientResult,
    TransientMailError,
)
from cycle_engine.outbox.claims import (
    ClaimPolicy,
    Delivered,
    Failed,
    Outcome,
    RecipientOutcome,
    Retry,
    claim,
    complete,
)
from cycle_engine.outbox.preferences import OPTIONAL_KINDS
from cycle_engine.store.db import Database
from cycle_engine.store.tables.outbox import OutboxRecord


class ChannelHandler(Protocol):
    """Delivers outbox rows of one channel."""

    async def deliver(self, row: OutboxRecord, now: datetime) -> Outcome: ...

    async def close(self) -> None: ...


def _outcomes(results: tuple[RecipientResult, ...]) -> tuple[RecipientOutcome, ...]:
    return tuple(
        RecipientOutcome(address=r.address, accepted=r.accepted, code=r.code, reply=r.reply)
        for r in results
    )


class EmailChannel:
    """Renders an email row and sends it with a MailSender."""

    def __init__(
        self,
        mailer: MailSender,
        renderer: Renderer,
        links: LinkSigner,
        sender_address: str,
        sender_name: str = "Cycle Engine",
    ) -> None:
        self.mailer = mailer
        self.renderer = renderer
        self.links = links
        self.envelope_sender = sender_address
        self.from_header = person_address(sender_name, sender_address)

    def _links(self, context: Mapping[str, Any], person_id: int, nonce: str) -> dict[str, str]:
        stage = context.get("stage") or {}
        cycle = context.get("cycle") or {}
        if stage.get("visit_id") is None or cycle.get("id") is None:
            return {}
        return {
            action: self.links.action_url(
                ActionClaim(
                    action=action,
                    person_id=person_id,
                    cycle_id=int(cycle["id"]),
                    stage_visit_id=int(stage["visit_id"]),
                    nonce=nonce,
                )
            )
            for action in context.get("actions", [])
        }

    def compose(self, row: OutboxRecord, now: datetime) -> bytes:
        """The full message for `row`; raises jinja2 errors or ValueError when it cannot be made."""
        assert row.person_id is not None
        context = dict(row.context)
        nonce = f"m{row.id}"
        context["links"] = self._links(context, row.person_id, nonce)
        if row.kind == "digest":
            context["items"] = [
                {**item, "links": self._links(item, row.person_id, f"m{item.get('id')}")}
                for item in context.get("items", [])
            ]
        unsubscribe = self.links.unsubscribe_url(row.person_id, row.kind)
        context["unsubscribe_url"] = unsubscribe
        optional = row.kind in OPTIONAL_KINDS
        context["preferences_url"] = self.links.preferences_url(row.person_id)
        if row.kind == "stage_started":
            context["calendar_url"] = self.links.calendar_url(row.person_id)
        rendered = self.renderer.render(row.kind, row.language, context)
        name = str((context.get("person") or {}).get("name", ""))
        return build_message(
            rendered,
            sender=self.from_header,
            to=person_address(name, row.recipient),
            message_id=row.message_id,
            date=now,
            headers={
                **(
                    {
                        "List-Unsubscribe": f"<{unsubscribe}>",
                        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                    }
                    if optional
                    else {}
                ),
                "Auto-Submitted": "auto-generated",
                "X-Cycle-Engine-Kind": row.kind,
            },
            attachments=self._attachments(row, context, now),
        )

    def _attachments(
        self, row: OutboxRecord, context: Mapping[str, Any], now: datetime
    ) -> list[Attachment]:
        stage, cycle = context.get("stage") or {}, context.get("cycle") or {}
        if row.kind != "stage_started" or not stage.get("due_at"):
            return []
        entry = stage_entry(
            int(cycle["id"]),
            str(cycle["title"]),
            str(stage["title"]),
            int(stage["visit_id"]),
            parse_moment(stage["due_at"]),
            url=context["calendar_url"],
            description=str(stage["description"]),
        )
        return [
            Attachment(
                filename="deadline.ics",
                content=calendar([entry], now),
                maintype="text",
                subtype="calendar",
                params={"method": "PUBLISH"},
            )
        ]

    async def deliver(self, row: OutboxRecord, now: datetime) -> Outcome:
        try:
            message = self.compose(row, now)
        except (TemplateError, ValueError, KeyError) as error:
            return Failed(error=f"cannot compose the email: {type(error).__name__}: {error}")
        try:
            result = await self.mailer.send(
                message, sender=self.envelope_sender, recipients=[row.recipient]
            )
        except TransientMailError as error:
            return Retry(error=error.describe())
        except PermanentMailError as error:
            return Failed(error=error.describe(), recipients=_outcomes(error.recipients))
        return Delivered(recipients=_outcomes(result.recipients), response=result.response)

    async def close(self) -> None:
        await self.mailer.close()


@dataclass
class DeliveryReport:
    """Counts of one or more sender passes."""

    claimed: int = 0
    recorded: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    digests: int = 0

    def add(self, other: DeliveryReport) -> None:
        self.claimed += other.claimed
        self.recorded += other.recorded
        self.digests += other.digests
        for name, count in other.outcomes.items():
            self.outcomes[name] = self.outcomes.get(name, 0) + count


class OutboxSender:
    """Delivers outbox rows; run any number of these against one database.

    Args:
        db: the engine's database.
        clock: the engine's clock (leases, back-off and digest hours use it).
        channels: a handler per channel name ("email", "webhook").
        policy: lease, batch, hourly cap, attempts and back-off.
        owner: this sender's lease name (default: random).
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        channels: Mapping[str, ChannelHandler],
        *,
        policy: ClaimPolicy | None = None,
        owner: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.channels = dict(channels)
        self.policy = policy or ClaimPolicy()
        self.owner = owner or f"sender-{uuid.uuid4().hex[:12]}"
        self.rng = rng or random.Random()

    async def run_once(self) -> DeliveryReport:
        """Fold due digests, then claim one batch, deliver it and record the outcomes."""
        now = self.clock.now()
        report = DeliveryReport()
        if "email" in self.channels:
            report.digests = await asyncio.to_thread(collect_digests, self.db, now)
        rows = await asyncio.to_thread(
            claim,
            self.db,
            owner=self.owner,
            now=now,
            channels=tuple(self.channels),
            policy=self.policy,
        )
        report.claimed = len(rows)
        if not rows:
            return report
        outcomes = await asyncio.gather(*(self._deliver(row, now) for row in rows))
        for outcome in outcomes:
            name = type(outcome).__name__.lower()
            report.outcomes[name] = report.outcomes.get(name, 0) + 1
        report.recorded = await asyncio.to_thread(
            complete,
            self.db,
            owner=self.owner,
            now=self.clock.now(),
            results=list(zip(rows, outcomes, strict=True)),
            policy=self.policy,
            rng=self.rng,
        )
        return report

    async def _deliver(self, row: OutboxRecord, now: datetime) -> Outcome:
        handler = self.channels[row.channel]
        try:
            return await handler.deliver(row, now)
        except Exception as error:  # a handler bug must not lose the row: retry it later
            return Retry(error=f"{type(error).__name__}: {error}")

    async def run_until_idle(self, *, max_passes: int = 10_000) -> DeliveryReport:
        """Repeat `run_once` until nothing is due (or `max_passes`)."""
        total = DeliveryReport()
        for _ in range(max_passes):
            report = await self.run_once()
            total.add(report)
            if report.claimed == 0:
                break
        return total

    async def run_forever(self, stop: asyncio.Event, *, interval: float = 5.0) -> None:
        """Deliver until `stop` is set, sleeping `interval` seconds when idle."""
        while not stop.is_set():
            report = await self.run_until_idle()
            if report.claimed == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=interval)

    async def close(self) -> None:
        for handler in self.channels.values():
            await handler.close()
