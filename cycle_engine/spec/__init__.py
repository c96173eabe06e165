"""Cycle templates: YAML files become frozen, validated spec objects.

load_template(path, guards=...)        -> TemplateSpec, or InvalidTemplate listing problems
load_template_text(text, name, guards) -> the same from text in memory
builtin_template_paths()               -> the YAML files shipped in the `workflows` package
diagram_dot(spec) / diagram_mermaid(spec) -> text diagrams
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from cycle_engine.spec.diagram import diagram_dot, diagram_mermaid
from cycle_engine.spec.durations import format_duration, parse_duration
from cycle_engine.spec.loader import content_hash, load_template, load_template_text
from cycle_engine.spec.specs import (
    ANY_ACTIVE,
    PREVIOUS,
    GuardSpec,
    OverdueSpec,
    ReminderSpec,
    StageSpec,
    StageText,
    StallSpec,
    TemplateSpec,
    TransitionSpec,
)


def builtin_template_paths() -> tuple[Path, ...]:
    """The built-in template files (`workflows/*.yaml`), sorted by name."""
    folder = Path(str(files("cycle_engine.workflows")))
    return tuple(sorted(folder.glob("*.yaml")))


__all__ = [
    "ANY_ACTIVE",
    "PREVIOUS",
    "GuardSpec",
    "OverdueSpec",
    "ReminderSpec",
    "StageSpec",
    "StageText",
    "StallSpec",
    "TemplateSpec",
    "TransitionSpec",
    "builtin_template_paths",
    "content_hash",
    "diagram_dot",
    "diagram_mermaid",
    "format_duration",
    "load_template",
    "load_template_text",
    "parse_duration",
]
