"""The mail log of an alliance: what was queued, sent, held or failed, and the dev mailbox.

    GET /dashboard/alliances/{alliance_id}/mail          outbox rows, newest first, paged
    GET /dashboard/alliances/{alliance_id}/mailbox/{key} one message of the development mailbox

Rows are newest first by the time the page shows, and a message not sent yet says why it waits
(the recipient's working hours, their digest, a retry) and until when, in the viewer's zone.
With no SMTP server configured, mail is delivered to the development Maildir under the data
directory; the page then lists those messages too (newest first), so `make run` shows every
email, sign-in links included, without a mail server. Only coordinators and managers see it.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import Response

from cycle_engine.api.access import managed_alliance
from cycle_engine.api.dashboard.web import Visit, VisitDep
from cycle_engine.api.deps import IdPath
from cycle_engine.clock import as_utc
from cycle_engine.engine import CycleEngine
from cycle_engine.errors import NotFound
from cycle_engine.notifications.reader import N_
from cycle_engine.notifications.senders.mailbox import list_mailbox, read_mailbox_message
from cycle_engine.store.tables.outbox import DIGEST, PENDING, OutboxRecord

PER_PAGE = 50
MAILBOX_SHOWN = 30


def mailbox_path(visit: Visit) -> Path | None:
    """The development Maildir when mail goes there (no SMTP server configured)."""
    mail = getattr(visit.request.app.state, "mail_settings", None)
    if mail is not None and getattr(mail, "smtp", None) is not None:
        return None
    path = Path(visit.settings.data_dir) / "mailbox"
    return path if path.is_dir() else None


def _visible(entry_to: str, message_id: str, members: set[str], own: str) -> bool:
    """Messages to the alliance's people; sign-in mails only to their own addressee."""
    address = parseaddr(entry_to)[1].lower()
    if message_id.startswith("<signin."):
        return address == own.lower()
    return address in members


def _member_addresses(engine: CycleEngine, alliance_id: int) -> set[str]:
    """The addresses of the people of the alliance's member organisations."""
    return {p.email.lower() for p in engine.alliances.list_people(alliance_id=alliance_id)}


def hold_reason(row: OutboxRecord, now: datetime) -> tuple[str, datetime | None] | None:
    """Why a message waits and until when (shown in the viewer's zone), or None.

    Only pending rows wait; suppressed, expired and failed rows carry their own reason. The
    reason is an English msgid (marked with `N_`), which the page translates.
    """
    if row.status != PENDING:
        return None
    until = as_utc(row.next_attempt_at)
    if until <= now:
        return N_("due now: the sender takes it on its next round"), None
    if row.delivery == DIGEST:
        return N_("held for the recipient's daily digest, sent at"), until
    if row.attempts:
        return N_("retrying after a failed attempt at"), until
    return (
        N_(
            "held to the recipient's working hours (the alliance's day, in their time zone)"
            " or their snooze; it goes out at"
        ),
        until,
    )


def _stage_titles(engine: CycleEngine) -> dict[str, str]:
    """Stage titles by key, from the published templates (a log row names the stage's key)."""
    return {
        stage.key: stage.title
        for template in engine.templates.list()
        if template.id is not None
        for stage in engine.templates.spec_of(template.id).stages
    }


def _text_of(message: Any) -> str:
    body = message.get_body(preferencelist=("plain",))
    return str(body.get_content()) if body is not None else ""


def register(router: APIRouter) -> None:
    @router.get("/alliances/{alliance_id}/mail")
    def mail_log(
        visit: VisitDep,
        alliance_id: IdPath,
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    ) -> Response:
        viewer = visit.require_viewer()
        engine = visit.engine
        alliance = managed_alliance(engine, viewer.access, alliance_id)
        addresses = _member_addresses(engine, alliance_id)
        rows = engine.outbox.messages(
            alliance_id=alliance_id,
            limit=PER_PAGE + 1,
            offset=(page - 1) * PER_PAGE,
            by_time=True,
        )
        path = mailbox_path(visit)
        mailbox = [
            e
            for e in reversed(list_mailbox(path) if path else [])
            if _visible(e.to, e.message_id, addresses, viewer.email)
        ][:MAILBOX_SHOWN]
        return visit.page(
            "mail_log.html",
            alliance=alliance,
            rows=rows[:PER_PAGE],
            holds={row.id: hold_reason(row, visit.now) for row in rows[:PER_PAGE]},
            stage_titles=_stage_titles(engine),
            page=page,
            has_next=len(rows) > PER_PAGE,
            mailbox=mailbox,
            mailbox_path=str(path) if path else None,
        )

    @router.get("/alliances/{alliance_id}/mailbox/{key}")
    def mailbox_message(visit: VisitDep, alliance_id: IdPath, key: str) -> Response:
        viewer = visit.require_viewer()
        alliance = managed_alliance(visit.engine, viewer.access, alliance_id)
        addresses = _member_addresses(visit.engine, alliance_id)
        path = mailbox_path(visit)
        if (
            path is None
            or not key.replace(".", "")
            .replace(",", "")
            .replace(":", "")
            .replace("_", "")
            .replace("-", "")
            .replace("=", "")
            .isalnum()
        ):
            raise NotFound("message", key)
        try:
            message = read_mailbox_message(path, key)
        except (KeyError, FileNotFoundError):
            raise NotFound("message", key) from None
        if not _visible(
            str(message["To"] or ""), str(message["Message-ID"] or ""), addresses, viewer.email
        ):
            raise NotFound("message", key)
        return visit.page(
            "mail_message.html",
            alliance=alliance,
            key=key,
            subject=str(message["Subject"] or ""),
            to=str(message["To"] or ""),
            sender=str(message["From"] or ""),
            date=str(message["Date"] or ""),
            text=_text_of(message),
        )
