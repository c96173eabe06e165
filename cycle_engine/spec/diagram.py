"""Text diagrams of a template (Graphviz DOT and Mermaid) for the CLI and the dashboard.

Both renderers draw the same picture: a start marker into the initial stage, one edge per
(source, trigger, destination), final stages as end states. A hold stage's `@previous` return is
drawn as one dashed edge to a "back where it paused" marker rather than an edge to every stage.
`highlight` marks one stage, e.g. the stage a cycle is in.
"""

from __future__ import annotations

from cycle_engine.spec.durations import format_duration
from cycle_engine.spec.specs import PREVIOUS, StageSpec, TemplateSpec


def _label(stage: StageSpec) -> str:
    if stage.duration is None:
        return stage.title
    return f"{stage.title}\\n{format_duration(stage.duration)}"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\\\\n", "\\n") + '"'


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
        f"digraph {_quote(spec.key)} {{",
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
        lines.append(f"  {source} -> {dest} [label={_quote(trigger)}{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def diagram_mermaid(spec: TemplateSpec, *, highlight: str | None = None) -> str:
    """The template as a Mermaid `stateDiagram-v2`."""
    lines = ["stateDiagram-v2"]
    for stage in spec.stages:
        title = stage.title.replace('"', "'")
        lines.append(f'    state "{title}" as {stage.key}')
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
