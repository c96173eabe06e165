"""Actions from email links, behind the pages the API serves.

A GET only shows what the link would do (mail scanners and link previews follow links; they
must change nothing); the POST acts, once, through `CycleEngine.record_email_action`, which
appends the event and records the use in one transaction. A replayed POST says it was already
done. A tampered link says so; an expired one says so and offers to email a fresh one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cycle_engine.engine import CycleEngine
from cycle_engine.errors import (
    ActionNotAllowed,
    CycleEngineError,
    ExpiredLink,
    InvalidInput,
    InvalidLink,
)
from cycle_engine.notifications.links import ActionClaim, LinkSigner
from cycle_engine.notifications.template_texts import translate
from cycle_engine.store.tables import CycleRecord, StageRecord
from cycle_engine.store.tables.alliances import PersonRecord
from cycle_engine.store.tables.outbox import ActionUseRecord

#: What each state of the action page means.
CONFIRM = "confirm"
DONE = "done"
ALREADY = "already"
EXPIRED = "expired"
INVALID = "invalid"
CLOSED = "closed"
REFRESHED = "refreshed"
REJECTED = "rejected"


@dataclass(frozen=True, kw_only=True)
class ActionView:
    """Everything the action page shows."""

    state: str
    action: str
    token: str = ""
    person_name: str = ""
    cycle_title: str = ""
    stage_title: str = ""
    message: str = ""
    #: The language of the person the link was made for ("" when the link names nobody).
    language: str = ""

    @property
    def status_code(self) -> int:
        return {INVALID: 400, EXPIRED: 410, CLOSED: 409, REJECTED: 422}.get(self.state, 200)


class EmailActions:
    """Reads action links and performs them through the engine."""

    def __init__(self, engine: CycleEngine, links: LinkSigner) -> None:
        self.engine = engine
        self.links = links

    def _describe(
        self, claim: ActionClaim, state: str, token: str, message: str = ""
    ) -> ActionView:
        with self.engine.db.read_session() as session:
            person = session.get(PersonRecord, claim.person_id)
            cycle = session.get(CycleRecord, claim.cycle_id)
            visit = session.get(StageRecord, claim.stage_visit_id)
            stage_title = visit.stage if visit else ""
            if cycle is not None and visit is not None:
                spec = self.engine.templates.store.spec(session, cycle.template_id)
                if spec.has_stage(visit.stage):
                    stage_title = spec.stage(visit.stage).title
        language = person.language if person else ""
        return ActionView(
            language=language,
            state=state,
            action=claim.action,
            token=token,
            person_name=person.name if person else "",
            cycle_title=cycle.title if cycle else "",
            stage_title=translate(stage_title, language or "en") or stage_title,
            message=message,
        )

    def _read(self, action: str, token: str) -> ActionClaim | ActionView:
        try:
            return self.links.read_action(action, token)
        except ExpiredLink as expired:
            try:  # the expired link still names its person: the page speaks their language
                return self._describe(self.links.fresh_claim(expired, action), EXPIRED, token)
            except InvalidLink:
                return ActionView(state=EXPIRED, action=action, token=token)
        except InvalidLink as error:
            return ActionView(state=INVALID, action=action, message=error.message)

    def inspect(self, action: str, token: str) -> ActionView:
        """What the link would do; changes nothing (safe for scanners following GETs)."""
        claim = self._read(action, token)
        if isinstance(claim, ActionView):
            return claim
        with self.engine.db.read_session() as session:
            used = session.get(ActionUseRecord, claim.use_key)
        if used is not None:
            return self._describe(claim, ALREADY, token)
        return self._describe(claim, CONFIRM, token)

    def perform(self, action: str, token: str, form: dict[str, Any]) -> ActionView:
        """Act once; a replay reports it was already done."""
        claim = self._read(action, token)
        if isinstance(claim, ActionView):
            return claim
        try:
            result = self.engine.outbox.record_email_action(
                action=claim.action,
                person_id=claim.person_id,
                cycle_id=claim.cycle_id,
                stage_visit_id=claim.stage_visit_id,
                use_key=claim.use_key,
                data=form,
            )
        except ActionNotAllowed as error:
            return self._describe(claim, CLOSED, token, error.reason)
        except InvalidInput as error:
            return self._describe(claim, REJECTED, token, str(error))
        state = DONE if result.performed else ALREADY
        return self._describe(claim, state, token)

    def refresh(self, action: str, token: str) -> ActionView:
        """For an expired link: email its person a fresh one (at most one an hour)."""
        try:
            self.links.read_action(action, token)
        except ExpiredLink as expired:
            claim = self.links.fresh_claim(expired, action)
        except InvalidLink as error:
            return ActionView(state=INVALID, action=action, message=error.message)
        else:
            return self.inspect(action, token)  # still valid: nothing to refresh
        try:
            self.engine.outbox.request_fresh_link(
                person_id=claim.person_id,
                cycle_id=claim.cycle_id,
                stage_visit_id=claim.stage_visit_id,
                action=action,
            )
        except CycleEngineError as error:
            return self._describe(claim, CLOSED, "", str(error))
        return self._describe(claim, REFRESHED, "")
