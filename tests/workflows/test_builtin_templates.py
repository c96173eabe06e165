"""The built-in templates load, validate, follow the CIAT method and match the JSON Schema.

Golden paths (a sequence of triggers reaching a final stage) are tested with the engine.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from cycle_engine import workflows
from cycle_engine.alliances.guards import default_guards
from cycle_engine.spec import (
    TemplateSpec,
    builtin_template_paths,
    diagram_dot,
    diagram_mermaid,
    load_template,
    loader,
    stages,
    validate,
)
from tests.cycle_engine.spec.guard_fixtures import stub_guards

PATHS = builtin_template_paths()
SCHEMA_PATH = Path(workflows.__file__).parent / "template.schema.json"
CIAT_STAGES = [
    "question_workshop",
    "role_assignment",
    "work_plan",
    "good_practice_review",
    "prototype",
    "multi_context_testing",
    "documentation",
]


def _spec(name: str) -> TemplateSpec:
    return load_template(next(p for p in PATHS if p.name == name), guards=stub_guards())


def _total(spec: TemplateSpec) -> timedelta:
    return sum((s.duration or timedelta(0) for s in spec.work_stages), timedelta(0))


def test_builtin_template_paths_lists_the_shipped_files() -> None:
    """Both built-in templates ship in the workflows package."""
    assert [p.name for p in PATHS] == ["learning_cycle.yaml", "rapid_cycle.yaml"]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_builtin_template_loads_and_its_key_matches_the_file(path: Path) -> None:
    """Each built-in validates; its key is the file name in kebab case."""
    spec = load_template(path, guards=stub_guards())
    assert spec.key == path.stem.replace("_", "-")
    assert spec.source == str(path)
    assert spec.final_stages == ("completed", "cancelled")


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_builtin_template_loads_with_the_default_guard_registry(path: Path) -> None:
    """With the engine's own guards (stubs only for guards not registered yet), arguments fit."""
    registry = default_guards()
    for name, definition in stub_guards().items():
        if name not in registry:
            registry.register(definition)
    load_template(path, guards=registry)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_builtin_template_explains_itself(path: Path) -> None:
    """Every stage and transition has a description and every transition says who may fire it."""
    spec = load_template(path, guards=stub_guards())
    assert spec.description
    assert all(s.description for s in spec.stages)
    assert all(t.description and t.roles for t in spec.transitions)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_builtin_template_can_pause_resume_and_cancel_from_every_work_stage(path: Path) -> None:
    """pause and cancel work from every work stage; resume returns where the cycle paused."""
    spec = load_template(path, guards=stub_guards())
    work = {s.key for s in spec.work_stages}
    by_trigger = {t.trigger: t for t in spec.transitions}
    assert set(by_trigger["pause"].sources) == work
    assert set(by_trigger["cancel"].sources) == work | {"paused"}
    assert by_trigger["resume"].dest == "@previous"
    assert {g.name for g in by_trigger["cancel"].guards} == {"note"}


def test_learning_cycle_follows_the_seven_ciat_stages() -> None:
    """The learning cycle's work stages are the method's seven, in order, over 2-12 months."""
    spec = _spec("learning_cycle.yaml")
    assert [s.key for s in spec.work_stages] == CIAT_STAGES
    assert spec.initial == "question_workshop"
    assert timedelta(days=60) <= _total(spec) <= timedelta(days=365)


def test_learning_cycle_triggers_require_the_method_products() -> None:
    """Moving on needs the method's evidence: questions, roles, products, three contexts in
    three distinct communities (run by organisations with a testing role: the guard's rule)."""
    spec = _spec("learning_cycle.yaml")
    guards = {t.trigger: {(g.name, g.arg) for g in t.guards} for t in spec.transitions}
    assert ("learning_questions", 1) in guards["questions_agreed"]
    assert ("roles_assigned", True) in guards["roles_assigned"]
    assert ("product", "good_practice_review") in guards["review_completed"]
    assert ("product", "prototype") in guards["prototypes_ready"]
    assert {("contexts_reported", 3), ("distinct_communities", 3)} <= guards["testing_completed"]
    assert guards["cycle_documented"] == {
        ("product", "documented_results"),
        ("questions_answered", True),
    }


def test_weak_results_send_the_learning_cycle_back_to_prototype_with_a_note() -> None:
    """results_weak loops multi-context testing back to prototype and needs a note."""
    weak = next(t for t in _spec("learning_cycle.yaml").transitions if t.trigger == "results_weak")
    assert (weak.sources, weak.dest) == (("multi_context_testing",), "prototype")
    assert {g.name for g in weak.guards} == {"note"}


def test_rapid_cycle_follows_the_method() -> None:
    """The rapid cycle merges the workshop and roles into a kickoff, lasts at least two months
    (the method's shortest cycles) and tests in at least two distinct communities."""
    spec = _spec("rapid_cycle.yaml")
    assert spec.initial == "kickoff"
    assert timedelta(days=61) <= _total(spec) <= timedelta(weeks=13)
    testing = next(t for t in spec.transitions if t.trigger == "testing_completed")
    guards = {(g.name, g.arg) for g in testing.guards}
    assert {("contexts_reported", 2), ("distinct_communities", 2)} <= guards


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_builtin_template_renders_as_diagrams(path: Path) -> None:
    """Both diagram formats draw every stage of the built-in."""
    spec = load_template(path, guards=stub_guards())
    dot, mermaid = diagram_dot(spec), diagram_mermaid(spec)
    assert all(s.key in dot and s.key in mermaid for s in spec.stages)


def _validator() -> object:
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert jsonschema_rs.meta.is_valid(schema)
    return jsonschema_rs.Draft202012Validator(schema)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_builtin_template_matches_the_json_schema(path: Path) -> None:
    """Each built-in is valid against workflows/template.schema.json (draft 2020-12)."""
    validator = _validator()
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    errors = [e.message for e in validator.iter_errors(document)]  # type: ignore[attr-defined]
    assert errors == []


def test_json_schema_refuses_a_misspelt_key() -> None:
    """The schema catches typos too, so editors flag them before the loader runs."""
    validator = _validator()
    document = yaml.safe_load(PATHS[0].read_text(encoding="utf-8"))
    document["stages"][0]["duraton"] = document["stages"][0].pop("duration")
    assert not validator.is_valid(document)  # type: ignore[attr-defined]


def test_json_schema_keys_match_the_loader() -> None:
    """The schema and the loader accept the same keys in every section."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    defs = schema["$defs"]
    overdue = next(o for o in defs["overdue"]["oneOf"] if o.get("type") == "object")
    stall = next(o for o in defs["stall"]["oneOf"] if o.get("type") == "object")
    assert set(schema["properties"]) == set(loader.TEMPLATE_KEYS)
    assert set(defs["defaults"]["properties"]) == set(stages.DEFAULTS_KEYS)
    assert set(defs["stage"]["properties"]) == set(stages.STAGE_KEYS)
    assert set(defs["reminder"]["properties"]) == set(stages.REMINDER_KEYS)
    assert set(overdue["properties"]) == set(stages.OVERDUE_KEYS)
    assert set(stall["properties"]) == set(stages.STALL_KEYS)
    assert set(defs["transition"]["properties"]) == set(loader.TRANSITION_KEYS)


def test_json_schema_names_and_roles_match_the_loader() -> None:
    """Name patterns and role lists in the schema are the loader's own."""
    defs = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))["$defs"]
    assert defs["name"]["pattern"] == validate.SNAKE_NAME.pattern
    assert defs["templateKey"]["pattern"] == validate.TEMPLATE_KEY.pattern
    vocabulary = default_guards().vocabulary
    assert defs["recipients"]["items"]["enum"] == list(vocabulary.recipient_roles)
    roles = defs["transition"]["properties"]["roles"]["items"]["enum"]
    assert roles == list(vocabulary.transition_roles)
