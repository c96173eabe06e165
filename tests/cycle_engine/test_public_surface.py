"""The public surface is deliberate: the names `cycle_engine` exports, the facade's signatures and
the services it composes are pinned here, so changing them is a decision, not an accident."""

from __future__ import annotations

import inspect

import cycle_engine
from cycle_engine import CycleEngine

EXPORTS = [
    "SYSTEM",
    "ActionNotAllowed",
    "Actor",
    "Change",
    "ChangeListener",
    "ChangeSubscriber",
    "Clock",
    "ConflictError",
    "CycleEngine",
    "CycleEngineError",
    "CycleFilter",
    "CycleNotFound",
    "Extensions",
    "FireResult",
    "GuardContext",
    "GuardDefinition",
    "InvalidInput",
    "InvalidTemplate",
    "NotFound",
    "SchemaTooNew",
    "SystemClock",
    "TemplateNotFound",
    "TransitionNotAllowed",
    "TriggerOption",
    "UnknownTrigger",
]

FACADE = {
    "__init__": (
        "(self, url: str, *, clock: Clock | None = None, guards: Iterable[GuardDefinition] = "
        "(), listeners: Sequence[ChangeListener] = (), subscribers: "
        "Sequence[ChangeSubscriber] = (), timer_handlers: dict[str, TimerHandler] | None = "
        "None, check_schema: bool = True, data_dir: Path | None = None, schema: str | None = "
        "None) -> None"
    ),
    "available_triggers": (
        "(self, cycle_id: int, *, actor: Actor = SYSTEM, note: str | None = None) -> "
        "list[TriggerOption]"
    ),
    "close": ("(self) -> None"),
    "fire": (
        "(self, cycle_id: int, trigger: str, *, actor: Actor = SYSTEM, note: str | None = "
        "None, expected_version: int | None = None, idempotency_key: str | None = None) -> "
        "FireResult"
    ),
    "get_cycle": ("(self, cycle_id: int) -> CycleRecord"),
    "history": ("(self, cycle_id: int) -> list[EventRecord]"),
    "overdue": ("(self, alliance_id: int | None = None) -> list[OverdueStage]"),
    "publish_builtin_templates": ("(self) -> list[PublishedTemplate]"),
    "run_due_timers": ("(self, now: datetime | None = None) -> TickResult"),
    "stalled": ("(self, alliance_id: int | None = None) -> list[StalledStage]"),
    "start_cycle": (
        "(self, template_key: str, title: str, *, template_version: int | None = None, actor:"
        " Actor = SYSTEM, note: str | None = None, alliance_id: int | None = None, topic: str"
        " | None = None, questions: Sequence[str] = (), standalone: bool = False) -> CycleRecord"
    ),
}

SERVICES = {
    "cycles": "CycleService",
    "templates": "TemplateService",
    "alliances": "AllianceRegistry",
    "work": "CycleWork",
    "timers": "TimerService",
    "outbox": "OutboxService",
    "learning": "AllianceLearning",
    "migrations": "MigrationService",
    "drafts": "DraftService",
}


def _render(signature: inspect.Signature) -> str:
    text = str(signature).replace("'", "")
    return text.replace(
        "Actor(name=system, role=system, organisation_id=None, person_id=None)", "SYSTEM"
    )


def test_package_exports_exactly_the_public_names() -> None:
    """`cycle_engine.__all__` is the pinned list, and every name in it resolves."""
    assert sorted(cycle_engine.__all__) == sorted(EXPORTS)
    for name in EXPORTS:
        assert getattr(cycle_engine, name) is not None


def test_facade_methods_and_signatures_are_pinned() -> None:
    """The facade keeps the few commands most callers use, with these exact signatures."""
    found = {
        name: _render(inspect.signature(member))
        for name, member in inspect.getmembers(CycleEngine)
        if callable(member) and (not name.startswith("_") or name == "__init__")
    }
    assert found == FACADE


def test_engine_composes_the_named_services(sqlite_url: str) -> None:
    """Each service is an attribute of the engine, of the pinned class."""
    with CycleEngine(sqlite_url) as engine:
        assert {name: type(getattr(engine, name)).__name__ for name in SERVICES} == SERVICES
