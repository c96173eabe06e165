"""Frozen spec objects a template becomes once loaded; nothing after the loader touches raw YAML.

A `TemplateSpec` is the definition (shared by every cycle on one template version); a cycle row is
the running instance. Durations are `timedelta`s; offsets of reminder rules are signed
(negative = before the anchor).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

Anchor = Literal["due", "entry"]
LatePolicy = Literal["send_latest", "drop_stale"]
GuardArg = str | int | float | bool | None

#: Special destination: return to the stage the cycle was in before entering a hold stage.
PREVIOUS = "@previous"
#: Special source: every stage that is neither final nor a hold stage.
ANY_ACTIVE = "*"


@dataclass(frozen=True, kw_only=True)
class GuardSpec:
    """A named guard with its argument, e.g. `product: good_practice_review`."""

    name: str
    arg: GuardArg = None


@dataclass(frozen=True, kw_only=True)
class ReminderSpec:
    """Send a reminder at `anchor + offset` (offset negative = before)."""

    name: str
    anchor: Anchor
    offset: timedelta
    late: LatePolicy = "drop_stale"
    to: tuple[str, ...] = ("focal_point", "active")


@dataclass(frozen=True, kw_only=True)
class OverdueSpec:
    """Once overdue, remind every `every`; escalate after `escalate_after` reminders."""

    every: timedelta
    escalate_after: int
    to: tuple[str, ...] = ("focal_point",)


@dataclass(frozen=True, kw_only=True)
class StallSpec:
    """The stage is stalled after `after` without any activity."""

    after: timedelta


@dataclass(frozen=True, kw_only=True)
class StageText:
    """A stage's title and description in one language, as the template gives them (either may
    be empty: the reader then gets the catalog's translation or the default text)."""

    language: str
    title: str = ""
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class StageSpec:
    """One stage of a cycle; `hold` stages (pause) remember where the cycle came from.

    `title` and `description` are the template's default texts; `translations` gives them in
    other languages (at most one per language, in the order the template wrote them).
    """

    key: str
    title: str
    description: str = ""
    duration: timedelta | None = None
    final: bool = False
    hold: bool = False
    reminders: tuple[ReminderSpec, ...] = ()
    overdue: OverdueSpec | None = None
    stall: StallSpec | None = None
    translations: tuple[StageText, ...] = ()

    def text_in(self, language: str) -> StageText | None:
        """The template's own texts in `language`, or None when it gives none."""
        return next((t for t in self.translations if t.language == language), None)


@dataclass(frozen=True, kw_only=True)
class TransitionSpec:
    """`trigger` moves a cycle from any of `sources` to `dest` when every guard passes."""

    trigger: str
    sources: tuple[str, ...]
    dest: str
    guards: tuple[GuardSpec, ...] = ()
    roles: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class TemplateSpec:
    """A validated cycle template; `translations` gives its title and description in other
    languages (as a stage's do)."""

    key: str
    title: str
    description: str = ""
    initial: str
    stages: tuple[StageSpec, ...]
    transitions: tuple[TransitionSpec, ...]
    translations: tuple[StageText, ...] = ()
    source: str = "<memory>"
    content_hash: str = ""
    _by_key: dict[str, StageSpec] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_key.update({stage.key: stage for stage in self.stages})

    def text_in(self, language: str) -> StageText | None:
        """The template's own title and description in `language`, or None when it gives none."""
        return next((t for t in self.translations if t.language == language), None)

    def stage(self, key: str) -> StageSpec:
        """The stage named `key`; raises KeyError when the template has none."""
        return self._by_key[key]

    def has_stage(self, key: str) -> bool:
        return key in self._by_key

    @property
    def final_stages(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.stages if s.final)

    @property
    def work_stages(self) -> tuple[StageSpec, ...]:
        """Stages that carry work: neither final nor hold, in declared order."""
        return tuple(s for s in self.stages if not s.final and not s.hold)

    def triggers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.trigger for t in self.transitions))
