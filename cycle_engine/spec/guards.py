"""Named guards that templates declare (`requires: [product: good_practice_review]`).

A guard is a function returning the reasons it blocks (an empty list means it passes), so the
same code both decides a transition and explains why it cannot happen. transitions calls guards
as conditions; `available_triggers` calls them to list reasons. The registry is an object built
an object the engine builds from the core guards here, the Learning Alliance guards
(`cycle_engine.alliances.guards`) and the host's own, not a global. The spec layer knows no
domain: a guard sees the cycle through `GuardedCycle`, the few fields every cycle row has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from cycle_engine.errors import Message
from cycle_engine.spec.messages import N_, message
from cycle_engine.spec.specs import GuardArg, TemplateSpec
from cycle_engine.spec.vocabulary import Vocabulary

if TYPE_CHECKING:
    from sqlmodel import Session


class GuardedCycle(Protocol):
    """What a guard may read of the cycle it guards (the engine passes the cycle's row)."""

    @property
    def id(self) -> int | None: ...
    @property
    def state(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def resume_state(self) -> str | None: ...
    @property
    def alliance_id(self) -> int | None: ...
    @property
    def template_id(self) -> int: ...


@dataclass(frozen=True, kw_only=True)
class GuardContext:
    """What a guard may look at: the open session, the cycle row, its template and the time."""

    session: Session
    cycle: GuardedCycle
    spec: TemplateSpec
    now: datetime
    note: str | None = None
    data: Mapping[str, Any] | None = None


GuardCheck = Callable[[GuardContext, GuardArg], list[str]]


@dataclass(frozen=True, kw_only=True)
class GuardDefinition:
    """A guard's name, the argument type it takes and its check.

    `arg_choices` names the vocabulary list the argument must come from (`"product_kinds"`), so
    the loader refuses a word the domain does not know; None when any value of the type will do.
    """

    name: str
    arg_type: type | tuple[type, ...]
    description: str
    check: GuardCheck
    arg_choices: str | None = None

    def argument_problem(self, arg: GuardArg) -> Message | None:
        """Why `arg` is not a valid argument for this guard, or None when it is."""
        wrong = isinstance(arg, bool) and bool not in _as_tuple(self.arg_type)
        if wrong or not isinstance(arg, self.arg_type):
            return message(
                N_("guard {guard!r} expects {types}, got {value!r}"),
                guard=self.name,
                types=_type_names(self.arg_type),
                value=arg,
            )
        return None


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _type_names(kind: type | tuple[type, ...]) -> str:
    return " or ".join(t.__name__ for t in _as_tuple(kind))


class GuardRegistry(Mapping[str, GuardDefinition]):
    """The guards a template may name, and the domain's words (`vocabulary`) it may use."""

    def __init__(
        self,
        definitions: list[GuardDefinition] | None = None,
        *,
        vocabulary: Vocabulary | None = None,
    ) -> None:
        self.vocabulary = vocabulary or Vocabulary()
        self._definitions: dict[str, GuardDefinition] = {}
        for definition in definitions or []:
            self.register(definition)

    def register(self, definition: GuardDefinition) -> None:
        self._definitions[definition.name] = definition

    def __getitem__(self, name: str) -> GuardDefinition:
        return self._definitions[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._definitions)

    def __len__(self) -> int:
        return len(self._definitions)


def _note_required(ctx: GuardContext, arg: GuardArg) -> list[str]:
    if arg and not (ctx.note and ctx.note.strip()):
        return ["a note is required for this trigger"]
    return []


CORE_GUARDS = [
    GuardDefinition(
        name="note",
        arg_type=bool,
        description="the person firing the trigger must write a note (e.g. why a cycle loops back)",
        check=_note_required,
    ),
]
