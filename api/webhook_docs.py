"""The OpenAPI document's `webhooks` section: one entry per event a subscription can hear, with
its payload's schema and the headers that sign it (the README says how to verify them).

The payloads are built in `cycle_engine.outbox.webhooks.payload`; the models here describe them
for clients, and a test compares real deliveries against them. The list of events is the
engine's own (`WEBHOOK_EVENTS`), so the document cannot miss one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Header
from pydantic import BaseModel, Field

from cycle_engine.outbox.webhooks import EVENT_OF_KIND
from cycle_engine.store.tables.access import WEBHOOK_EVENTS

#: What each event means, and the history kind whose `data` it carries.
_MEANING = {
    "stage.entered": "the cycle entered a stage (started, or moved on)",
    "stage.overdue": "a stage passed its due date",
    "cycle.stalled": "nothing happened on the cycle for longer than its template allows",
    "cycle.completed": "the cycle reached its final stage",
    "cycle.cancelled": "the cycle ended in another final stage (e.g. cancelled)",
    "product.added": "a stage yielded a product",
    "participation.changed": "an organisation's level, focal point or deputy on a stage changed",
    "context.added": "a testing context was added",
    "context.updated": "a testing context's status changed",
    "result.reported": "a testing context reported its results and rating",
    "question.added": "a learning question was added",
    "questions.answered": "learning questions were answered",
    "learning.added": "a learning log entry was added",
    "due_date.moved": "a stage's planned due date moved",
    "person.left": "a focal point left their organisation; stages needing a new one are named",
    "organisation.left": "an organisation left the alliance (or was archived); its open "
    "stages are named",
}


class CycleRef(BaseModel):
    id: int
    title: str
    state: str
    status: str
    version: int
    template_key: str


class StageRef(BaseModel):
    stage: str
    visit: int
    entered_at: datetime
    due_at: datetime | None


class HistoryLine(BaseModel):
    seq: int = Field(description="Per cycle; order a cycle's deliveries by it.")
    kind: str
    trigger: str | None
    from_state: str | None
    to_state: str | None
    actor: str
    note: str | None
    data: dict[str, Any] = Field(description="What the event carries (see the event).")


class WebhookDelivery(BaseModel):
    """The JSON body of every delivery."""

    event: str = Field(json_schema_extra={"enum": list(WEBHOOK_EVENTS)})
    delivery_id: str = Field(description="Also in X-CycleEngine-Delivery; repeats keep it.")
    occurred_at: datetime
    alliance_id: int
    cycle: CycleRef
    stage: StageRef | None
    history: HistoryLine


def webhook_routes() -> list[Any]:
    """One documented POST per event (the routes are never served: they describe deliveries)."""
    router = APIRouter()
    history_kind = {event: kind for kind, event in EVENT_OF_KIND.items()}
    for event in WEBHOOK_EVENTS:
        carried = history_kind.get(event)
        description = (
            f"Sent when {_MEANING[event]}. "
            + (f"`history.kind` is `{carried}`. " if carried else "")
            + "Signed: `X-CycleEngine-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "
            '"<t>." + raw body, keyed with the subscription\'s secret>`; refuse timestamps more '
            "than 300 s away. Answer 2xx to acknowledge; anything else is retried until the "
            "delivery expires (4xx other than 408 and 429: not retried)."
        )

        def receive(
            body: WebhookDelivery,
            x_cycleengine_event: str = Header(
                alias="X-CycleEngine-Event", json_schema_extra={"enum": [event]}
            ),
            x_cycleengine_delivery: str = Header(alias="X-CycleEngine-Delivery"),
            x_cycleengine_signature: str = Header(
                alias="X-CycleEngine-Signature", pattern=r"^t=[0-9]+,v1=[0-9a-f]{64}$"
            ),
        ) -> None:  # pragma: no cover - documents a request the engine sends, never served
            return None

        router.add_api_route(
            event,
            receive,
            methods=["POST"],
            summary=_MEANING[event],
            description=description,
            status_code=200,
            operation_id=f"webhook_{event.replace('.', '_')}",
            responses={200: {"description": "Received"}},
        )
    return list(router.routes)
