"""Turn a template file into a validated `TemplateSpec`, or one error listing every problem.

Before anything is parsed, a template is bounded: at most MAX_TEMPLATE_BYTES (checked on the file's
size before it is read), nested at most MAX_DEPTH levels and at most MAX_NODES nodes (checked on
the parser's event stream, which needs no recursion), so memory and stack stay bounded whatever
the file holds. The pipeline is: read the YAML (JSON is YAML too) with a safe loader that also
notes duplicate keys,
YAML 1.1's bare `on`/`off`/`yes`/`no` turning into booleans where a name was meant, and the line of
every path; convert the document into spec objects, checking each field as it goes; then check the
graph of stages and transitions (`validate.py`). Problems are collected, never raised one at a
time, so an author fixes a file in one pass. Nothing after this module touches the raw document.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from cycle_engine.errors import InvalidTemplate, Message, TemplateProblem
from cycle_engine.spec.durations import MAX_DURATION, format_duration
from cycle_engine.spec.guards import GuardDefinition, GuardRegistry
from cycle_engine.spec.messages import N_, message
from cycle_engine.spec.specs import (
    ANY_ACTIVE,
    PREVIOUS,
    GuardSpec,
    StageSpec,
    TemplateSpec,
    TransitionSpec,
)
from cycle_engine.spec.stages import convert_defaults, convert_stage
from cycle_engine.spec.translations import convert_translations
from cycle_engine.spec.validate import (
    SNAKE_NAME,
    TEMPLATE_KEY,
    Problems,
    TransitionDraft,
    check_graph,
    check_guard,
    check_keys,
    expand_sources,
    expect_name,
    expect_roles,
    expect_text,
    is_guard_arg,
)

TEMPLATE_KEYS = (
    "key",
    "title",
    "description",
    "translations",
    "initial",
    "defaults",
    "stages",
    "transitions",
)
TRANSITION_KEYS = ("trigger", "from", "to", "roles", "requires", "description")

_NAME_TAGS = {
    "tag:yaml.org,2002:bool": N_("a boolean"),
    "tag:yaml.org,2002:null": N_("null"),
    "tag:yaml.org,2002:int": N_("a number"),
    "tag:yaml.org,2002:float": N_("a number"),
    "tag:yaml.org,2002:timestamp": N_("a date"),
}
_MERGE_TAG = "tag:yaml.org,2002:merge"
#: Far larger than any real template (the built-in ones are about 6 KB).
MAX_TEMPLATE_BYTES = 256 * 1024
#: Deeper than any real template nests (about 5 levels); PyYAML composes nodes recursively.
MAX_DEPTH = 32
#: More nodes than any real template has (with aliases expanded); a guard against alias bombs.
MAX_NODES = 20_000
_OPENING = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSING = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def load_template(
    source: str | Path, *, text: str | None = None, guards: Mapping[str, GuardDefinition]
) -> TemplateSpec:
    """Load and validate the template file at `source` (or `text`, named after `source`).

    Args:
        source: the file to read; when `text` is given, only its name is used in messages.
        text: the template's content, if it is already in memory.
        guards: the guards templates may name (usually `default_guards()`); a `GuardRegistry`
            also brings the domain's vocabulary (roles, product kinds) the template is checked
            against.

    Raises:
        InvalidTemplate: the file cannot be read, is not YAML, or has any problem; `problems`
            lists every one with the file, the path inside it, the bad value and the line.
    """
    name = str(source)
    if text is None:
        text = read_template_file(source)
    return load_template_text(text, name, guards)


def read_template_file(path: str | Path) -> str:
    """The text of the template file at `path`, read only if it is small enough.

    Raises:
        InvalidTemplate: the file cannot be read, is larger than MAX_TEMPLATE_BYTES (found
            from its size, before reading), or is not UTF-8 text.
    """
    name = str(path)
    try:
        with Path(path).open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            data = b"" if size > MAX_TEMPLATE_BYTES else handle.read(MAX_TEMPLATE_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        problem = TemplateProblem.of(
            name, "", message(N_("cannot read the file: {reason}"), reason=reason)
        )
        raise InvalidTemplate([problem]) from exc
    if size > MAX_TEMPLATE_BYTES or len(data) > MAX_TEMPLATE_BYTES:
        raise InvalidTemplate([_too_large(name, max(size, len(data)))])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = TemplateProblem.of(
            name,
            "",
            message(
                N_("the file is not UTF-8 text ({reason} at byte {position})"),
                reason=exc.reason,
                position=exc.start,
            ),
        )
        raise InvalidTemplate([problem]) from None


def _too_large(source_name: str, size: int) -> TemplateProblem:
    return TemplateProblem.of(
        source_name,
        "",
        message(
            N_("the template is {size} bytes; a template is at most {limit} bytes"),
            size=size,
            limit=MAX_TEMPLATE_BYTES,
        ),
    )


def load_template_text(
    text: str, source_name: str, guards: Mapping[str, GuardDefinition]
) -> TemplateSpec:
    """Load and validate a template from `text`; `source_name` names it in every problem.

    Raises:
        InvalidTemplate: listing every problem found (see `load_template`).
    """
    if len(text) > MAX_TEMPLATE_BYTES or len(text.encode("utf-8")) > MAX_TEMPLATE_BYTES:
        raise InvalidTemplate([_too_large(source_name, len(text.encode("utf-8")))])
    vocabulary = guards.vocabulary if isinstance(guards, GuardRegistry) else None
    problems = Problems(source_name, vocabulary)
    document = read_document(text, problems)
    if problems.fatal:
        problems.raise_if_any()
    spec = _convert(document, problems, guards)
    problems.raise_if_any()
    assert spec is not None  # no problems means the conversion completed
    return replace(spec, source=source_name, content_hash=content_hash(document))


def content_hash(document: object) -> str:
    """SHA-256 of the document's canonical JSON: comments, spacing and key order do not count."""
    canonical = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class _TemplateLoader(yaml.SafeLoader):
    """A SafeLoader that checks the node tree before building Python objects from it.

    `inspect_node` records the line of each path, reports duplicate keys, and reports mapping keys
    that YAML resolves to something other than a string (bare `on:` becomes True). It also keeps
    the text of scalars that became booleans or null, so a name check later can say why.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._open: set[int] = set()  # nodes being inspected: an alias into one would loop
        self._budget = MAX_NODES  # aliases can multiply nodes ("billion laughs")

    def inspect_node(self, node: yaml.Node, path: str, problems: Problems) -> None:
        problems.lines.setdefault(path, node.start_mark.line + 1)
        self._budget -= 1
        if self._budget < 0:
            if self._budget == -1:  # report once, then stop walking
                problems.add(
                    path, N_("the document is too large (aliases expand too far)"), fatal=True
                )
            return
        if id(node) in self._open:
            problems.add(path, N_("an alias refers to a node that contains it"), fatal=True)
            return
        self._open.add(id(node))
        try:
            self._inspect_children(node, path, problems)
        finally:
            self._open.discard(id(node))

    def _inspect_children(self, node: yaml.Node, path: str, problems: Problems) -> None:
        if isinstance(node, yaml.ScalarNode):
            if node.tag in _NAME_TAGS:
                problems.scalars[path] = node.value
        elif isinstance(node, yaml.SequenceNode):
            for index, child in enumerate(node.value):
                self.inspect_node(child, f"{path}[{index}]", problems)
        elif isinstance(node, yaml.MappingNode):
            self._check_mapping(node, path, problems)

    def _check_mapping(self, node: yaml.MappingNode, path: str, problems: Problems) -> None:
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE_TAG:
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                problems.add(path, N_("a key must be a plain name"), line=line)
                continue
            key = key_node.value
            child = f"{path}.{key}" if path else key
            if key_node.tag in _NAME_TAGS:
                problems.add(
                    path,
                    N_("key {key!r}: YAML reads bare {key!r} as {kind}; quote it"),
                    line=line,
                    key=key,
                    kind=Message(_NAME_TAGS[key_node.tag]),
                )
            elif key in first_line:
                problems.add(
                    child,
                    N_("duplicate key {key!r} (first at line {first})"),
                    line=line,
                    key=key,
                    first=first_line[key],
                )
                continue
            first_line[key] = line
            problems.lines[child] = line
            self.inspect_node(value_node, child, problems)


@dataclass(frozen=True)
class _Parsed:
    """A document parsed without a problem, with the lines and scalars of its paths."""

    document: Any
    lines: dict[str, int]
    scalars: dict[str, str]


#: Texts parsed without a problem, most recent last: a template version's text is parsed once
#: per process instead of once per engine, publish and first fire (about 30 ms each for the
#: built-ins, which every CLI command, test and benchmark engine loads).
_PARSED: OrderedDict[str, _Parsed] = OrderedDict()
_PARSED_KEPT = 16
_PARSED_LOCK = threading.Lock()


def read_document(text: str, problems: Problems) -> Any:
    """Parse `text` as YAML, adding syntax errors, duplicate keys and non-string keys to
    `problems` (syntax errors are fatal: `problems.fatal` is set). Each call gets its own
    copy of the document: a text read before without a problem is not parsed again."""
    with _PARSED_LOCK:
        parsed = _PARSED.get(text)
        if parsed is not None:
            _PARSED.move_to_end(text)
    if parsed is None:
        before = problems.count
        document = _parse(text, problems)
        if problems.count > before or problems.fatal or document is None:
            return document
        parsed = _Parsed(document, dict(problems.lines), dict(problems.scalars))
        with _PARSED_LOCK:
            _PARSED[text] = parsed
            while len(_PARSED) > _PARSED_KEPT:
                _PARSED.popitem(last=False)
    problems.lines.update(parsed.lines)
    problems.scalars.update(parsed.scalars)
    return copy.deepcopy(parsed.document)


def _parse(text: str, problems: Problems) -> Any:
    loader = _TemplateLoader(text)
    try:
        if not _bounded(text, problems):
            return None
        node = loader.get_single_node()
        if node is None:
            problems.add("", N_("the file is empty"), fatal=True)
            return None
        loader.inspect_node(node, "", problems)
        return None if problems.fatal else loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        problems.add("", N_("not valid YAML: {reason}"), line=line, fatal=True, reason=what)
    except yaml.YAMLError as exc:
        problems.add("", N_("not valid YAML: {reason}"), fatal=True, reason=str(exc))
    finally:
        loader.dispose()
    return None


def _bounded(text: str, problems: Problems) -> bool:
    """Whether the document nests at most MAX_DEPTH levels and has at most MAX_NODES nodes,
    judged from the parser's events (iterative, unlike composing nodes); adds a fatal problem
    when not. Syntax errors are left to the full parse, which reports them with their line."""
    depth = 0
    for nodes, event in enumerate(yaml.parse(text, Loader=yaml.SafeLoader), start=1):
        if isinstance(event, _OPENING):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else None
                problems.add(
                    "",
                    N_("the document nests deeper than {limit} levels"),
                    line=line,
                    fatal=True,
                    limit=MAX_DEPTH,
                )
                return False
        elif isinstance(event, _CLOSING):
            depth -= 1
        if nodes > MAX_NODES:
            problems.add(
                "", N_("the document has more than {limit} nodes"), fatal=True, limit=MAX_NODES
            )
            return False
    return True


def _convert(
    document: Any, problems: Problems, guards: Mapping[str, GuardDefinition]
) -> TemplateSpec | None:
    if not isinstance(document, dict):
        problems.add("", not_a_template())
        return None
    required = ("key", "title", "stages", "transitions")
    check_keys(problems, document, "", TEMPLATE_KEYS, required=required)
    key = expect_name(
        problems, document.get("key"), "key", what=N_("a template key"), pattern=TEMPLATE_KEY
    )
    title = expect_text(problems, document.get("title", ""), "title")
    description = expect_text(problems, document.get("description", ""), "description")
    translations = convert_translations(problems, document.get("translations"), "translations")
    initial = None
    if "initial" in document:
        initial = expect_name(
            problems, document["initial"], "initial", what=N_("a stage key"), pattern=SNAKE_NAME
        )
    defaults = convert_defaults(problems, document.get("defaults"))
    stages = [
        (index, stage)
        for index, raw in enumerate(_as_list(problems, document.get("stages", []), "stages"))
        if (stage := convert_stage(problems, raw, f"stages[{index}]", defaults)) is not None
    ]
    drafts = [
        draft
        for index, raw in enumerate(
            _as_list(problems, document.get("transitions", []), "transitions")
        )
        if (draft := _convert_transition(problems, raw, index, guards)) is not None
    ]
    if document.get("transitions") == []:
        problems.add("transitions", N_("a template needs at least one transition"))
    _check_total_duration(problems, [stage for _, stage in stages])
    check_graph(problems, initial, stages, drafts)
    if len(problems) or key is None or initial is None:
        return None
    specs = tuple(stage for _, stage in stages)
    return TemplateSpec(
        key=key,
        title=title,
        description=description,
        initial=initial,
        stages=specs,
        transitions=tuple(_finish(draft, specs) for draft in drafts),
        translations=translations,
    )


def not_a_template() -> Message:
    """What is wrong with a document that is not a mapping (also the editor's words for it)."""
    return message(N_("a template is a mapping with keys {keys}"), keys=", ".join(TEMPLATE_KEYS))


def _check_total_duration(problems: Problems, stages: list[StageSpec]) -> None:
    """A cycle's plan runs its work stages one after another: together at most MAX_DURATION."""
    total = sum((stage.duration or timedelta(0) for stage in stages), timedelta(0))
    if total > MAX_DURATION:
        problems.add(
            "stages",
            N_(
                "the stages last {total} together; a template's stages last at most ten years"
                " ({limit})"
            ),
            total=format_duration(total),
            limit=format_duration(MAX_DURATION),
        )


def _as_list(problems: Problems, value: object, path: str) -> list[Any]:
    if isinstance(value, list):
        return value
    problems.add(path, N_("expected a list, got {value!r}"), value=value)
    return []


def _convert_transition(
    problems: Problems, raw: object, index: int, guards: Mapping[str, GuardDefinition]
) -> TransitionDraft | None:
    path = f"transitions[{index}]"
    if not isinstance(raw, dict):
        problems.add(
            path, N_("a transition is a mapping with keys {keys}"), keys=", ".join(TRANSITION_KEYS)
        )
        return None
    check_keys(problems, raw, path, TRANSITION_KEYS, required=("trigger", "from", "to"))
    trigger = None
    if "trigger" in raw:
        trigger = expect_name(
            problems,
            raw["trigger"],
            f"{path}.trigger",
            what=N_("a trigger name"),
            pattern=SNAKE_NAME,
        )
    sources, source_paths = _convert_sources(problems, raw.get("from"), f"{path}.from")
    dest = None
    if "to" in raw:
        dest = raw["to"]
        if dest != PREVIOUS:
            dest = expect_name(
                problems, dest, f"{path}.to", what=N_("a stage key"), pattern=SNAKE_NAME
            )
    return TransitionDraft(
        index=index,
        trigger=trigger,
        sources=sources,
        source_paths=source_paths,
        dest=dest,
        guards=_convert_guards(problems, raw.get("requires", []), f"{path}.requires", guards),
        roles=expect_roles(
            problems, raw.get("roles", []), f"{path}.roles", problems.vocabulary.transition_roles
        ),
        description=expect_text(problems, raw.get("description", ""), f"{path}.description"),
    )


def _convert_sources(
    problems: Problems, value: object, path: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if value is None and path not in problems.scalars:
        return (), ()  # missing: reported by check_keys
    items = value if isinstance(value, list) else [value]
    if not items:
        problems.add(path, N_("needs at least one source stage (or '*')"))
    names: list[str] = []
    paths: list[str] = []
    for position, item in enumerate(items):
        where = f"{path}[{position}]" if isinstance(value, list) else path
        name = (
            item
            if item == ANY_ACTIVE
            else expect_name(problems, item, where, what=N_("a stage key"), pattern=SNAKE_NAME)
        )
        if name is not None:
            names.append(name)
            paths.append(where)
    return tuple(names), tuple(paths)


def _convert_guards(
    problems: Problems, value: object, path: str, guards: Mapping[str, GuardDefinition]
) -> tuple[GuardSpec, ...]:
    specs: list[GuardSpec] = []
    for position, item in enumerate(_as_list(problems, value, path)):
        where = f"{path}[{position}]"
        if not isinstance(item, dict) or len(item) != 1:
            problems.add(
                where, N_("a requirement is one 'guard: argument' pair, got {value!r}"), value=item
            )
            continue
        ((name, arg),) = item.items()
        if not isinstance(name, str):
            continue  # YAML turned the key into a boolean or number: reported while reading
        if not is_guard_arg(arg):
            problems.add(
                f"{where}.{name}",
                N_("a guard argument is a single value, got {value!r}"),
                value=arg,
            )
            continue
        guard = GuardSpec(name=name, arg=arg)
        check_guard(problems, guards, guard, where)
        specs.append(guard)
    return tuple(specs)


def _finish(draft: TransitionDraft, stages: tuple[StageSpec, ...]) -> TransitionSpec:
    assert draft.trigger is not None
    assert draft.dest is not None
    return TransitionSpec(
        trigger=draft.trigger,
        sources=expand_sources(draft.sources, stages),
        dest=draft.dest,
        guards=draft.guards,
        roles=draft.roles,
        description=draft.description,
    )
