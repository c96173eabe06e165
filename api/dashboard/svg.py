"""A template's state diagram drawn as inline SVG by the app itself (no Graphviz on the server).

The layout is a small layered one computed here: stages reached from the initial stage along
forward transitions form the main column, one layer per step (longest path, back edges such as
"results weak -> prototype" removed first); a transition allowed from every active stage
("pause", "cancel") is drawn once, from a "from any active stage" marker in a side column, next
to the stages only such transitions reach. A hold stage's return to "where it paused" goes to a
marker, as in the text diagrams (`cycle_engine.spec.diagram`). The current stage is filled
and named in the SVG's title and description, so a screen reader hears it too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape

from cycle_engine.api.dashboard.formatting import template_text
from cycle_engine.notifications.reader import current_words
from cycle_engine.notifications.template_texts import trigger_label
from cycle_engine.spec.specs import PREVIOUS, TemplateSpec

NODE_W = 190
NODE_H = 42
LAYER_GAP = 40
COLUMN_GAP = 70
GUTTER = 150
MARGIN = 16
ANY = "__any"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def svg_text(text: str) -> str:
    """`text` as SVG character data or an attribute value: markup characters escaped, and the
    control characters XML forbids replaced by spaces (the SVG is also served on its own)."""
    return escape(_CONTROL.sub(" ", text))


@dataclass
class _Node:
    key: str
    label: str
    kind: str  # stage | final | hold | marker
    layer: int = 0
    column: int = 0
    x: float = 0.0
    y: float = 0.0


@dataclass(frozen=True)
class _Edge:
    source: str
    dest: str
    label: str
    dashed: bool = False


@dataclass
class Diagram:
    """A laid-out diagram: nodes with positions and the edges between them."""

    nodes: dict[str, _Node] = field(default_factory=dict)
    edges: list[_Edge] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0


def _trigger_word(trigger: str) -> str:
    """An edge's label: the trigger's title, as the page's buttons and timeline name it
    (`Questions agreed`), in the page's language when the catalog translates it."""
    return trigger_label(trigger, current_words().language)


def _global_sources(spec: TemplateSpec) -> frozenset[str]:
    return frozenset(stage.key for stage in spec.work_stages)


def _edges(spec: TemplateSpec) -> list[_Edge]:
    """One edge per (source, trigger, dest); a transition from every active stage becomes one
    edge from the "any active stage" marker (plus edges from its other sources)."""
    everywhere = _global_sources(spec)
    edges: list[_Edge] = []
    for transition in spec.transitions:
        sources = list(transition.sources)
        if len(everywhere) > 2 and everywhere <= set(sources):
            sources = [ANY, *(s for s in sources if s not in everywhere)]
        label = _trigger_word(transition.trigger)
        for source in sources:
            if transition.dest == PREVIOUS:
                edges.append(_Edge(source, f"{source}__back", label, dashed=True))
            else:
                edges.append(_Edge(source, transition.dest, label, source == ANY))
    return edges


def _back_edges(start: str, edges: list[_Edge]) -> set[_Edge]:
    """Edges that close a loop when walking depth-first from `start` in declared order."""
    out: dict[str, list[_Edge]] = {}
    for edge in edges:
        out.setdefault(edge.source, []).append(edge)
    back: set[_Edge] = set()
    on_path: set[str] = set()
    done: set[str] = set()

    def walk(node: str) -> None:
        on_path.add(node)
        for edge in out.get(node, []):
            if edge.dest in on_path:
                back.add(edge)
            elif edge.dest not in done:
                walk(edge.dest)
        on_path.discard(node)
        done.add(node)

    walk(start)
    return back


def _layers(roots: list[str], edges: list[_Edge]) -> dict[str, int]:
    """Longest-path layer of every node reachable from `roots` along the (acyclic) `edges`."""
    layer = {root: 0 for root in roots}
    changed = True
    while changed:  # graphs here have a dozen nodes: a simple relaxation is enough
        changed = False
        for edge in edges:
            if edge.source in layer and layer.get(edge.dest, -1) < layer[edge.source] + 1:
                layer[edge.dest] = layer[edge.source] + 1
                changed = True
    return layer


def layout(spec: TemplateSpec) -> Diagram:
    """Place every stage (and marker) of `spec` on a grid of layers and columns."""
    diagram = Diagram()
    for stage in spec.stages:
        kind = "final" if stage.final else "hold" if stage.hold else "stage"
        diagram.nodes[stage.key] = _Node(stage.key, template_text(stage.title), kind)
    edges = _edges(spec)
    for edge in edges:
        if edge.source == ANY:
            diagram.nodes.setdefault(
                ANY, _Node(ANY, current_words().gettext("from any active stage"), "marker")
            )
        if edge.dest.endswith("__back"):
            label = current_words().gettext("back where it paused")
            diagram.nodes[edge.dest] = _Node(edge.dest, label, "marker")
    diagram.edges = edges
    back = _back_edges(spec.initial, edges)
    forward = [e for e in edges if e not in back and e.source != ANY]
    main = _layers([spec.initial], forward)
    side_edges = [
        e for e in edges if e not in back and e.dest not in main and not e.dest.endswith("__back")
    ]
    side = _layers([ANY] if ANY in diagram.nodes else [], side_edges)
    for key, node in diagram.nodes.items():
        if key in main:
            node.layer, node.column = main[key], 0
        elif key in side:
            node.layer, node.column = side[key], 1
        elif not key.endswith("__back"):  # unreachable (a valid template has none): park it
            node.layer, node.column = max([*side.values(), 0]) + 1, 1
    _place_return_markers(diagram)
    _place(diagram)
    return diagram


def _place_return_markers(diagram: Diagram) -> None:
    """Put each "back where it paused" marker just below its hold stage."""
    for key, node in diagram.nodes.items():
        if key.endswith("__back"):
            hold = diagram.nodes[key.removesuffix("__back")]
            for other in diagram.nodes.values():
                if other.column == hold.column and other.layer > hold.layer:
                    other.layer += 1
            node.layer, node.column = hold.layer + 1, hold.column


def _place(diagram: Diagram) -> None:
    slots: dict[tuple[int, int], list[_Node]] = {}
    for node in diagram.nodes.values():
        slots.setdefault((node.column, node.layer), []).append(node)
    widths = {0: 1}
    for (column, _), group in slots.items():
        widths[column] = max(widths.get(column, 0), len(group))
    column_x = {0: float(MARGIN + GUTTER)}
    for column in range(1, max(widths) + 1):
        previous = column_x[column - 1] + widths.get(column - 1, 0) * (NODE_W + 20)
        column_x[column] = previous + COLUMN_GAP
    for (column, layer), group in slots.items():
        for index, node in enumerate(group):
            node.x = column_x[column] + index * (NODE_W + 20)
            node.y = MARGIN + layer * (NODE_H + LAYER_GAP)
    diagram.width = max(n.x + NODE_W for n in diagram.nodes.values()) + MARGIN + 110
    diagram.height = max(n.y + NODE_H for n in diagram.nodes.values()) + MARGIN + 14


def _edge_svg(diagram: Diagram, edge: _Edge, loop_index: int) -> str:
    source, dest = diagram.nodes[edge.source], diagram.nodes[edge.dest]
    dash = ' stroke-dasharray="5 4"' if edge.dashed else ""
    label = svg_text(edge.label)
    straight = (
        source.column != dest.column
        or dest.layer == source.layer + 1
        or (dest.layer > source.layer and source.x != dest.x)
    )
    if straight:
        x1, y1 = source.x + NODE_W / 2, source.y + NODE_H
        x2, y2 = dest.x + NODE_W / 2, dest.y
        if source.column != dest.column:
            x1, y1 = source.x + NODE_W, source.y + NODE_H / 2
            x2, y2 = dest.x, dest.y + NODE_H / 2
        path = f"M{x1:.0f},{y1:.0f} L{x2:.0f},{y2:.0f}"
        lx, ly, anchor = (x1 + x2) / 2 + 6, (y1 + y2) / 2 + 4, "start"
    elif source.column == 0:  # back edge or a jump over layers: a curve through the gutter
        bulge = 40 + 34 * loop_index
        x1, y1 = source.x, source.y + NODE_H / 2
        x2, y2 = dest.x, dest.y + NODE_H / 2
        path = (
            f"M{x1:.0f},{y1:.0f} C{x1 - bulge:.0f},{y1:.0f} {x2 - bulge:.0f},{y2:.0f} "
            f"{x2:.0f},{y2:.0f}"
        )
        lx, ly, anchor = x1 - bulge * 0.75 - 4, (y1 + y2) / 2 + 4, "end"
    else:  # the same in a side column: the curve goes round its right-hand side
        bulge = 40 + 34 * loop_index
        x1, y1 = source.x + NODE_W, source.y + NODE_H / 2
        x2, y2 = dest.x + NODE_W, dest.y + NODE_H / 2
        path = (
            f"M{x1:.0f},{y1:.0f} C{x1 + bulge:.0f},{y1:.0f} {x2 + bulge:.0f},{y2:.0f} "
            f"{x2:.0f},{y2:.0f}"
        )
        lx, ly, anchor = x1 + bulge * 0.75 + 4, (y1 + y2) / 2 + 4, "start"
    return (
        f'<g class="edge"><path d="{path}" fill="none" stroke="#4a5568" stroke-width="1.5"'
        f'{dash} marker-end="url(#ce-arrow)"/>'
        f'<text x="{lx:.0f}" y="{ly:.0f}" text-anchor="{anchor}" {_EDGE_LABEL}>{label}</text>'
        "</g>"
    )


#: Edge labels are styled by presentation attributes, not a <style> element: the dashboard's
#: Content-Security-Policy allows no inline style, and the standalone SVG needs no stylesheet.
_EDGE_LABEL = (
    'class="edge-label" font-size="11" fill="#2d3748" paint-order="stroke" stroke="#fff" '
    'stroke-width="3"'
)

_FILL = {"stage": "#ffffff", "final": "#eef2f7", "hold": "#fff8e6", "marker": "#f7f7f7"}


def _node_svg(
    node: _Node, current: str | None, visited: frozenset[str], flagged: Mapping[str, str]
) -> str:
    fill = _FILL[node.kind]
    stroke, width, weight = "#4a5568", 1.5, "normal"
    if node.key in visited:
        fill = "#e3f1e8"
    if node.key == current:
        fill, stroke, width, weight = "#ffd966", "#7f6000", 3.0, "bold"
    dash = ' stroke-dasharray="5 4"' if node.kind in ("hold", "marker") else ""
    flag = flagged.get(node.key)
    if flag:
        fill, stroke, width, dash = "#fde8e8", "#c53030", 2.5, ' stroke-dasharray="3 3"'
    radius = 21 if node.kind == "marker" else 8
    label = svg_text(node.label)
    double = ""
    if node.kind == "final":
        double = (
            f'<rect x="{node.x + 4:.0f}" y="{node.y + 4:.0f}" width="{NODE_W - 8}" '
            f'height="{NODE_H - 8}" rx="6" fill="none" stroke="{stroke}"/>'
        )
    current_attr = ' aria-current="step"' if node.key == current else ""
    flag_attr = f' data-problem="{svg_text(flag)}"' if flag else ""
    title = "current stage" if node.key == current else flag or ""
    return (
        f'<g class="node node-{node.kind}" data-stage="{svg_text(node.key)}"'
        f"{current_attr}{flag_attr}>"
        + (f"<title>{svg_text(title)}</title>" if title else "")
        + f'<rect x="{node.x:.0f}" y="{node.y:.0f}" width="{NODE_W}" height="{NODE_H}" '
        f'rx="{radius}" fill="{fill}" stroke="{stroke}" stroke-width="{width}"{dash}/>{double}'
        f'<text x="{node.x + NODE_W / 2:.0f}" y="{node.y + NODE_H / 2 + 5:.0f}" '
        f'text-anchor="middle" font-weight="{weight}">{label}</text></g>'
    )


def state_diagram_svg(
    spec: TemplateSpec,
    *,
    current: str | None = None,
    visited: frozenset[str] = frozenset(),
    flagged: Mapping[str, str] | None = None,
) -> str:
    """The template as an inline `<svg>`; `current` is highlighted, `visited` stages tinted,
    `flagged` stages (the editor's unreachable or unfinishable ones) outlined in red with the
    reason as their title.

    The markup is safe to embed as-is: every title and trigger name is escaped.
    """
    words = current_words()
    diagram = layout(spec)
    current_title = spec.stage(current).title if current and spec.has_stage(current) else None
    summary = words.gettext("Stages of %(template)s", template=template_text(spec.title))
    if current_title:
        summary += words.gettext("; the cycle is in %(stage)s", stage=template_text(current_title))
    loops: dict[str, int] = {}
    edges: list[str] = []
    for edge in diagram.edges:
        key = edge.source
        edges.append(_edge_svg(diagram, edge, loops.get(key, 0)))
        loops[key] = loops.get(key, 0) + 1
    flags = dict(flagged or {})
    nodes = [_node_svg(n, current, visited, flags) for n in diagram.nodes.values()]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="state-diagram" role="img" '
        f'aria-labelledby="ce-diagram-title ce-diagram-desc" '
        f'viewBox="0 0 {diagram.width:.0f} {diagram.height:.0f}" '
        f'width="{diagram.width:.0f}" height="{diagram.height:.0f}" '
        f'font-family="system-ui, sans-serif" font-size="13">'
        f'<title id="ce-diagram-title">{svg_text(summary)}</title>'
        f'<desc id="ce-diagram-desc">{svg_text(_describe(spec, flags))}</desc>'
        '<defs><marker id="ce-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#4a5568"/></marker></defs>' + "".join(edges) + "".join(nodes) + "</svg>"
    )


def _describe(spec: TemplateSpec, flagged: Mapping[str, str]) -> str:
    steps = [
        f"{_trigger_word(t.trigger)}: {', '.join(t.sources)} to {t.dest}" for t in spec.transitions
    ]
    marks = [f"{key}: {reason}" for key, reason in flagged.items()]
    words = current_words()
    text = words.gettext("Transitions: %(steps)s", steps="; ".join(steps))
    if marks:
        text += words.gettext(". Problems: %(problems)s", problems="; ".join(marks))
    return text
