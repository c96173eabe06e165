"""Outbox status: what email and webhook deliveries are pending, sent or failed, for the
cycles a key reaches (admins: all, sign-in emails included). Partners do not read the outbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from cycle_engine.api.access import require_role
from cycle_engine.api.deps import CurrentKey, EngineDep, PageDep
from cycle_engine.api.fields import KEY_PATTERN, MAX_ID
from cycle_engine.api.schemas import Page, page_of
from cycle_engine.api.schemas_domain import OutboxPublic, OutboxSummary

router = APIRouter(prefix="/outbox", tags=["outbox"])


@router.get("", summary="Outbox rows in reach, newest first")
def list_outbox(
    engine: EngineDep,
    key: CurrentKey,
    page: PageDep,
    status: Annotated[str | None, Query(max_length=20, pattern=KEY_PATTERN)] = None,
    channel: Annotated[str | None, Query(max_length=20, pattern=KEY_PATTERN)] = None,
    cycle_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Page[OutboxPublic]:
    require_role(key, "coordinator", "manager")
    rows = engine.outbox.messages(
        status=status,
        channel=channel,
        cycle_id=cycle_id,
        reach=key.reach,
        limit=page.limit + 1,
        offset=page.offset,
    )
    return page_of([OutboxPublic.model_validate(r) for r in rows], page.limit, page.offset)


@router.get("/summary", summary="Outbox rows in reach, counted by channel and status")
def outbox_summary(engine: EngineDep, key: CurrentKey) -> OutboxSummary:
    require_role(key, "coordinator", "manager")
    return OutboxSummary(counts=engine.outbox.message_counts(reach=key.reach))
