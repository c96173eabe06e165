"""Validating the editor's template and placing each problem beside its field; the diagram.

Validation is the engine's own (`engine.drafts.validate`, the loader and validator the CLI
uses), run on the text the form produces; each problem is worded in the coordinator's language
(the `validator` catalog, `cycle_engine.spec.messages`). Each problem's path
(`stages[2].duration`) is mapped to the slot of the form field it concerns (`stage-2-duration`),
or to the nearest enclosing row, or, when the form has no such place, to the list above the form.
The diagram is the cycle page's SVG (`dashboard.svg`), drawn from whatever part of the template
is usable even while it has problems, with stages that cannot be reached from the first stage,
or cannot reach a final stage, outlined and named.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from cycle_engine.api.dashboard.editor.model import TemplateForm
from cycle_engine.api.dashboard.svg import state_diagram_svg
from cycle_engine.errors import InvalidTemplate, TemplateProblem
from cycle_engine.i18n import DEFAULT_LANGUAGE
from cycle_engine.spec.messages import problem_message
from cycle_engine.spec.specs import ANY_ACTIVE, PREVIOUS, StageSpec, TemplateSpec, TransitionSpec

_MISSING = re.compile(r"^missing required key '(\w+)'")
_RULES = r"(?:\.(?P<rule>reminders|overdue|stall)(?:\[(?P<r>\d+)\])?)?"
_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (
        re.compile(r"^stages\[(?P<i>\d+)\]\.translations(?:\.(?P<code>[^.]+))?(?:\.(?P<f>\w+))?"),
        lambda m: _text_slot(m),
    ),
    (
        re.compile(r"^stages\[(?P<i>\d+)\]" + _RULES + r"(?:\.(?P<f>\w+))?"),
        lambda m: _stage_slot(m),
    ),
    (
        re.compile(r"^defaults" + _RULES),
        lambda m: _rule_slot("defaults", m),
    ),
    (
        re.compile(r"^transitions\[(?P<i>\d+)\](?:\.(?P<f>\w+))?(?:\[(?P<g>\d+)\])?"),
        lambda m: _transition_slot(m),
    ),
    (
        re.compile(r"^translations(?:\.(?P<code>[^.]+))?(?:\.(?P<f>\w+))?"),
        lambda m: _template_text_slot(m),
    ),
    (re.compile(r"^(?P<f>key|title|description|initial)$"), lambda m: m["f"]),
)


def _template_text_slot(match: re.Match[str]) -> str:
    """A problem of the template's own text in one language: beside that language's field."""
    if match["code"] is None:
        return "translations"  # no such field: listed above the form
    if match["f"] in ("title", "description"):
        return f"tr-{match['code']}-{match['f']}"
    return f"tr-{match['code']}"


def _rule_slot(prefix: str, match: re.Match[str]) -> str:
    rule = match["rule"]
    if rule is None:
        return prefix
    if rule == "reminders":
        return (
            f"{prefix}-reminder-{match['r']}" if match["r"] is not None else f"{prefix}-reminders"
        )
    return f"{prefix}-{rule}"


def _stage_slot(match: re.Match[str]) -> str:
    prefix = f"stage-{match['i']}"
    if match["rule"] is not None:
        return _rule_slot(prefix, match)
    name = match["f"]
    if name in ("final", "hold"):
        return f"{prefix}-kind"
    return f"{prefix}-{name}" if name in ("key", "title", "description", "duration") else prefix


def _text_slot(match: re.Match[str]) -> str:
    """A problem of a stage's text in one language: beside that language's field."""
    prefix = f"stage-{match['i']}"
    if match["code"] is None:
        return prefix
    if match["f"] in ("title", "description"):
        return f"{prefix}-tr-{match['code']}-{match['f']}"
    return f"{prefix}-tr-{match['code']}"


def _transition_slot(match: re.Match[str]) -> str:
    prefix = f"transition-{match['i']}"
    name = match["f"]
    if name == "requires":
        return f"{prefix}-guard-{match['g']}" if match["g"] is not None else f"{prefix}-guards"
    if name in ("trigger", "from", "to", "roles", "description"):
        return f"{prefix}-{name}"
    return prefix


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def slot_of(path: str) -> str | None:
    for pattern, slot in _PATTERNS:
        match = pattern.match(path)
        if match is not None:
            return slot(match)
    return None


def form_slots(form: TemplateForm) -> list[str]:
    """Every slot the form shows a problem in (so a live update can clear them all)."""
    slots = ["key", "title", "description", "initial", "defaults-reminders"]
    for code in form.translations:
        slots += [f"tr-{code}", f"tr-{code}-title", f"tr-{code}-description"]
    slots += ["defaults-overdue", "defaults-stall"]
    slots += [f"defaults-reminder-{j}" for j in range(len(form.defaults.reminders))]
    for i, stage in enumerate(form.stages):
        p = f"stage-{i}"
        slots += [p, f"{p}-key", f"{p}-title", f"{p}-description", f"{p}-kind", f"{p}-duration"]
        slots += [f"{p}-reminders", f"{p}-overdue", f"{p}-stall"]
        slots += [f"{p}-reminder-{j}" for j in range(len(stage.rules.reminders))]
        for code in stage.translations:
            slots += [f"{p}-tr-{code}", f"{p}-tr-{code}-title", f"{p}-tr-{code}-description"]
    for i, transition in enumerate(form.transitions):
        p = f"transition-{i}"
        slots += [p, f"{p}-trigger", f"{p}-from", f"{p}-to", f"{p}-roles", f"{p}-description"]
        slots += [f"{p}-guards", *(f"{p}-guard-{j}" for j in range(len(transition.guards)))]
    return slots


@dataclass(frozen=True, kw_only=True)
class Checked:
    """The outcome of validating: the spec (None while problems remain), each problem placed."""

    spec: TemplateSpec | None
    problems: tuple[TemplateProblem, ...]
    by_slot: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.spec is not None and not self.problems


def in_language(
    problems: tuple[TemplateProblem, ...], language: str
) -> tuple[TemplateProblem, ...]:
    """The same problems with `message` worded in `language` (for pages that list them)."""
    return tuple(
        TemplateProblem(p.source, p.path, problem_message(p, language), p.text) for p in problems
    )


def place(
    problems: tuple[TemplateProblem, ...],
    form: TemplateForm | None,
    language: str = DEFAULT_LANGUAGE,
) -> Checked:
    """Each problem, worded in `language`, beside the form field its path names (or in the
    general list when the form has no such field)."""
    slots = set(form_slots(form)) if form is not None else set()
    by_slot: dict[str, list[str]] = {}
    general: list[str] = []
    for problem in problems:
        missing = _MISSING.match(problem.message)
        slot = slot_of(problem.path)
        if missing is not None and slot_of(_join(problem.path, missing[1])) in slots:
            slot = slot_of(_join(problem.path, missing[1]))
        while slot is not None and slot not in slots and "-" in slot:
            slot = (
                slot.rsplit("-", 1)[0]
                if not slot.rsplit("-", 1)[1].isdigit()
                else (slot.rsplit("-", 2)[0])
            )
        message = problem_message(problem, language)
        if slot in slots:
            by_slot.setdefault(slot, []).append(message)
        else:
            where = f"{problem.path}: " if problem.path else ""
            general.append(where + message)
    return Checked(spec=None, problems=problems, by_slot=by_slot, general=general)


def check(
    text: str,
    form: TemplateForm | None,
    validate: Callable[[str], TemplateSpec],
    language: str = DEFAULT_LANGUAGE,
) -> Checked:
    """Validate `text` (the form's, or the hand-written one) and place its problems, worded in
    `language`."""
    try:
        spec = validate(text)
    except InvalidTemplate as invalid:
        return place(invalid.problems, form, language)
    return Checked(spec=spec, problems=())


# --- the diagram -----------------------------------------------------------------------------


def sketch(form: TemplateForm) -> TemplateSpec | None:
    """The usable part of the form as a spec for drawing: stages with a key (first of each
    key), transitions between them; None when there is no stage to draw."""
    stages: dict[str, StageSpec] = {}
    for stage in form.stages:
        if stage.key and stage.key not in stages:
            stages[stage.key] = StageSpec(
                key=stage.key,
                title=stage.title or stage.key,
                final=stage.kind == "final",
                hold=stage.kind == "hold",
            )
    if not stages:
        return None
    work = [s.key for s in stages.values() if not s.final and not s.hold]
    transitions = []
    for t in form.transitions:
        if not t.trigger or not (t.dest in stages or t.dest == PREVIOUS):
            continue
        sources: list[str] = []
        for source in t.sources:
            sources += work if source == ANY_ACTIVE else [source]
        kept = tuple(dict.fromkeys(s for s in sources if s in stages and not stages[s].final))
        if kept:
            transitions.append(TransitionSpec(trigger=t.trigger, sources=kept, dest=t.dest))
    initial = form.initial if form.initial in stages else next(iter(stages))
    return TemplateSpec(
        key=form.key or "draft",
        title=form.title or "the draft",
        initial=initial,
        stages=tuple(stages.values()),
        transitions=tuple(transitions),
    )


def stuck_stages(spec: TemplateSpec) -> dict[str, str]:
    """Stages that cannot be reached from the first stage, or from which no final stage can
    be reached, with the reason in words."""
    edges = [(s, t.dest) for t in spec.transitions for s in t.sources if t.dest != PREVIOUS]
    reached, todo = {spec.initial}, [spec.initial]
    while todo:
        stage = todo.pop()
        for source, dest in edges:
            if source == stage and dest not in reached:
                reached.add(dest)
                todo.append(dest)
    holds = {s.key for s in spec.stages if s.hold}
    onward = [(s, d) for s, d in edges if d not in holds]
    finishing = {s.key for s in spec.stages if s.final}
    changed = True
    while changed:
        changed = False
        for source, dest in onward:
            if dest in finishing and source not in finishing:
                finishing.add(source)
                changed = True
    flagged: dict[str, str] = {}
    for node in spec.stages:
        if node.key not in reached:
            flagged[node.key] = f"{node.title} cannot be reached from the first stage"
        elif not node.hold and node.key not in finishing:
            flagged[node.key] = f"no way leads from {node.title} to a final stage"
    return flagged


def diagram(form: TemplateForm | None) -> tuple[str | None, dict[str, str]]:
    """The SVG of the form's template (None: nothing to draw) and the stages it marks."""
    spec = sketch(form) if form is not None else None
    if spec is None:
        return None, {}
    flagged = stuck_stages(spec)
    return state_diagram_svg(spec, flagged=flagged), flagged
