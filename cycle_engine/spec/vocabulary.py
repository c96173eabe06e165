"""The words a template may use that belong to the domain, handed to the validator as data.

The spec layer knows no domain (DESIGN.md): it does not know that organisations take a stage as
`lead`, `active` or `informed`, nor which product kinds or context ratings exist. The domain
builds a `Vocabulary` and the guard registry carries it to the loader, so a template naming
`product: seed_stock_report` or `to: [focal_piont]` is refused at validate time, with a
did-you-mean, instead of blocking a running cycle later.

A guard whose argument is one of these words says which list in `GuardDefinition.arg_choices`
(`"product_kinds"`, `"ratings"`, `"participation_levels"`).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Staff roles every deployment has, whatever its domain: they may fire transitions.
STAFF_ROLES = ("admin", "coordinator", "manager")
#: The engine itself (timers, automatic transitions).
SYSTEM_ROLE = "system"
#: Staff who may receive reminders about a stage.
STAFF_RECIPIENTS = ("coordinator", "manager")


@dataclass(frozen=True, kw_only=True)
class Vocabulary:
    """Domain words a template may name; an empty list names nothing of that kind.

    Attributes:
        participation_levels: how an organisation takes part in a stage (`lead`, `active`, ...).
        acting_levels: the levels whose members may fire a transition the template allows them.
        stage_contacts: the people named per stage (`focal_point`, `deputy`).
        product_kinds: what a cycle produces (`good_practice_review`, ...).
        ratings: how a testing context rates its results (`strong`, `mixed`, `weak`).
        languages: the languages a stage's `translations:` may name (`es`, `fr`).
    """

    participation_levels: tuple[str, ...] = ()
    acting_levels: tuple[str, ...] = ()
    stage_contacts: tuple[str, ...] = ()
    product_kinds: tuple[str, ...] = ()
    ratings: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()

    @property
    def transition_roles(self) -> tuple[str, ...]:
        """Who a transition's `roles:` may name: staff, the acting levels, and `system`."""
        return (*STAFF_ROLES, *self.acting_levels, SYSTEM_ROLE)

    @property
    def recipient_roles(self) -> tuple[str, ...]:
        """Who a reminder's or overdue rule's `to:` may name."""
        return (*self.stage_contacts, *self.participation_levels, *STAFF_RECIPIENTS)

    def choices(self, name: str) -> tuple[str, ...]:
        """The list called `name` (a field or property above).

        Raises:
            KeyError: when no list has that name (a guard definition names a list that is not one).
        """
        if name not in _LISTS:
            raise KeyError(f"no vocabulary list {name!r}; lists: {', '.join(_LISTS)}")
        value: tuple[str, ...] = getattr(self, name)
        return value


#: The lists a vocabulary has, in the order the README and the JSON Schema show them.
_LISTS = (
    "transition_roles",
    "recipient_roles",
    "participation_levels",
    "acting_levels",
    "stage_contacts",
    "product_kinds",
    "ratings",
    "languages",
)
LIST_NAMES = _LISTS
