"""`template diff`: what changed between two versions, in sentences a coordinator reads."""

from __future__ import annotations

from typing import Any

import pytest

from cycle_engine import InvalidInput
from cycle_engine.alliances.guards import default_guards
from cycle_engine.spec import load_template_text
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.templates.diff import diff_templates
from tests.cycle_engine.templates.conftest import COPY, LEARNING_CYCLE, World
from tests.cycle_engine.templates.helpers import (
    Edit,
    duration,
    edited,
    renamed,
    requires,
    stage_after,
)


def spec(*edits: Edit) -> TemplateSpec:
    return load_template_text(edited(LEARNING_CYCLE, *edits), "t.yaml", default_guards())


def texts(*edits: Edit, renames: dict[str, str] | None = None) -> list[str]:
    return [line.text for line in diff_templates(spec(), spec(*edits), renames=renames)]


def test_same_content_has_no_differences() -> None:
    """Two loads of one template differ in nothing."""
    assert diff_templates(spec(), spec()) == []


def test_a_longer_stage_is_said_in_weeks() -> None:
    """A duration change names the stage and both lengths in words."""
    assert texts(duration("prototype", "P10W")) == ["“Prototype” now lasts 10 weeks (was 8 weeks)."]


def test_an_added_stage_says_where_and_how_long_and_what_leads_there() -> None:
    """A new stage is placed after its neighbour; the trigger now leading to it is named."""
    lines = texts(
        stage_after(
            "multi_context_testing", "reflection", "Reflection", "P2W", leaving="testing_completed"
        )
    )
    assert lines == [
        "New stage “Reflection” (reflection), 2 weeks, after “Multi-context testing”.",
        "“testing_completed” now leads to Reflection (was Documentation).",
        "New trigger “reflection_done”: moves from Reflection to Documentation.",
    ]


def test_a_stage_renamed_by_mapping_is_a_rename_otherwise_removed_and_added() -> None:
    """Only an explicit mapping makes a rename; without it the old stage is removed."""
    rename = renamed("prototype", "prototyping", "Prototyping")
    with_map = texts(rename, renames={"prototype": "prototyping"})
    assert with_map == ["Stage “Prototype” (prototype) becomes “Prototyping” (prototyping)."]
    without = texts(rename)
    assert "Stage “Prototype” (prototype) is removed." in without
    assert any(t.startswith("New stage “Prototyping” (prototyping), 8 weeks") for t in without)


def test_a_new_requirement_is_said_in_words() -> None:
    """A guard added to a trigger reads as what it needs."""
    lines = texts(requires("prototypes_ready", {"contexts_reported": 2}))
    assert lines == ["“prototypes_ready” now needs at least 2 contexts reported results."]


def test_reminder_and_stall_rules_are_compared_by_name() -> None:
    """A reminder moved earlier and a longer stall period, each in a sentence."""

    def earlier(document: dict[str, object]) -> None:
        defaults = document["defaults"]
        assert isinstance(defaults, dict)
        defaults["reminders"][1]["before_due"] = "P10D"
        defaults["stall"]["after"] = "P21D"

    lines = texts(earlier)
    assert lines[0] == (
        "“Question workshop”: reminder “week_before” 10 days before the deadline, to focal "
        "point, lead, active (was 1 week before the deadline, to focal point, lead, active)."
    )
    assert (
        "“Question workshop”: counts as stalled after 3 weeks without activity "
        "(was: counts as stalled after 2 weeks without activity)." in lines
    )


def test_service_diff_names_versions_and_checks_the_mapping(world: World) -> None:
    """`engine.templates.diff` labels both versions and refuses a mapping naming no stage."""
    world.publish(duration("prototype", "P10W"))
    found = world.engine.templates.diff(COPY, 1, 2, alliance_id=world.alliance)
    assert found.text().splitlines() == [
        f"From {COPY} v1 to {COPY} v2:",
        "- “Prototype” now lasts 10 weeks (was 8 weeks).",
    ]
    with pytest.raises(InvalidInput, match="'protoype' is not a stage"):
        world.engine.templates.diff(COPY, 1, 2, renames={"protoype": "prototype"})


def test_a_stage_text_in_another_language_is_named_by_language() -> None:
    """Adding or changing a stage's own Spanish or French text shows in the publish preview."""

    def translated(**texts: dict[str, str]) -> Edit:
        def edit(document: dict[str, Any]) -> None:
            stage = next(s for s in document["stages"] if s["key"] == "prototype")
            stage["translations"] = texts

        return edit

    assert texts(translated(es={"title": "Prototipo propio"})) == [
        "The texts of “Prototype” in es changed."
    ]
    before = spec(translated(es={"title": "Prototipo propio"}, fr={"title": "Prototype"}))
    after = spec(translated(es={"title": "Prototipo propio"}, fr={"title": "Prototype à nous"}))
    assert [line.text for line in diff_templates(before, after)] == [
        "The texts of “Prototype” in fr changed."
    ]
