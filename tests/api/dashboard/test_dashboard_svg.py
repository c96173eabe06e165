"""The state diagram is drawn by the app as well-formed SVG with the current stage marked."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from cycle_engine import CycleEngine
from cycle_engine.api.dashboard.svg import layout, state_diagram_svg

SVG = "{http://www.w3.org/2000/svg}"


def test_diagram_marks_current_stage_and_draws_every_stage(builtin_engine: CycleEngine) -> None:
    """Every stage is a node, the current one alone has aria-current, and titles are escaped."""
    spec = builtin_engine.templates.spec("learning-cycle")
    root = ET.fromstring(
        state_diagram_svg(spec, current="prototype", visited=frozenset({"question_workshop"}))
    )
    nodes = {g.get("data-stage"): g for g in root.iter(f"{SVG}g") if g.get("data-stage")}
    assert {s.key for s in spec.stages} <= set(nodes)
    current = [key for key, g in nodes.items() if g.get("aria-current") == "step"]
    assert current == ["prototype"]
    title = root.find(f"{SVG}title")
    assert title is not None and "Prototype" in (title.text or "")


def test_layout_puts_main_path_in_order_and_side_stages_apart(
    builtin_engine: CycleEngine,
) -> None:
    """The main path runs top to bottom in template order; pause and cancel sit beside it."""
    for key in ("learning-cycle", "rapid-cycle"):
        spec = builtin_engine.templates.spec(key)
        diagram = layout(spec)
        work = [diagram.nodes[s.key] for s in spec.work_stages]
        assert [n.layer for n in work] == sorted(n.layer for n in work)
        assert all(n.column == 0 for n in work)
        assert diagram.nodes["paused"].column == 1 and diagram.nodes["cancelled"].column == 1
        boxes = {(n.x, n.y) for n in diagram.nodes.values()}
        assert len(boxes) == len(diagram.nodes)  # no two nodes overlap
