"""`CycleEngine`: composes the services over one database, and keeps the commands most callers use.

    engine.cycles      start, fire, explain; one cycle or many        (CycleService)
    engine.templates   validate, publish, copy, retire, list, diff     (TemplateService)
    engine.migrations  move running cycles to a new template version   (MigrationService)
    engine.drafts      templates being edited in the dashboard           (DraftService)
    engine.alliances   alliances, organisations, people, turnover     (AllianceRegistry)
    engine.work        roles, plan, questions, products, contexts, learning, report (CycleWork)
    engine.learning    agenda, follow-ons, adoption, outcomes, alliance report (AllianceLearning)
    engine.timers      overdue, stalled, due timers, workers          (TimerService)
    engine.outbox      who is told what, preferences, email actions, nudges (OutboxService)

Hosts extend it through the constructor (guards, listeners, subscribers, timer handlers, the
clock), never by patching: every service gets the same template store, so a host guard works in
every path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from cycle_engine.actors import SYSTEM, Actor
from cycle_engine.alliances.agenda import AgendaListener
from cycle_engine.alliances.commands import CycleWork
from cycle_engine.alliances.files import FileStore
from cycle_engine.alliances.guards import default_guards
from cycle_engine.alliances.learning_service import AllianceLearning
from cycle_engine.alliances.participation import participation_roles
from cycle_engine.alliances.registry_commands import AllianceRegistry
from cycle_engine.changes import ChangeListener, Changes, ChangeSubscriber
from cycle_engine.clock import Clock, SystemClock
from cycle_engine.cycles.firing import FireResult
from cycle_engine.cycles.service import CycleFilter, CycleService
from cycle_engine.errors import InvalidInput
from cycle_engine.outbox.commands import OutboxService
from cycle_engine.outbox.listener import OutboxListener
from cycle_engine.outbox.results import ResultsListener
from cycle_engine.outbox.webhooks import WebhookListener
from cycle_engine.scheduler.commands import TimerService
from cycle_engine.scheduler.firing import TimerHandler
from cycle_engine.scheduler.listener import SchedulerListener
from cycle_engine.scheduler.stalled import OverdueStage, StalledStage
from cycle_engine.scheduler.worker import TickResult
from cycle_engine.spec.guards import GuardDefinition, GuardRegistry
from cycle_engine.spec.machine import TriggerOption
from cycle_engine.store.db import Database
from cycle_engine.store.schema import schema_status
from cycle_engine.store.tables import CycleRecord, EventRecord
from cycle_engine.store.templates import PublishedTemplate, TemplateStore
from cycle_engine.templates import TemplateService
from cycle_engine.templates.drafts import DraftService
from cycle_engine.templates.migrations import MigrationService

__all__ = ["CycleEngine", "CycleFilter", "FireResult"]


class CycleEngine:
    """Runs learning cycles stored in one database.

    Args:
        url: SQLAlchemy URL, e.g. `sqlite:///data/cycles.db` or `postgresql+psycopg://...`.
        clock: where "now" comes from; tests pass `cycle_engine.testing.ManualClock`.
        guards: extra guards templates may name, besides the built-in ones (a host's own).
        listeners: extra change listeners, run inside each command's transaction after the
            engine's own (timers, outbox, webhooks); they may add rows and must not commit.
        subscribers: told of each change after its transaction committed.
        timer_handlers: extra timer kinds and their handlers ({kind: handler}).
        check_schema: refuse to run on an empty, outdated or newer schema.
        data_dir: where uploaded product files are kept.
        schema: on PostgreSQL, the schema the engine's tables live in (default: the search path).

    Raises:
        InvalidInput: the schema is missing or behind; SchemaTooNew: it is newer.
    """

    def __init__(
        self,
        url: str,
        *,
        clock: Clock | None = None,
        guards: Iterable[GuardDefinition] = (),
        listeners: Sequence[ChangeListener] = (),
        subscribers: Sequence[ChangeSubscriber] = (),
        timer_handlers: dict[str, TimerHandler] | None = None,
        check_schema: bool = True,
        data_dir: Path | None = None,
        schema: str | None = None,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.db = Database(url, schema=schema)
        if check_schema:
            self._check_schema()
        registry: GuardRegistry = default_guards()
        for guard in guards:
            registry.register(guard)
        store = TemplateStore(registry, self.clock)
        changes = Changes(
            [
                SchedulerListener(),
                OutboxListener(),
                WebhookListener(),
                ResultsListener(),
                AgendaListener(),
                *listeners,
            ],
            subscribers,
        )
        db, now = self.db, self.clock
        self.changes = changes
        self.templates = TemplateService(db=db, store=store)
        self.cycles = CycleService(
            db=db, clock=now, templates=store, changes=changes, participation=participation_roles
        )
        self.alliances = AllianceRegistry(db=db, clock=now, templates=store, changes=changes)
        self.work = CycleWork(
            db=db,
            clock=now,
            templates=store,
            changes=changes,
            files=FileStore(Path(data_dir or "data")),
        )
        self.learning = AllianceLearning(
            db=db, clock=now, templates=store, changes=changes, start_cycle=self.cycles.start_cycle
        )
        self.timers = TimerService(db=db, clock=now, templates=store, changes=changes)
        for kind, handler in (timer_handlers or {}).items():
            self.timers.handlers.register(kind, handler)
        self.outbox = OutboxService(db=db, clock=now, templates=store, changes=changes)
        self.migrations = MigrationService(db=db, clock=now, templates=store, changes=changes)
        self.drafts = DraftService(db=db, clock=now, store=store)

    def _check_schema(self) -> None:
        try:
            status = schema_status(self.db)
        except BaseException:
            self.db.dispose()
            raise
        if status != "current":
            self.db.dispose()
            raise InvalidInput(
                "database", f"schema is {status}; run `cycle-engine init` (or `migrate`) first"
            )

    def close(self) -> None:
        """Release the database connections."""
        self.db.dispose()

    def __enter__(self) -> CycleEngine:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the commands most callers use -------------------------------------------------------

    def publish_builtin_templates(self) -> list[PublishedTemplate]:
        """Publish the built-in templates (already published versions stay as they are)."""
        return self.templates.publish_builtins()

    def start_cycle(
        self,
        template_key: str,
        title: str,
        *,
        template_version: int | None = None,
        actor: Actor = SYSTEM,
        note: str | None = None,
        alliance_id: int | None = None,
        topic: str | None = None,
        questions: Sequence[str] = (),
        standalone: bool = False,
    ) -> CycleRecord:
        """Start a cycle on the latest (or given) version of a template, in its first stage.

        A cycle needs `alliance_id` unless `standalone=True` says it runs alone (only
        administrators see it). See `engine.cycles.start_cycle`; raises TemplateNotFound,
        AllianceNotFound, InvalidInput.
        """
        return self.cycles.start_cycle(
            template_key,
            title,
            template_version=template_version,
            actor=actor,
            note=note,
            alliance_id=alliance_id,
            topic=topic,
            questions=questions,
            standalone=standalone,
        )

    def fire(
        self,
        cycle_id: int,
        trigger: str,
        *,
        actor: Actor = SYSTEM,
        note: str | None = None,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> FireResult:
        """Fire `trigger` on a cycle in one transaction.

        Raises CycleNotFound, ConflictError (`expected_version` is stale), UnknownTrigger, and
        TransitionNotAllowed (with every reason and the triggers that are allowed).
        """
        return self.cycles.fire(
            cycle_id,
            trigger,
            actor=actor,
            note=note,
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    def available_triggers(
        self, cycle_id: int, *, actor: Actor = SYSTEM, note: str | None = None
    ) -> list[TriggerOption]:
        """Every trigger from the cycle's stage, allowed or blocked with the reasons."""
        return self.cycles.available_triggers(cycle_id, actor=actor, note=note)

    def get_cycle(self, cycle_id: int) -> CycleRecord:
        """The cycle's row; raises CycleNotFound."""
        return self.cycles.get_cycle(cycle_id)

    def history(self, cycle_id: int) -> list[EventRecord]:
        """The cycle's events, oldest first; raises CycleNotFound."""
        return self.cycles.history(cycle_id)

    def overdue(self, alliance_id: int | None = None) -> list[OverdueStage]:
        """Open stages past their deadline (of one alliance, or all), most overdue first."""
        return self.timers.overdue(alliance_id)

    def stalled(self, alliance_id: int | None = None) -> list[StalledStage]:
        """Stalled open stages with every reason."""
        return self.timers.stalled(alliance_id)

    def run_due_timers(self, now: datetime | None = None) -> TickResult:
        """Fire every timer due at `now` (default: the clock), in this process; returns counts."""
        return self.timers.run_due_timers(now)
