"""A two-stage template whose first stage carries a given title, for the tests that check a
title stays a label in every diagram (Mermaid, DOT, the dashboard's SVG)."""

from __future__ import annotations

import json

from cycle_engine.alliances.guards import default_guards
from cycle_engine.spec import load_template_text
from cycle_engine.spec.specs import TemplateSpec


def spec_titled(title: str) -> TemplateSpec:
    """Stage `review` titled `title`, then a final `done`."""
    text = f"""
key: labels
title: Labels
initial: review
stages:
  - key: review
    title: {json.dumps(title)}
    duration: P1W
  - key: done
    title: Done
    final: true
transitions:
  - trigger: finish
    from: review
    to: done
"""
    return load_template_text(text, "labels.yaml", default_guards())
