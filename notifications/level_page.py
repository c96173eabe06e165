"""The page behind an email's "choose your organisation's level" link (issue 12, item 6).

Like every action page (`notifications.actions`), a GET only shows (the stages not yet finished,
the organisation's level and any proposal waiting on each, a choice of lead / active / informed
per stage) and a POST acts, once: it proposes the chosen levels through the engine
(`OutboxService.propose_levels_by_email`, the same proposal command as the API and the
dashboard) and records the link's use in the same transaction. A tampered or forged link is
refused, an expired one says so (the dashboard's levels page remains), a used one says it was
already done; none of them changes anything. The page speaks the person's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from cycle_engine.engine import CycleEngine
from cycle_engine.errors import (
    ActionNotAllowed,
    CycleEngineError,
    ExpiredLink,
    InvalidInput,
    InvalidLink,
)
from cycle_engine.notifications.actions import (
    ALREADY,
    CLOSED,
    CONFIRM,
    DONE,
    EXPIRED,
    INVALID,
    REJECTED,
)
from cycle_engine.notifications.links import ActionClaim, LinkSigner
from cycle_engine.notifications.template_texts import translate
from cycle_engine.outbox.level_choice import LEVEL_ACTION, LevelChoices, read_levels
from cycle_engine.store.tables.alliances import LEVELS


@dataclass(frozen=True, kw_only=True)
class LevelStage:
    """One row of the page: the stage (in the reader's language) and where it stands."""

    key: str
    title: str
    level: str | None
    waiting: str | None


@dataclass(frozen=True, kw_only=True)
class LevelView:
    """Everything the level page shows."""

    state: str
    token: str = ""
    language: str = "en"
    person_name: str = ""
    organisation_name: str = ""
    cycle_title: str = ""
    stages: tuple[LevelStage, ...] = ()
    choices: tuple[str, ...] = LEVELS
    proposed: tuple[tuple[str, str], ...] = ()
    message: str = ""
    form: dict[str, str] = field(default_factory=dict)

    @property
    def status_code(self) -> int:
        return {INVALID: 400, EXPIRED: 410, CLOSED: 409, REJECTED: 422}.get(self.state, 200)


def _stages(choices: LevelChoices) -> tuple[LevelStage, ...]:
    language = choices.language
    rows = []
    for stage in choices.stages:
        spec_stage = choices.spec.stage(stage.key)
        own = spec_stage.text_in(language)
        title = (own.title if own else "") or translate(spec_stage.title, language) or stage.key
        rows.append(
            LevelStage(key=stage.key, title=title, level=stage.level, waiting=stage.waiting)
        )
    return tuple(rows)


class LevelPage:
    """Reads level links and proposes the chosen levels through the engine."""

    def __init__(self, engine: CycleEngine, links: LinkSigner) -> None:
        self.engine = engine
        self.links = links

    def _read(self, token: str) -> ActionClaim | LevelView:
        try:
            return self.links.read_action(LEVEL_ACTION, token)
        except ExpiredLink:
            return LevelView(
                state=EXPIRED,
                message="This link has expired. You can still choose your organisation's "
                "level on the cycle's page in the dashboard, or ask your coordinator.",
            )
        except InvalidLink as error:
            return LevelView(state=INVALID, message=error.message)

    def _view(
        self, claim: ActionClaim, state: str, token: str, message: str = "", **extra: Any
    ) -> LevelView:
        try:
            choices = self.engine.outbox.level_choices(claim.person_id, claim.cycle_id)
        except CycleEngineError as error:
            return LevelView(state=INVALID, message=str(error))
        return LevelView(
            state=state,
            token=token,
            language=choices.language,
            person_name=choices.person_name,
            organisation_name=choices.organisation_name,
            cycle_title=choices.cycle_title,
            stages=_stages(choices),
            message=message,
            **extra,
        )

    def _used(self, claim: ActionClaim) -> bool:
        return self.engine.outbox.action_used(claim.use_key)

    def inspect(self, token: str) -> LevelView:
        """The stages and a level choice each; changes nothing (scanners follow GETs)."""
        claim = self._read(token)
        if isinstance(claim, LevelView):
            return claim
        if self._used(claim):
            return self._view(claim, ALREADY, token, "This was already done.")
        view = self._view(claim, CONFIRM, token)
        if view.state == CONFIRM and not view.stages:
            return LevelView(
                state=CLOSED,
                language=view.language,
                person_name=view.person_name,
                cycle_title=view.cycle_title,
                message="every stage of this cycle is finished",
            )
        return view

    def perform(self, token: str, form: dict[str, str]) -> LevelView:
        """Propose the chosen levels once; a replay reports it was already done."""
        claim = self._read(token)
        if isinstance(claim, LevelView):
            return claim
        chosen = {k: v for k, v in form.items() if k.startswith("level.")}
        try:
            levels = read_levels(chosen)
            result = self.engine.outbox.propose_levels_by_email(
                person_id=claim.person_id,
                cycle_id=claim.cycle_id,
                stage_visit_id=claim.stage_visit_id,
                use_key=claim.use_key,
                levels=levels,
                note=form.get("note", "").strip() or None,
            )
        except ActionNotAllowed as error:
            return self._view(claim, CLOSED, token, error.reason)
        except InvalidInput as error:
            return self._view(claim, REJECTED, token, str(error), form=chosen)
        except CycleEngineError as error:  # the cycle or person is gone, or out of reach
            return self._view(claim, CLOSED, token, str(error))
        if not result.performed:
            return self._view(claim, ALREADY, token, "This was already done.")
        view = self._view(claim, DONE, token)
        titles = {s.key: s.title for s in view.stages}
        proposed = tuple((titles.get(p.stage, p.stage), p.level) for p in result.proposals)
        return replace(view, proposed=proposed)
