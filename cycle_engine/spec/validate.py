"""The checks that make a template safe to run cycles on, split from the loader to keep both small.

Two kinds of checks live here. *Field checks* (names, keys, durations, roles, guards) are called by
the loader while it turns the parsed document into spec objects, so each problem carries the exact
path of the bad value. *Graph checks* (`check_graph`) run on the converted stages and transitions:
unknown or unreachable stages, missing initial or final stages, dead ends, conflicting triggers
and misuse of `@previous`. Nothing raises here: every problem is added to a `Problems` collector,
and the loader raises one `InvalidTemplate` listing them all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cycle_engine.errors import InvalidTemplate, Message, TemplateProblem
from cycle_engine.spec.durations import DurationError, parse_duration
from cycle_engine.spec.guards import GuardDefinition
from cycle_engine.spec.messages import N_, did_you_mean, message
from cycle_engine.spec.specs import ANY_ACTIVE, PREVIOUS, GuardSpec, StageSpec
from cycle_engine.spec.vocabulary import Vocabulary

#: Stage keys, triggers, reminder and guard names: `question_workshop`.
SNAKE_NAME = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
#: Template keys may also use hyphens: `learning-cycle`.
TEMPLATE_KEY = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")

#: Control characters text may not hold (tab, line feed and carriage return may appear).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


class Problems:
    """Collects template problems with the file name and, where known, the line of each path.

    `lines` maps a path (`stages[3].duration`) to its 1-based line; `scalars` maps the path of a
    value YAML turned into a boolean or null to the text the author wrote (`on`, `no`, `~`).
    `vocabulary` holds the domain's words the checks compare against (roles, product kinds).
    Each problem keeps its words as a `Message` (a msgid marked with `N_` and its values), so it
    reads in English as before and in the coordinator's language from the `validator` catalog.
    """

    def __init__(self, source: str, vocabulary: Vocabulary | None = None) -> None:
        self.source = source
        self.vocabulary = vocabulary or Vocabulary()
        self.lines: dict[str, int] = {}
        self.scalars: dict[str, str] = {}
        self._items: list[TemplateProblem] = []
        #: Set by a problem after which nothing else can be checked (the file is not YAML).
        self.fatal = False

    def add(
        self,
        path: str,
        text: str | Message,
        *,
        line: int | None = None,
        fatal: bool = False,
        **params: object,
    ) -> None:
        """Add the problem `text` (a msgid marked with `N_`, filled from `params`, or a
        `Message`) at `path`, with the line of `path` when the document has one."""
        self.fatal = self.fatal or fatal
        line = line if line is not None else self.line_for(path)
        words = text if isinstance(text, Message) else message(text, **params)
        if line is not None:
            words = message(N_("{problem} (line {line})"), problem=words, line=line)
        self._items.append(TemplateProblem.of(self.source, path, words))

    @property
    def count(self) -> int:
        """How many problems were added so far."""
        return len(self._items)

    def line_for(self, path: str) -> int | None:
        """The line of `path`, or of its nearest enclosing path the document has."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = re.sub(r"(\[\d+\]|\.?[^.\[]+)$", "", path)
        return None

    def raise_if_any(self) -> None:
        """Raises InvalidTemplate listing every problem added so far, if there is any."""
        if self._items:
            raise InvalidTemplate(self._items)

    def __iter__(self) -> Iterator[TemplateProblem]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


def _choices(options: Iterable[str]) -> str:
    return ", ".join(repr(o) for o in options)


def describe_bad_name(problems: Problems, path: str, value: object, what: str) -> Message:
    """Why `value` at `path` is not a `what` (a msgid marked with `N_`: "a stage key"),
    naming YAML's boolean trap when it sprang."""
    raw = problems.scalars.get(path)
    if isinstance(value, bool) and raw is not None:
        return message(N_("YAML reads bare {raw!r} as a boolean; quote it"), raw=raw)
    if value is None:
        if raw:
            return message(N_("YAML reads bare {raw!r} as null; quote it"), raw=raw)
        return message(N_("missing {what}"), what=Message(what))
    return message(N_("expected {what}, got {value!r}"), what=Message(what), value=value)


def check_keys(
    problems: Problems,
    mapping: Mapping[Any, Any],
    path: str,
    allowed: Sequence[str],
    required: Sequence[str] = (),
) -> None:
    """Report keys of `mapping` that are not `allowed` and `required` keys that are missing."""
    for key in mapping:
        if isinstance(key, str) and key not in allowed:
            problems.add(
                _join(path, key),
                N_("unknown key {key!r} ({hint}expected one of {choices})"),
                key=key,
                hint=did_you_mean(key, allowed),
                choices=_choices(allowed),
            )
    for key in required:
        if key not in mapping:
            problems.add(path, N_("missing required key {key!r}"), key=key)


def expect_name(
    problems: Problems,
    value: object,
    path: str,
    *,
    what: str = N_("a name"),
    pattern: re.Pattern[str],
) -> str | None:
    """`value` as a name; reports a non-string or a name that does not match `pattern`.
    `what` is a msgid marked with `N_` ("a stage key").

    Returns the string even when it breaks the naming rule, so later checks still see it.
    """
    if not isinstance(value, str):
        problems.add(path, describe_bad_name(problems, path, value, what))
        return None
    if not pattern.match(value):
        style = "kebab-case or lower_snake_case" if pattern is TEMPLATE_KEY else "lower_snake_case"
        problems.add(
            path,
            N_("{value!r} is not a {style} name (a-z, 0-9, '_'; starts with a letter)"),
            value=value,
            style=style,
        )
    return value


def expect_text(problems: Problems, value: object, path: str) -> str:
    """`value` as free text (titles, descriptions); reports anything else, and text with
    control characters (NUL cannot be stored by PostgreSQL; line breaks and tabs are fine)."""
    if isinstance(value, str):
        bad = _CONTROL.search(value)
        if bad is not None:
            problems.add(
                path, N_("contains the control character {character!r}"), character=bad.group()
            )
        return value
    problems.add(path, describe_bad_name(problems, path, value, N_("text")))
    return ""


def expect_flag(problems: Problems, value: object, path: str) -> bool:
    """`value` as true/false; reports anything else."""
    if isinstance(value, bool):
        return value
    problems.add(path, N_("expected true or false, got {value!r}"), value=value)
    return False


def expect_duration(
    problems: Problems, value: object, path: str, *, allow_zero: bool = False
) -> timedelta | None:
    """`value` parsed as an ISO 8601 duration; reports bad text and (unless allowed) zero."""
    if not isinstance(value, str):
        problems.add(
            path,
            N_("expected an ISO 8601 duration such as 'P3W' or 'P10D', got {value!r}"),
            value=value,
        )
        return None
    try:
        delta = parse_duration(value)
    except DurationError as exc:
        problems.add(path, exc.text)
        return None
    if not delta and not allow_zero:
        problems.add(path, N_("{value!r} must be longer than zero"), value=value)
        return None
    return delta


def expect_roles(
    problems: Problems, value: object, path: str, allowed: Sequence[str]
) -> tuple[str, ...]:
    """`value` (a role or a list of roles) as a tuple of known roles; reports unknown ones.

    `allowed` is usually a list of `problems.vocabulary` (its recipient or transition roles).
    """
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        problems.add(path, N_("expected a list of roles, got {value!r}"), value=value)
        return ()
    roles: list[str] = []
    for index, role in enumerate(items):
        where = path if isinstance(value, str) else f"{path}[{index}]"
        if not isinstance(role, str):
            problems.add(where, describe_bad_name(problems, where, role, N_("a role")))
        elif role not in allowed:
            problems.add(
                where,
                N_("unknown role {role!r} ({hint}expected one of {choices})"),
                role=role,
                hint=did_you_mean(role, allowed),
                choices=_choices(allowed),
            )
        else:
            roles.append(role)
    return tuple(roles)


def check_guard(
    problems: Problems, guards: Mapping[str, GuardDefinition], guard: GuardSpec, path: str
) -> None:
    """Report a guard name the registry does not know, or an argument the guard refuses."""
    definition = guards.get(guard.name)
    if definition is None:
        problems.add(
            path,
            N_("unknown guard {guard!r} ({hint}known guards: {choices})"),
            guard=guard.name,
            hint=did_you_mean(guard.name, guards),
            choices=_choices(sorted(guards)),
        )
        return
    problem = definition.argument_problem(guard.arg)
    if problem:
        problems.add(_join(path, guard.name), problem)
    elif definition.arg_choices is not None:
        allowed = problems.vocabulary.choices(definition.arg_choices)
        if guard.arg not in allowed:
            what = definition.arg_choices.replace("_", " ").removesuffix("s")
            problems.add(
                _join(path, guard.name),
                _UNKNOWN_CHOICE.get(definition.arg_choices, _UNKNOWN_WORD),
                what=what,
                value=guard.arg,
                guard=guard.name,
                hint=did_you_mean(str(guard.arg), allowed),
                choices=_choices(allowed) if allowed else message(_NO_WORDS),
            )


#: A guard argument the domain does not know, per vocabulary list (so each reads naturally).
_UNKNOWN_CHOICE = {
    "product_kinds": N_(
        "unknown product kind {value!r} for guard {guard!r} ({hint}expected one of {choices})"
    ),
    "ratings": N_("unknown rating {value!r} for guard {guard!r} ({hint}expected one of {choices})"),
    "participation_levels": N_(
        "unknown participation level {value!r} for guard {guard!r}"
        " ({hint}expected one of {choices})"
    ),
}
_UNKNOWN_WORD = N_("unknown {what} {value!r} for guard {guard!r} ({hint}expected one of {choices})")
_NO_WORDS = N_("none (the domain defines no such words)")


def is_guard_arg(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


@dataclass(frozen=True, kw_only=True)
class TransitionDraft:
    """A transition as written, before `*` is expanded; paths let problems point at each part."""

    index: int
    trigger: str | None
    sources: tuple[str, ...]
    source_paths: tuple[str, ...]
    dest: str | None
    guards: tuple[GuardSpec, ...] = ()
    roles: tuple[str, ...] = ()
    description: str = ""

    @property
    def path(self) -> str:
        return f"transitions[{self.index}]"


def expand_sources(sources: Iterable[str], stages: Sequence[StageSpec]) -> tuple[str, ...]:
    """Replace `*` with every work stage (neither final nor hold), keeping order, no repeats."""
    work = [s.key for s in stages if not s.final and not s.hold]
    expanded: list[str] = []
    for source in sources:
        expanded.extend(work if source == ANY_ACTIVE else [source])
    return tuple(dict.fromkeys(expanded))


def check_graph(
    problems: Problems,
    initial: str | None,
    stages: Sequence[tuple[int, StageSpec]],
    transitions: Sequence[TransitionDraft],
) -> None:
    """Check how stages and transitions fit together; see the module docstring for the list."""
    by_key: dict[str, StageSpec] = {}
    for index, stage in stages:
        first = next((i for i, s in stages if s.key == stage.key), index)
        if first != index:
            problems.add(
                f"stages[{index}].key",
                N_("duplicate stage key {key!r} (first declared at stages[{first}])"),
                key=stage.key,
                first=first,
            )
        by_key.setdefault(stage.key, stage)
    _check_initial(problems, initial, by_key)
    if stages and not any(s.final for s in by_key.values()):
        problems.add("stages", N_("no final stage: mark at least one stage 'final: true'"))
    before = len(problems)
    edges = _check_transitions(problems, by_key, transitions)
    _check_conflicts(problems, transitions, edges)
    broken = any(d.dest is None or not d.sources for d in transitions)
    if not transitions or broken or len(problems) > before:
        return  # dead ends and unreachable stages in a broken graph are only noise
    _check_exits(problems, stages, edges)
    if initial in by_key and not (by_key[initial].final or by_key[initial].hold):
        reached = _reachable(initial, edges)
        for index, stage in stages:
            if stage.key not in reached:
                problems.add(
                    f"stages[{index}]",
                    N_("stage {stage!r} cannot be reached from the initial stage {initial!r}"),
                    stage=stage.key,
                    initial=initial,
                )


def _check_initial(problems: Problems, initial: str | None, by_key: dict[str, StageSpec]) -> None:
    if initial is None:
        if not any(p.path == "initial" for p in problems):  # not already refused as a name
            problems.add("initial", N_("no initial stage: add 'initial: <stage key>'"))
    elif initial not in by_key:
        problems.add("initial", _unknown_stage(initial, by_key))
    elif by_key[initial].final or by_key[initial].hold:
        problems.add(
            "initial", N_("the initial stage {stage!r} must be a work stage"), stage=initial
        )


def _unknown_stage(name: str, by_key: Mapping[str, StageSpec]) -> Message:
    return message(
        N_("unknown stage {stage!r} ({hint}stages: {choices})"),
        stage=name,
        hint=did_you_mean(name, by_key),
        choices=_choices(by_key),
    )


#: Expanded edges: (transition index, source, dest) with dest possibly `@previous`.
Edge = tuple[int, str, str]


def _check_transitions(
    problems: Problems, by_key: dict[str, StageSpec], transitions: Sequence[TransitionDraft]
) -> list[Edge]:
    edges: list[Edge] = []
    stages = list(by_key.values())
    for draft in transitions:
        for name, path in zip(draft.sources, draft.source_paths, strict=True):
            if name != ANY_ACTIVE and name not in by_key:
                problems.add(path, _unknown_stage(name, by_key))
            elif name in by_key and by_key[name].final:
                problems.add(
                    path, N_("final stage {stage!r} cannot have outgoing transitions"), stage=name
                )
        dest, to_path = draft.dest, f"{draft.path}.to"
        if dest is None:
            continue
        if dest == PREVIOUS:
            for name in draft.sources:
                if name == ANY_ACTIVE or (name in by_key and not by_key[name].hold):
                    problems.add(
                        to_path,
                        N_(
                            "'@previous' returns from a hold stage, but {stage!r} is not one"
                            " (mark the stage 'hold: true')"
                        ),
                        stage=name,
                    )
        elif dest not in by_key:
            problems.add(to_path, _unknown_stage(dest, by_key))
            continue
        for source in expand_sources(draft.sources, stages):
            if source in by_key and not by_key[source].final:
                edges.append((draft.index, source, dest))
    return edges


def _check_conflicts(
    problems: Problems, transitions: Sequence[TransitionDraft], edges: Sequence[Edge]
) -> None:
    """Same trigger from the same stage to two different destinations is ambiguous."""
    triggers = {d.index: d.trigger for d in transitions}
    first: dict[tuple[str | None, str], tuple[int, str]] = {}
    clashes: dict[tuple[int, int], list[str]] = {}
    for index, source, dest in edges:
        seen = first.setdefault((triggers[index], source), (index, dest))
        if seen[1] != dest:
            clashes.setdefault((seen[0], index), []).append(source)
    for (earlier, later), sources in clashes.items():
        dests = {i: d for i, _, d in edges if i in (earlier, later)}
        problems.add(
            f"transitions[{later}].to",
            N_(
                "trigger {trigger!r} from {sources} already goes to {first!r}"
                " (transitions[{earlier}]); it cannot also go to {dest!r}"
            ),
            trigger=triggers[later],
            sources=_choices(sources),
            first=dests[earlier],
            earlier=earlier,
            dest=dests[later],
        )


def _check_exits(
    problems: Problems, stages: Sequence[tuple[int, StageSpec]], edges: Sequence[Edge]
) -> None:
    """Every work stage needs a way on (a hold stage is a detour, not a way on), every hold
    stage a way back (`@previous`), and from every work stage some path must end."""
    holds = {s.key for _, s in stages if s.hold}
    onward = [(source, dest) for _, source, dest in edges if dest not in holds | {PREVIOUS}]
    leaving = {source for source, _ in onward}
    resumes = {source for _, source, dest in edges if dest == PREVIOUS}
    finals = {s.key for _, s in stages if s.final}
    can_finish = _reaching(finals, onward)
    for index, stage in stages:
        path = f"stages[{index}]"
        if stage.hold and stage.key not in resumes:
            problems.add(
                path,
                N_(
                    "hold stage {stage!r} has no transition to '@previous'"
                    " (add one, e.g. 'trigger: resume')"
                ),
                stage=stage.key,
            )
        elif stage.final or stage.hold:
            continue
        elif stage.key not in leaving:
            problems.add(
                path,
                N_(
                    "stage {stage!r} has no way out: add a transition from it"
                    " or mark it 'final: true'"
                ),
                stage=stage.key,
            )
        elif finals and stage.key not in can_finish:
            problems.add(
                path, N_("no path leads from stage {stage!r} to a final stage"), stage=stage.key
            )


def _reachable(initial: str, edges: Sequence[Edge]) -> set[str]:
    """Stages reachable from `initial`.

    `@previous` from a hold stage reaches the stages that entered it; those were reached
    already, so it never adds a stage, and a stage that only a resume could lead to is
    reported as unreachable.
    """
    reached, todo = {initial}, [initial]
    while todo:
        stage = todo.pop()
        for _, source, dest in edges:
            if source == stage and dest != PREVIOUS and dest not in reached:
                reached.add(dest)
                todo.append(dest)
    return reached


def _reaching(targets: set[str], edges: Sequence[tuple[str, str]]) -> set[str]:
    """Stages from which some stage in `targets` can be reached along `edges`."""
    found = set(targets)
    changed = True
    while changed:
        changed = False
        for source, dest in edges:
            if source not in found and dest in found:
                found.add(source)
                changed = True
    return found
