"""The dashboard's own SVG diagram escapes every label: a stage title with markup, quotes or
control characters stays text, and the standalone SVG is well-formed XML."""

from __future__ import annotations

from xml.etree import ElementTree

from cycle_engine.api.dashboard.svg import state_diagram_svg, svg_text
from tests.cycle_engine.spec.labels import spec_titled

SVG = "{http://www.w3.org/2000/svg}"


def test_svg_text_escapes_markup_and_control_characters() -> None:
    """Markup characters become entities; control characters XML forbids become spaces."""
    assert (
        svg_text("<script>\"x\" & 'y'\x01\x1b")
        == "&lt;script&gt;&quot;x&quot; &amp; &#x27;y&#x27;  "
    )


def test_a_hostile_title_stays_text_in_the_diagram() -> None:
    """The title is the text of its node, not an element, in a well-formed document."""
    title = '</text><script>alert(1)</script><text x="0">'
    spec = spec_titled(title)
    svg = state_diagram_svg(spec, current="review")
    root = ElementTree.fromstring(svg)
    assert root.find(f".//{SVG}script") is None
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert title in labels
