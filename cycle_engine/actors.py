"""Who performs a command: recorded in history and checked against the roles a template allows."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("system", "admin", "coordinator", "manager", "partner")


@dataclass(frozen=True, kw_only=True)
class Actor:
    """The person or process behind a command.

    `role` is one of ROLES; a partner acts for `organisation_id`, and the template's `lead` and
    `active` roles are derived from that organisation's participation in the current stage.
    """

    name: str
    role: str = "system"
    organisation_id: int | None = None
    person_id: int | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown actor role {self.role!r}; expected one of {ROLES}")


SYSTEM = Actor(name="system", role="system")
