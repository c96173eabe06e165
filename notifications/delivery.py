"""The outbox sender: claim due rows with a lease, deliver each through its channel, record.

Delivery is generic: a row names its channel ("email", "webhook"), and a `ChannelHandler` per
channel turns the row into an `Outcome` (delivered, retry later, failed for good, suppressed).
`EmailChannel` renders the row's context in the person's language, signs its action links,
attaches the calendar entry to "stage started" emails, says so when the email goes out late,
marks a possible second copy, and hands the message to a `MailSender`; `WebhookChannel`
(`notifications.webhooks`) signs and POSTs a webhook row's body. Both leave through this one
loop (`OutboxSender`), with the same leases, heartbeat, back-off and outcome records; how one
pass keeps the wire busy while holding only what it works on is `notifications.pipeline`.

A sender killed between the server's 250 and the record leaves only the few rows it held
claimed; when their lease runs out another sender sends them again as the same attempt, with the
same Message-ID (fixed when the row was created), marked as a possible duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from jinja2 import TemplateError

from cycle_engine.clock import Clock
from cycle_engine.notifications.batches import BatchThread
from cycle_engine.notifications.digest import collect_digests
from cycle_engine.notifications.formatting import parse_moment
from cycle_engine.notifications.ics import calendar, stage_entry
from cycle_engine.notifications.links import EmailItem, EmailLinks, LinkSigner
from cycle_engine.notifications.pipeline import ChannelHandler, DeliveryReport, SenderPass
from cycle_engine.notifications.render import Attachment, Renderer, build_message, person_address
from cycle_engine.notifications.senders.base import (
    MailSender,
    PermanentMailError,
    RecipientResult,
    TransientMailError,
)
from cycle_engine.notifications.template_texts import localize_context
from cycle_engine.outbox.claims import (
    ClaimPolicy,
    Delivered,
    Failed,
    Outcome,
    RecipientOutcome,
    Retry,
)
from cycle_engine.outbox.preferences import OPTIONAL_KINDS
from cycle_engine.store.db import Database
from cycle_engine.store.tables.outbox import EMAIL, OutboxRecord

__all__ = ["ChannelHandler", "DeliveryReport", "EmailChannel", "OutboxSender"]

#: An email sent this long after it was first due says, in its text, that it is late.
LATE_AFTER = timedelta(minutes=30)
#: The header a possible second copy carries (same Message-ID as the first).
POSSIBLE_DUPLICATE_HEADER = "X-Cycle-Engine-Possible-Duplicate"


def _outcomes(results: tuple[RecipientResult, ...]) -> tuple[RecipientOutcome, ...]:
    return tuple(
        RecipientOutcome(address=r.address, accepted=r.accepted, code=r.code, reply=r.reply)
        for r in results
    )


class EmailChannel:
    """Renders an email row and sends it with a MailSender, `concurrency` at a time (the SMTP
    connection pool's size: more would only wait for a connection while holding a lease)."""

    def __init__(
        self,
        mailer: MailSender,
        renderer: Renderer,
        links: LinkSigner,
        sender_address: str,
        sender_name: str = "Cycle Engine",
        *,
        concurrency: int = 4,
    ) -> None:
        self.mailer = mailer
        self.renderer = renderer
        self.links = links
        self.envelope_sender = sender_address
        self.from_header = person_address(sender_name, sender_address)
        self.concurrency = concurrency
        self._composing: BatchThread[bytes] = BatchThread("compose")

    def _email_links(self, row: OutboxRecord) -> tuple[EmailLinks, list[dict[str, str]]]:
        """The email's one signed token, and the action links of its stage (first) and of each
        digest item after it (the token names an item by its place, `EmailLinks.action_url`)."""
        assert row.person_id is not None
        sections: list[Mapping[str, Any]] = [row.context]
        nonces = [f"m{row.id}"]
        if row.kind == "digest":
            sections += row.context.get("items", [])
            nonces += [f"m{item.get('id')}" for item in row.context.get("items", [])]
        items: list[EmailItem] = []
        places: list[int | None] = []
        for section, nonce in zip(sections, nonces, strict=True):
            stage, cycle = section.get("stage") or {}, section.get("cycle") or {}
            actions = tuple(section.get("actions", []))
            if stage.get("visit_id") is None or cycle.get("id") is None or not actions:
                places.append(None)
                continue
            places.append(len(items))
            items.append(
                EmailItem(
                    cycle_id=int(cycle["id"]),
                    stage_visit_id=int(stage["visit_id"]),
                    nonce=nonce,
                    actions=actions,
                )
            )
        links = self.links.email_links(row.person_id, row.kind, items)
        urls = [
            {}
            if place is None
            else {action: links.action_url(action, place) for action in items[place].actions}
            for place in places
        ]
        return links, urls

    def _results_links(self, context: dict[str, Any], person_id: int) -> dict[str, Any]:
        """Signed download links for stored files and the cycle report's address."""
        details = dict(context.get("details") or {})
        details["products"] = [
            {**p, "download_url": self.links.product_url(person_id, int(p["id"]))}
            if p.get("file")
            else p
            for p in details.get("products", [])
        ]
        details["report_url"] = f"{self.links.base_url}{details.get('report_path', '')}"
        return {"details": details}

    def compose(self, row: OutboxRecord, now: datetime) -> bytes:
        """The full message for `row`; raises jinja2 errors or ValueError when it cannot be made."""
        assert row.person_id is not None
        context = localize_context(dict(row.context), row.language)
        links, action_urls = self._email_links(row)
        context["links"] = action_urls[0]
        if row.kind == "digest":
            context["items"] = [
                {**item, "links": urls}
                for item, urls in zip(context.get("items", []), action_urls[1:], strict=True)
            ]
        unsubscribe = links.unsubscribe_url
        context["unsubscribe_url"] = unsubscribe
        optional = row.kind in OPTIONAL_KINDS
        context["preferences_url"] = links.preferences_url
        if row.kind == "stage_started":
            context["calendar_url"] = links.calendar_url
        if row.kind == "stage_results":
            context.update(self._results_links(context, row.person_id))
        due = row.first_due_at or row.next_attempt_at
        if now - due > LATE_AFTER:
            context["late"] = {"due_at": due.isoformat()}
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
                **({POSSIBLE_DUPLICATE_HEADER: "yes"} if row.possible_duplicate else {}),
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
            timezone=context.get("timezone"),
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
        try:  # rendered and signed in the composing thread, while other messages are sent
            message = await self._composing.run(functools.partial(self.compose, row, now))
        except (TemplateError, ValueError, KeyError) as error:
            return Failed(error=f"cannot compose the email: {type(error).__name__}: {error}")
        try:
            result = await self.mailer.send(
                message, sender=self.envelope_sender, recipients=[row.recipient]
            )
        except TransientMailError as error:
            return Retry(
                error=error.describe(), reply=error.reply, maybe_delivered=error.maybe_delivered
            )
        except PermanentMailError as error:
            return Failed(
                error=error.describe(), reply=error.reply, recipients=_outcomes(error.recipients)
            )
        return Delivered(recipients=_outcomes(result.recipients), response=result.response)

    async def close(self) -> None:
        await self.mailer.close()
        self._composing.close()


class OutboxSender:
    """Delivers outbox rows; run any number of these against one database.

    Args:
        db: the engine's database.
        clock: the engine's clock (leases, back-off, expiry and digest hours use it; the
            heartbeat's period is real time).
        channels: a handler per channel name ("email", "webhook").
        policy: lease, batch, hourly cap and back-off.
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
        """Fold due digests, then deliver up to `policy.batch` due rows (`SenderPass`), each
        outcome recorded as soon as it is known; returns once every claimed row is recorded."""
        report = DeliveryReport()
        if EMAIL in self.channels:
            report.digests = await asyncio.to_thread(collect_digests, self.db, self.clock.now())
        await SenderPass(
            db=self.db,
            clock=self.clock,
            channels=self.channels,
            policy=self.policy,
            owner=self.owner,
            rng=self.rng,
            report=report,
        ).run()
        return report

    async def run_until_idle(
        self, *, max_passes: int = 10_000, stop: asyncio.Event | None = None
    ) -> DeliveryReport:
        """Repeat `run_once` until nothing is due (or `max_passes`, or `stop` is set: checked
        between passes, so a stop waits for at most one pass, `policy.batch` rows)."""
        total = DeliveryReport()
        for _ in range(max_passes):
            if stop is not None and stop.is_set():
                break
            report = await self.run_once()
            total.add(report)
            if report.claimed == 0 and report.settled == 0:
                break
        return total

    async def run_forever(self, stop: asyncio.Event, *, interval: float = 5.0) -> None:
        """Deliver until `stop` is set, sleeping `interval` seconds when idle. A stop lets the
        pass under way finish (its rows sent and recorded) and starts no other, however many
        rows are still due: they wait in the outbox for the next start."""
        while not stop.is_set():
            report = await self.run_until_idle(stop=stop)
            if report.claimed == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=interval)

    async def close(self) -> None:
        for handler in self.channels.values():
            await handler.close()
