"""Webhook subscriptions per alliance, and each subscription's delivery log.

Coordinators (and admins) subscribe a URL to event kinds (stage.entered, stage.overdue,
cycle.stalled, cycle.completed, product.added); the signing secret is shown once, at creation.
Managers read subscriptions and deliveries; partners do not.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from sqlmodel import Session, col, select

from cycle_engine.api.auth import Principal, alliance_in_reach
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath, PageDep, ReadSession, require_role
from cycle_engine.api.idempotency import IdempotencyKey, fingerprint, run_once
from cycle_engine.api.problems import ApiProblem
from cycle_engine.api.routers.alliances import reach_alliance
from cycle_engine.api.schemas import Page, page_of
from cycle_engine.api.schemas_domain import (
    OutboxPublic,
    WebhookCreate,
    WebhookCreated,
    WebhookPublic,
    WebhookUpdate,
)
from cycle_engine.errors import RecordNotFound
from cycle_engine.store.tables.access import WEBHOOK_EVENTS, WebhookSubscriptionRecord
from cycle_engine.store.tables.outbox import WEBHOOK, OutboxRecord

router = APIRouter(tags=["webhooks"])


def _check_events(events: list[str]) -> list[str]:
    unknown = [e for e in events if e not in WEBHOOK_EVENTS]
    if unknown:
        raise ApiProblem(
            422,
            f"unknown event kinds {unknown}; expected some of {', '.join(WEBHOOK_EVENTS)}",
            field="body.events",
        )
    return sorted(set(events))


def _subscription(session: Session, key: Principal, webhook_id: int) -> WebhookSubscriptionRecord:
    record = session.get(WebhookSubscriptionRecord, webhook_id)
    if record is None or not alliance_in_reach(session, key, record.alliance_id):
        raise RecordNotFound("webhook", webhook_id)
    require_role(key, "coordinator", "manager")
    return record


@router.get("/alliances/{alliance_id}/webhooks", summary="An alliance's webhook subscriptions")
def list_webhooks(
    alliance_id: IdPath, engine: EngineDep, key: CurrentKey, session: ReadSession, page: PageDep
) -> Page[WebhookPublic]:
    reach_alliance(engine, key, alliance_id)
    require_role(key, "coordinator", "manager")
    rows = session.exec(
        select(WebhookSubscriptionRecord)
        .where(WebhookSubscriptionRecord.alliance_id == alliance_id)
        .order_by(col(WebhookSubscriptionRecord.id))
        .offset(page.offset)
        .limit(page.limit + 1)
    ).all()
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
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    reach_alliance(engine, key, alliance_id)
    require_role(key, "coordinator")
    events = _check_events(payload.events)

    def command() -> WebhookCreated:
        with engine.db.transaction() as session:
            record = WebhookSubscriptionRecord(
                alliance_id=alliance_id,
                url=str(payload.url),
                events=events,
                secret=f"whsec_{secrets.token_urlsafe(32)}",
                created_at=engine.clock.now(),
                created_by=key.actor.name,
            )
            session.add(record)
            session.flush()
            return WebhookCreated.model_validate(record)

    path = f"/alliances/{alliance_id}/webhooks"
    return run_once(engine, key, idempotency_key, fingerprint("POST", path, payload), 201, command)


@router.get("/webhooks/{webhook_id}", summary="One webhook subscription")
def get_webhook(webhook_id: IdPath, key: CurrentKey, session: ReadSession) -> WebhookPublic:
    return WebhookPublic.model_validate(_subscription(session, key, webhook_id))


@router.patch("/webhooks/{webhook_id}", summary="Change a subscription's URL, events or state")
def update_webhook(
    webhook_id: IdPath, payload: WebhookUpdate, engine: EngineDep, key: CurrentKey
) -> WebhookPublic:
    with engine.db.transaction() as session:
        record = _subscription(session, key, webhook_id)
        require_role(key, "coordinator")
        if payload.url is not None:
            record.url = str(payload.url)
        if payload.events is not None:
            record.events = _check_events(payload.events)
        if payload.active is not None:
            record.active = payload.active
        session.add(record)
        session.flush()
        return WebhookPublic.model_validate(record)


@router.delete("/webhooks/{webhook_id}", summary="Remove a subscription", status_code=204)
def delete_webhook(webhook_id: IdPath, engine: EngineDep, key: CurrentKey) -> Response:
    """Pending deliveries of a removed subscription fail instead of being sent."""
    with engine.db.transaction() as session:
        record = _subscription(session, key, webhook_id)
        require_role(key, "coordinator")
        session.delete(record)
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries", summary="A subscription's delivery log")
def list_deliveries(
    webhook_id: IdPath, key: CurrentKey, session: ReadSession, page: PageDep
) -> Page[OutboxPublic]:
    _subscription(session, key, webhook_id)
    rows = session.exec(
        select(OutboxRecord)
        .where(OutboxRecord.channel == WEBHOOK, OutboxRecord.rule == f"webhook:{webhook_id}")
        .order_by(col(OutboxRecord.id).desc())
        .offset(page.offset)
        .limit(page.limit + 1)
    ).all()
    return page_of([OutboxPublic.model_validate(r) for r in rows], page.limit, page.offset)
