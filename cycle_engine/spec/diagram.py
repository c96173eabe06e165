"""Text diagrams of a template (Graphviz DOT and Mermaid) for the CLI and the dashboard.

Both renderers draw the same picture: a start marker into the initial stage, one edge per
(source, trigger, destination), final stages as end states. A hold stage's `@previous` return is
drawn as one dashed edge to a "back where it paused" marker rather than an edge to every stage.
`highlight` marks one stage, e.g. the stage a cycle is in. Titles are text, never syntax: a
quote, a line break or a `#` in a stage title stays inside its label (`_dot_text`,
`mermaid_text`).
"""

from __future__ import annotations

import re
import string

from cycle_engine.spec.durations import format_duration
from cycle_engine.spec.specs import PREVIOUS, StageSpec, TemplateSpec

_LINE_BREAK = re.compile(r"\r\n|[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
#: Characters a Mermaid label shows as they are; anything else is written as `#<code>;`.
_MERMAID_SAFE = frozenset(string.ascii_letters + string.digits + " _-.,/()'!?+*=@$")


def _dot_text(text: str) -> str:
    """`text` for inside a DOT double-quoted string: quotes and backslashes escaped, line breaks
    as DOT's `\\n` (a new line in the label), other control characters dropped."""
    lines = _LINE_BREAK.split(text)
    escaped = (line.replace("\\", "\\\\").replace('"', '\\"') for line in lines)
    return "\\n".join(_CONTROL.sub("", line) for line in escaped)


def _label(stage: StageSpec) -> str:
    title = _dot_text(stage.title)
    if stage.duration is None:
        return title
    return f"{title}\\n{format_duration(stage.duration)}"


def _quote(text: str) -> str:
    """A DOT string whose content is already escaped (see `_dot_text`)."""
    return f'"{text}"'


def mermaid_text(text: str) -> str:
    """`text` safe inside a Mermaid quoted label: one line, and every character that Mermaid
    could read as syntax (quotes, `#`, `;`, `:`, brackets, `%`, backslash...) written as an
    entity code (`#35;`), which Mermaid shows as the character itself."""
    flat = " ".join(_LINE_BREAK.split(_CONTROL.sub(" ", text)))
    return "".join(c if c in _MERMAID_SAFE else f"#{ord(c)};" for c in flat)


def _edges(spec: TemplateSpec) -> list[tuple[str, str, str]]:
    """(source, trigger, dest) per edge, in declared order; `@previous` becomes `<hold>__back`."""
    edges: list[tuple[str, str, str]] = []
    for transition in spec.transitions:
        for source in transition.sources:
            dest = f"{source}__back" if transition.dest == PREVIOUS else transition.dest
            edges.append((source, transition.trigger, dest))
    return edges


def diagram_dot(spec: TemplateSpec, *, highlight: str | None = None) -> str:
    """The template as a Graphviz `digraph` (render with `dot -Tsvg`)."""
    lines = [
        f"digraph {_quote(_dot_text(spec.key))} {{",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded"];',
        "  __start [shape=point];",
        f"  __start -> {spec.initial};",
    ]
    for stage in spec.stages:
        attrs = [f"label={_quote(_label(stage))}"]
        if stage.final:
            attrs.append("peripheries=2")
        if stage.hold:
            attrs.append('style="rounded,dashed"')
            lines.append(f'  {stage.key}__back [shape=plaintext, label="back where it paused"];')
        if stage.key == highlight:
            attrs.append('style="rounded,filled", fillcolor="#ffd966"')
        lines.append(f"  {stage.key} [{', '.join(attrs)}];")
    for source, trigger, dest in _edges(spec):
        style = ", style=dashed" if dest.endswith("__back") else ""
        lines.append(f"  {source} -> {dest} [label={_quote(_dot_text(trigger))}{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def diagram_mermaid(spec: TemplateSpec, *, highlight: str | None = None) -> str:
    """The template as a Mermaid `stateDiagram-v2`."""
    lines = ["stateDiagram-v2"]
    for stage in spec.stages:
        lines.append(f'    state "{mermaid_text(stage.title)}" as {stage.key}')
        if stage.hold:
            lines.append(f'    state "back where it paused" as {stage.key}__back')
    lines.append(f"    [*] --> {spec.initial}")
    for source, trigger, dest in _edges(spec):
        lines.append(f"    {source} --> {dest}: {trigger}")
    lines.extend(f"    {key} --> [*]" for key in spec.final_stages)
    if highlight is not None and spec.has_stage(highlight):
        lines.append("    classDef current fill:#ffd966,stroke:#7f6000")
        lines.append(f"    class {highlight} current")
    return "\n".join(lines) + "\n"
