"""What changed between two template versions, in words a coordinator reads.

`diff_templates(old, new, renames=...)` compares two specs: stages added, removed and renamed
(only by an explicit mapping: a stage whose key disappears is removed, whatever its title),
durations, reminder, overdue and stall rules, titles and descriptions, the first stage, and each
trigger's stages, requirements (guards) and roles. Every line says it in a sentence ("Prototype
now lasts 10 weeks (was 8 weeks)."), with the area and subject it is about for grouping. A pure
function of the two specs: the CLI, the API and the dashboard show the same lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from cycle_engine.spec.specs import PREVIOUS, StageSpec, TemplateSpec, TransitionSpec
from cycle_engine.templates.words import (
    guard_words,
    overdue_words,
    reminder_words,
    stage_kind,
    stall_words,
    words,
)

Area = Literal["template", "stage", "transition"]
ChangeKind = Literal["added", "removed", "renamed", "changed"]


@dataclass(frozen=True, kw_only=True)
class DiffLine:
    """One difference: what it is about (`area`, `subject`: a stage key or a trigger) and the
    sentence saying it."""

    area: Area
    subject: str
    change: ChangeKind
    text: str


@dataclass(frozen=True, kw_only=True)
class TemplateDiff:
    """The differences from one version (`before`, e.g. "learning-cycle v1") to another."""

    before: str
    after: str
    renames: Mapping[str, str]
    lines: tuple[DiffLine, ...]

    @property
    def unchanged(self) -> bool:
        return not self.lines

    def text(self) -> str:
        """The whole diff as plain text, one line per difference."""
        if self.unchanged:
            return f"{self.before} and {self.after} are the same."
        heading = f"From {self.before} to {self.after}:"
        return "\n".join([heading, *(f"- {line.text}" for line in self.lines)])


def diff_templates(
    old: TemplateSpec, new: TemplateSpec, *, renames: Mapping[str, str] | None = None
) -> list[DiffLine]:
    """Every difference from `old` to `new`; `renames` maps old stage keys to new ones."""
    renames = dict(renames or {})
    lines: list[DiffLine] = []
    if old.title != new.title:
        lines.append(
            _line("template", new.key, "changed", f"Title: “{new.title}” (was “{old.title}”).")
        )
    if old.description != new.description:
        lines.append(_line("template", new.key, "changed", "The template's description changed."))
    if renames.get(old.initial, old.initial) != new.initial:
        text = (
            f"Cycles now start in “{_title(new, new.initial)}” (was “{_title(old, old.initial)}”)."
        )
        lines.append(_line("template", new.key, "changed", text))
    lines.extend(_stage_lines(old, new, renames))
    lines.extend(_transition_lines(old, new, renames))
    return lines


def _line(area: Area, subject: str, change: ChangeKind, text: str) -> DiffLine:
    return DiffLine(area=area, subject=subject, change=change, text=text)


def _title(spec: TemplateSpec, key: str) -> str:
    return spec.stage(key).title if spec.has_stage(key) else key


# -- stages ------------------------------------------------------------------------------------


def _stage_lines(old: TemplateSpec, new: TemplateSpec, renames: dict[str, str]) -> list[DiffLine]:
    lines: list[DiffLine] = []
    matched: set[str] = set()
    for stage in old.stages:
        key = renames.get(stage.key, stage.key)
        if not new.has_stage(key):
            text = f"Stage “{stage.title}” ({stage.key}) is removed."
            lines.append(_line("stage", stage.key, "removed", text))
            continue
        matched.add(key)
        after = new.stage(key)
        if key != stage.key:
            text = f"Stage “{stage.title}” ({stage.key}) becomes “{after.title}” ({key})."
            lines.append(_line("stage", key, "renamed", text))
        elif stage.title != after.title:
            text = f"Stage {key} is now called “{after.title}” (was “{stage.title}”)."
            lines.append(_line("stage", key, "changed", text))
        lines.extend(_stage_changes(stage, after))
    for position, stage in enumerate(new.stages):
        if stage.key not in matched:
            lines.append(_line("stage", stage.key, "added", _added_stage(new, stage, position)))
    return lines


def _added_stage(spec: TemplateSpec, stage: StageSpec, position: int) -> str:
    kind = stage_kind(stage)
    lasting = f", {words(stage.duration)}" if stage.duration else ""
    before = [s for s in spec.stages[:position] if not s.final and not s.hold]
    where = f"after “{before[-1].title}”" if before else "at the start"
    if stage.final or stage.hold:
        where = f"a {kind} stage"
    return f"New stage “{stage.title}” ({stage.key}){lasting}, {where}."


def _stage_changes(old: StageSpec, new: StageSpec) -> list[DiffLine]:
    title = new.title
    texts: list[str] = []
    if stage_kind(old) != stage_kind(new):
        texts.append(f"“{title}” is now a {stage_kind(new)} stage (was a {stage_kind(old)} stage).")
    if old.duration != new.duration:
        if new.duration is None:
            texts.append(f"“{title}” no longer has a set duration (was {words(old.duration)}).")
        elif old.duration is None:
            texts.append(f"“{title}” now lasts {words(new.duration)} (had no set duration).")
        else:
            texts.append(f"“{title}” now lasts {words(new.duration)} (was {words(old.duration)}).")
    if old.description != new.description:
        texts.append(f"The description of “{title}” changed.")
    if old.translations != new.translations:
        before = {t.language: t for t in old.translations}
        after = {t.language: t for t in new.translations}
        languages = sorted(c for c in {*before, *after} if before.get(c) != after.get(c))
        texts.append(f"The texts of “{title}” in {', '.join(languages)} changed.")
    texts.extend(_reminder_changes(old, new))
    if old.overdue != new.overdue:
        was, now = overdue_words(old.overdue), overdue_words(new.overdue)
        texts.append(f"“{title}”: overdue reminders {now} (was {was}).")
    if old.stall != new.stall:
        texts.append(f"“{title}”: {stall_words(new.stall)} (was: {stall_words(old.stall)}).")
    return [_line("stage", new.key, "changed", text) for text in texts]


def _reminder_changes(old: StageSpec, new: StageSpec) -> list[str]:
    title = new.title
    before = {r.name: r for r in old.reminders}
    after = {r.name: r for r in new.reminders}
    texts = []
    for name, rule in after.items():
        earlier = before.get(name)
        if earlier is None:
            texts.append(f"“{title}”: new reminder “{name}”, {reminder_words(rule)}.")
        elif earlier != rule:
            was = reminder_words(earlier)
            texts.append(f"“{title}”: reminder “{name}” {reminder_words(rule)} (was {was}).")
    for name, rule in before.items():
        if name not in after:
            texts.append(
                f"“{title}”: reminder “{name}” ({reminder_words(rule)}) is no longer sent."
            )
    return texts


# -- transitions -------------------------------------------------------------------------------

#: How a transition's stages are compared: keys (old ones mapped to new), with "*" for every
#: work stage, so adding a stage does not make "pause" fire "from a new stage".
ANY = "*"


@dataclass(frozen=True)
class _Names:
    """Stage keys in words, from the new version's titles (the old one's for removed stages)."""

    old: TemplateSpec
    new: TemplateSpec

    def __call__(self, keys: tuple[str, ...]) -> str:
        return " or ".join(self.one(key) for key in keys)

    def one(self, key: str) -> str:
        if key == ANY:
            return "any work stage"
        if key == PREVIOUS:
            return "the stage it paused in"
        return _title(self.new, key) if self.new.has_stage(key) else _title(self.old, key)


def _transition_lines(
    old: TemplateSpec, new: TemplateSpec, renames: dict[str, str]
) -> list[DiffLine]:
    lines: list[DiffLine] = []
    names = _Names(old, new)
    old_by = _by_trigger(old)
    new_by = _by_trigger(new)
    for trigger, after in new_by.items():
        before = old_by.get(trigger)
        if before is None:
            text = f"New trigger “{trigger}”: {_moves(new, after, {}, names)}."
            lines.append(_line("transition", trigger, "added", text))
        elif len(before) == 1 and len(after) == 1:
            lines.extend(_transition_changes(old, new, before[0], after[0], renames, names))
        elif _moves(old, before, renames, names) != _moves(new, after, {}, names):
            was, now = _moves(old, before, renames, names), _moves(new, after, {}, names)
            lines.append(
                _line("transition", trigger, "changed", f"“{trigger}” now {now} (was {was}).")
            )
    for trigger, before in old_by.items():
        if trigger not in new_by:
            text = f"Trigger “{trigger}” is removed (it {_moves(old, before, renames, names)})."
            lines.append(_line("transition", trigger, "removed", text))
    return lines


def _by_trigger(spec: TemplateSpec) -> dict[str, list[TransitionSpec]]:
    grouped: dict[str, list[TransitionSpec]] = {}
    for transition in spec.transitions:
        grouped.setdefault(transition.trigger, []).append(transition)
    return grouped


def _sources(spec: TemplateSpec, t: TransitionSpec, renames: Mapping[str, str]) -> tuple[str, ...]:
    work = {s.key for s in spec.work_stages}
    if work and work <= set(t.sources):
        return (ANY, *sorted(renames.get(s, s) for s in t.sources if s not in work))
    return tuple(sorted(renames.get(s, s) for s in t.sources))


def _dest(t: TransitionSpec, renames: Mapping[str, str]) -> str:
    return t.dest if t.dest == PREVIOUS else renames.get(t.dest, t.dest)


def _moves(
    spec: TemplateSpec, group: list[TransitionSpec], renames: Mapping[str, str], names: _Names
) -> str:
    parts = []
    for t in group:
        needs = "; needs " + ", ".join(guard_words(g) for g in t.guards) if t.guards else ""
        where = f"from {names(_sources(spec, t, renames))} to {names.one(_dest(t, renames))}"
        parts.append(f"moves {where}{needs}")
    return "; ".join(parts)


def _transition_changes(
    old: TemplateSpec,
    new: TemplateSpec,
    before: TransitionSpec,
    after: TransitionSpec,
    renames: Mapping[str, str],
    names: _Names,
) -> list[DiffLine]:
    trigger = after.trigger
    lines: list[DiffLine] = []

    def say(text: str) -> None:
        lines.append(_line("transition", trigger, "changed", text))

    was_from, now_from = _sources(old, before, renames), _sources(new, after, {})
    if was_from != now_from:
        say(f"“{trigger}” now fires from {names(now_from)} (was {names(was_from)}).")
    was_to, now_to = _dest(before, renames), _dest(after, {})
    if was_to != now_to:
        say(f"“{trigger}” now leads to {names.one(now_to)} (was {names.one(was_to)}).")
    old_guards = {g.name: g for g in before.guards}
    new_guards = {g.name: g for g in after.guards}
    for name, guard in new_guards.items():
        earlier = old_guards.get(name)
        if earlier is None:
            say(f"“{trigger}” now needs {guard_words(guard)}.")
        elif earlier.arg != guard.arg:
            say(f"“{trigger}” now needs {guard_words(guard)} (was {guard_words(earlier)}).")
    for name, guard in old_guards.items():
        if name not in new_guards:
            say(f"“{trigger}” no longer needs {guard_words(guard)}.")
    if set(before.roles) != set(after.roles):
        roles = ", ".join(after.roles) or "anyone"
        say(f"“{trigger}” may now be fired by {roles} (was {', '.join(before.roles) or 'anyone'}).")
    if before.description != after.description:
        say(f"The description of “{trigger}” changed.")
    return lines
