"""Webhook subscriptions per alliance, and each subscription's delivery log.

Coordinators (and admins) subscribe a URL to event kinds (stage.entered, stage.overdue,
cycle.stalled, cycle.completed, product.added); the signing secret is shown once, at creation.
Managers read subscriptions and deliveries; partners do not. The subscriptions are the engine's
(`engine.outbox.subscriptions`), which checks the key's reach inside each command.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from cycle_engine.api.access import Access, require_role
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath, PageDep, SettingsDep
from cycle_engine.api.idempotency import IdempotencyKey, fingerprint, run_once
from cycle_engine.api.routers.alliances import reach_alliance
from cycle_engine.api.schemas import Page, page_of
from cycle_engine.api.schemas_domain import (
    OutboxPublic,
    WebhookCreate,
    WebhookCreated,
    WebhookPublic,
    WebhookUpdate,
)
from cycle_engine.engine import CycleEngine
from cycle_engine.store.tables.access import WebhookSubscriptionRecord

router = APIRouter(tags=["webhooks"])


def _reach_webhook(
    engine: CycleEngine, key: Access, webhook_id: int, *roles: str
) -> WebhookSubscriptionRecord:
    """The subscription: 404 unless its alliance is in reach, then 403 unless the key's role is
    one of `roles`."""
    record = engine.outbox.subscriptions.get(webhook_id, reach=key.reach)
    require_role(key, *roles)
    return record


@router.get("/alliances/{alliance_id}/webhooks", summary="An alliance's webhook subscriptions")
def list_webhooks(
    alliance_id: IdPath, engine: EngineDep, key: CurrentKey, page: PageDep
) -> Page[WebhookPublic]:
    reach_alliance(engine, key, alliance_id)
    require_role(key, "coordinator", "manager")
    rows = engine.outbox.subscriptions.of_alliance(alliance_id, reach=key.reach)
    rows = rows[page.offset : page.offset + page.limit + 1]
    return page_of([WebhookPublic.model_validate(r) for r in rows], page.limit, page.offset)


@router.post(
    "/alliances/{alliance_id}/webhooks",
    summary="Subscribe a URL to events",
    status_code=201,
    response_model=WebhookCreated,
)
def create_webhook(
    alliance_id: IdPath,
    payload: WebhookCreate,
    engine: EngineDep,
    key: CurrentKey,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """The URL must reach a public address (or one the deployment allows): 422 otherwise."""
    require_role(key, "coordinator", in_reach=lambda: reach_alliance(engine, key, alliance_id))

    def command() -> WebhookCreated:
        record = engine.outbox.subscriptions.subscribe(
            alliance_id,
            str(payload.url),
            payload.events,
            created_by=key.actor().name,
            reach=key.reach,
            addresses=settings.webhook_addresses,
        )
        return WebhookCreated.model_validate(record)

    path = f"/alliances/{alliance_id}/webhooks"
    return run_once(
        engine,
        key,
        idempotency_key,
        fingerprint("POST", path, payload),
        201,
        command,
        shown_once=("secret",),
    )


@router.get("/webhooks/{webhook_id}", summary="One webhook subscription")
def get_webhook(webhook_id: IdPath, engine: EngineDep, key: CurrentKey) -> WebhookPublic:
    return WebhookPublic.model_validate(
        _reach_webhook(engine, key, webhook_id, "coordinator", "manager")
    )


@router.patch("/webhooks/{webhook_id}", summary="Change a subscription's URL, events or state")
def update_webhook(
    webhook_id: IdPath,
    payload: WebhookUpdate,
    engine: EngineDep,
    key: CurrentKey,
    settings: SettingsDep,
) -> WebhookPublic:
    """A new URL is checked like a new subscription's (422 for a refused address)."""
    _reach_webhook(engine, key, webhook_id, "coordinator")
    record = engine.outbox.subscriptions.update(
        webhook_id,
        url=None if payload.url is None else str(payload.url),
        events=payload.events,
        active=payload.active,
        reach=key.reach,
        addresses=settings.webhook_addresses,
    )
    return WebhookPublic.model_validate(record)


@router.delete("/webhooks/{webhook_id}", summary="Remove a subscription", status_code=204)
def delete_webhook(webhook_id: IdPath, engine: EngineDep, key: CurrentKey) -> Response:
    """Pending deliveries of a removed subscription fail instead of being sent."""
    _reach_webhook(engine, key, webhook_id, "coordinator")
    engine.outbox.subscriptions.remove(webhook_id, reach=key.reach)
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries", summary="A subscription's delivery log")
def list_deliveries(
    webhook_id: IdPath, engine: EngineDep, key: CurrentKey, page: PageDep
) -> Page[OutboxPublic]:
    _reach_webhook(engine, key, webhook_id, "coordinator", "manager")
    rows = engine.outbox.subscriptions.deliveries(
        webhook_id, reach=key.reach, limit=page.limit + 1, offset=page.offset
    )
    return page_of([OutboxPublic.model_validate(r) for r in rows], page.limit, page.offset)
