"""One exception tree for everything the engine refuses, each error carrying its context.

    CycleEngineError
    ├── InvalidTemplate          a template file failed to load or validate (all problems at once)
    ├── InvalidInput             a command argument is wrong (names the field)
    │   └── InputConflict        ... well formed, but conflicting with what is stored
    │       └── AlreadyExists    ... a name, email or seat that must be unique is taken
    ├── NotFound                 (TemplateNotFound, CycleNotFound, RecordNotFound)
    ├── ActionNotAllowed         a domain command is refused now (the reason says why)
    │   └── NotPermitted         ... and never will be for this caller (its role or organisation)
    ├── TransitionNotAllowed     a guard or a role blocks a trigger (reasons + allowed triggers)
    │   └── UnknownTrigger       the trigger does not exist from the cycle's stage
    ├── ConflictError            someone else changed the cycle first (optimistic version check)
    └── SchemaTooNew             the database was migrated by a newer engine

HTTP status codes are mapped from these in `api/` only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


class CycleEngineError(Exception):
    """Root of every error the engine raises on purpose."""


def _english(msgid: str) -> str:
    return msgid


@dataclass(frozen=True)
class Message:
    """Words to show a person: a gettext `msgid` with named placeholders and their values.

    A value may itself be a `Message` (a did-you-mean inside a problem), rendered with the same
    catalog. A translation whose placeholders do not fit the values reads in English.
    """

    msgid: str
    params: tuple[tuple[str, object], ...] = ()

    def render(self, gettext: Callable[[str], str] = _english) -> str:
        """The message through `gettext` (a catalog's), English by default."""
        values = {
            name: value.render(gettext) if isinstance(value, Message) else value
            for name, value in self.params
        }
        try:
            return gettext(self.msgid).format(**values)
        except (KeyError, IndexError, ValueError, AttributeError):
            return self.msgid.format(**values)

    def __str__(self) -> str:
        return self.render()


@dataclass(frozen=True)
class TemplateProblem:
    """One problem in a template: the file, the path inside it and what is wrong.

    `message` is English; `text` (when the validator made the problem) keeps it as a `Message`
    so it can be rendered in another language (`cycle_engine.spec.messages.problem_message`).
    """

    source: str
    path: str
    message: str
    text: Message | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, source: str, path: str, text: Message) -> TemplateProblem:
        """A problem whose English `message` is `text` rendered."""
        return cls(source, path, text.render(), text)

    def render(self, gettext: Callable[[str], str]) -> str:
        """What is wrong through `gettext` (the English `message` when there is no `text`)."""
        return self.text.render(gettext) if self.text is not None else self.message

    def __str__(self) -> str:
        where = f"{self.source}: {self.path}" if self.path else self.source
        return f"{where}: {self.message}"


class InvalidTemplate(CycleEngineError):
    """A template failed to load or validate; `problems` lists every problem found."""

    def __init__(self, problems: Sequence[TemplateProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class InvalidInput(CycleEngineError):
    """A command argument is wrong; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class InputConflict(InvalidInput):
    """The input is well formed but conflicts with what is stored: a date before one recorded,
    an organisation that is not a member, a person who left. The API answers 409."""


class AlreadyExists(InputConflict):
    """A name, email or seat that must be unique is taken."""


class NotFound(CycleEngineError):
    """Something named by id or key does not exist (or is outside the caller's reach)."""

    def __init__(self, kind: str, ident: object) -> None:
        self.kind = kind
        self.ident = ident
        super().__init__(f"{kind} {ident!r} not found")


class TemplateNotFound(NotFound):
    def __init__(self, ident: object) -> None:
        super().__init__("template", ident)


class CycleNotFound(NotFound):
    def __init__(self, ident: object) -> None:
        super().__init__("cycle", ident)


class TransitionNotAllowed(CycleEngineError):
    """A trigger cannot fire now; `reasons` says why and `allowed` lists what can fire.

    `kind` sorts the refusal for metrics: "guard", "role", "stage" (the caller may not act on
    the stage) or "unknown_trigger".
    """

    def __init__(
        self,
        trigger: str,
        state: str,
        reasons: Sequence[str],
        allowed: Sequence[str],
        *,
        kind: str = "guard",
    ) -> None:
        self.trigger = trigger
        self.state = state
        self.reasons = tuple(reasons)
        self.allowed = tuple(allowed)
        self.kind = kind
        because = "; ".join(self.reasons) or "not allowed"
        super().__init__(
            f"cannot fire {trigger!r} from {state!r}: {because}"
            f" (allowed now: {', '.join(self.allowed) or 'none'})"
        )


class UnknownTrigger(TransitionNotAllowed):
    """The trigger is not declared from the cycle's current stage."""

    def __init__(
        self, trigger: str, state: str, reasons: Sequence[str], allowed: Sequence[str]
    ) -> None:
        super().__init__(trigger, state, reasons, allowed, kind="unknown_trigger")


class ConflictError(CycleEngineError):
    """The cycle changed since the caller read it; re-read and retry."""

    def __init__(self, cycle_id: int, expected: int, actual: int) -> None:
        self.cycle_id = cycle_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"cycle {cycle_id} was changed concurrently: expected version {expected}, "
            f"found {actual}"
        )


class SchemaTooNew(CycleEngineError):
    """The database schema is newer than this engine knows; refuse to touch it."""


# -- Learning Alliance domain ----------------------------------------------------------------


class AllianceNotFound(NotFound):
    def __init__(self, ident: object) -> None:
        super().__init__("alliance", ident)


class OrganisationNotFound(NotFound):
    def __init__(self, ident: object) -> None:
        super().__init__("organisation", ident)


class PersonNotFound(NotFound):
    def __init__(self, ident: object) -> None:
        super().__init__("person", ident)


class RecordNotFound(NotFound):
    """A product, context, question or other domain row named by id does not exist."""


class ActionNotAllowed(CycleEngineError):
    """A domain command is refused in the cycle's present situation; `reason` says why."""

    def __init__(self, action: str, reason: str) -> None:
        self.action = action
        self.reason = reason
        super().__init__(f"cannot {action}: {reason}")


class NotPermitted(ActionNotAllowed):
    """The caller may not do this at all (its role or organisation), whatever the cycle's state;
    the API answers 403, where a refusal that depends on the situation answers 409."""


# -- Scheduler -----------------------------------------------------------------------------


class TimerHandlerNotFound(NotFound):
    """No handler is registered for a timer kind (e.g. "digest" before notifications load)."""

    def __init__(self, kind: str) -> None:
        super().__init__("timer handler", kind)


# -- Notifications ---------------------------------------------------------------------------


class OutboxMessageNotFound(NotFound):
    def __init__(self, ident: object) -> None:
        super().__init__("outbox message", ident)


class InvalidLink(InvalidInput):
    """An email link whose signature does not match (tampered, truncated, or another key)."""

    def __init__(
        self, message: str = "this link is not valid (it was changed or cut short)"
    ) -> None:
        super().__init__("token", message)


class ExpiredLink(InvalidLink):
    """A genuine email link that is too old; `claims` (whose, for what) lets us offer a new one."""

    def __init__(self, claims: dict[str, object]) -> None:
        self.claims = claims
        super().__init__("this link has expired")
