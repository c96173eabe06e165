"""Stage titles are labels, never diagram syntax: a line break, a quote, a `#` or a `;` in a
title stays inside its label in Mermaid and in DOT, so a template cannot add statements (a
stray transition, a `click` callback) to the diagrams the API and the CLI print."""

from __future__ import annotations

import re

from cycle_engine.spec import diagram_dot, diagram_mermaid
from cycle_engine.spec.diagram import mermaid_text
from tests.cycle_engine.spec.labels import spec_titled

HOSTILE = 'Review"\n    [*] --> done\n    click review call alert(1); %% #x;\\ <b>'


def test_mermaid_keeps_a_hostile_title_in_its_label() -> None:
    """The hostile title yields the same lines as a plain one, each label one quoted string."""
    hostile = diagram_mermaid(spec_titled(HOSTILE)).splitlines()
    plain = diagram_mermaid(spec_titled("Review")).splitlines()
    assert len(hostile) == len(plain)
    [label_line] = [line for line in hostile if line.strip().endswith('" as review')]
    assert label_line.endswith('" as review')
    label = label_line.strip()[len('state "') : -len('" as review')]
    bare = re.sub(r"#\d+;", "", label)  # what is left once the entity codes are taken out
    assert not set(bare) & set('"\n%;:#[]<>\\')
    assert [line for line in hostile if "-->" in line] == [line for line in plain if "-->" in line]


def test_mermaid_text_writes_syntax_as_entity_codes() -> None:
    """Quotes, `#`, `;`, `:` and brackets become Mermaid entity codes; line breaks spaces."""
    assert mermaid_text('a "b"\n#1; c:d [x]') == "a #34;b#34; #35;1#59; c#58;d #91;x#93;"
    assert mermaid_text("Café y té") == "Caf#233; y t#233;"


def test_dot_keeps_a_hostile_title_in_its_label() -> None:
    """In DOT the title is one quoted string: quotes and backslashes escaped, the line break a
    DOT `\\n` inside the label, no new statement."""
    hostile = diagram_dot(spec_titled(HOSTILE)).splitlines()
    plain = diagram_dot(spec_titled("Review")).splitlines()
    assert len(hostile) == len(plain)
    [node] = [line for line in hostile if line.strip().startswith("review [")]
    assert node.count('"') - node.count('\\"') == 2
    assert '\\"' in node and "\\\\ <b>" in node
