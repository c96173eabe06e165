"""Outbox status: what email and webhook deliveries are pending, sent or failed, for the
cycles of the alliance a key reaches (admins: all). Partners do not read the outbox."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import func
from sqlmodel import col, select

from cycle_engine.api.auth import Principal, scope_cycles
from cycle_engine.api.deps import CurrentKey, PageDep, ReadSession, require_role
from cycle_engine.api.schemas import Page, page_of
from cycle_engine.api.schemas_domain import OutboxPublic, OutboxSummary
from cycle_engine.store.tables import CycleRecord
from cycle_engine.store.tables.outbox import OutboxRecord

router = APIRouter(prefix="/outbox", tags=["outbox"])


def _scoped(query: Any, key: Principal) -> Any:
    if key.is_admin:
        return query
    cycles = scope_cycles(select(CycleRecord.id), key)
    return query.where(col(OutboxRecord.cycle_id).in_(cycles))


@router.get("", summary="Outbox rows in reach, newest first")
def list_outbox(
    key: CurrentKey,
    session: ReadSession,
    page: PageDep,
    status: Annotated[str | None, Query(max_length=20)] = None,
    channel: Annotated[str | None, Query(max_length=20)] = None,
    cycle_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Page[OutboxPublic]:
    require_role(key, "coordinator", "manager")
    query = _scoped(select(OutboxRecord), key)
    if status is not None:
        query = query.where(OutboxRecord.status == status)
    if channel is not None:
        query = query.where(OutboxRecord.channel == channel)
    if cycle_id is not None:
        query = query.where(OutboxRecord.cycle_id == cycle_id)
    rows = session.exec(
        query.order_by(col(OutboxRecord.id).desc()).offset(page.offset).limit(page.limit + 1)
    ).all()
    return page_of([OutboxPublic.model_validate(r) for r in rows], page.limit, page.offset)


@router.get("/summary", summary="Outbox rows in reach, counted by channel and status")
def outbox_summary(key: CurrentKey, session: ReadSession) -> OutboxSummary:
    require_role(key, "coordinator", "manager")
    query = _scoped(select(OutboxRecord.channel, OutboxRecord.status, func.count()), key)
    counts: dict[str, dict[str, int]] = {}
    for channel, status, count in session.exec(
        query.group_by(OutboxRecord.channel, OutboxRecord.status)
    ):
        counts.setdefault(channel, {})[status] = count
    return OutboxSummary(counts=counts)
