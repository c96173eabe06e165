"""Loading templates: spec objects from YAML, and every problem reported at once with its place.

Each file in `templates_bad/` holds one kind of mistake; its `# expect <path>: <fragment>` comment
lines say which problems the loader must report.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

import cycle_engine.spec as templates
from cycle_engine.errors import InvalidTemplate, TemplateProblem
from cycle_engine.spec import (
    PREVIOUS,
    GuardSpec,
    OverdueSpec,
    ReminderSpec,
    StallSpec,
    TemplateSpec,
    diagram_dot,
    diagram_mermaid,
    load_template,
    load_template_text,
)
from cycle_engine.spec.guards import GuardRegistry
from tests.cycle_engine.spec.guard_fixtures import stub_guards

BAD = Path(__file__).parent / "templates_bad"
GUARDS = stub_guards()

PILOT = """\
key: pilot
title: Pilot
description: A small template for tests.
initial: draft
defaults:
  reminders:
    - {name: week_before, before_due: P7D}
    - {name: due_today, before_due: P0D, late: send_latest, to: [focal_point, lead]}
    - {name: kickoff, after_entry: P0D, to: [focal_point, active, informed]}
    - {name: chase, after_due: P2D}
  overdue: {every: P3D, escalate_after: 3, to: [focal_point]}
  stall: {after: P14D}
stages:
  - key: draft
    title: Draft
    duration: P1W
  - key: review
    title: Review
    duration: P2W
    reminders: []
    overdue: null
  - key: paused
    title: Paused
    hold: true
  - key: done
    title: Done
    final: true
transitions:
  - trigger: submit
    from: draft
    to: review
    roles: [coordinator, lead]
    requires:
      - product: good_practice_review
      - contexts_reported: 3
    description: Send the draft for review.
  - trigger: approve
    from: review
    to: done
  - trigger: pause
    from: "*"
    to: paused
  - trigger: resume
    from: paused
    to: "@previous"
"""


def _load(text: str, name: str = "pilot.yaml") -> TemplateSpec:
    return load_template_text(text, name, GUARDS)


def _problems(text: str, name: str = "pilot.yaml") -> tuple[TemplateProblem, ...]:
    with pytest.raises(InvalidTemplate) as caught:
        _load(text, name)
    return caught.value.problems


def _expectations(path: Path) -> list[tuple[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    prefix = "# expect "
    return [
        (where, fragment)
        for line in lines
        if line.startswith(prefix)
        for where, _, fragment in [line[len(prefix) :].partition(": ")]
    ]


@pytest.mark.parametrize("path", sorted(BAD.glob("*.yaml")), ids=lambda p: p.stem)
def test_bad_template_reports_the_expected_problems(path: Path) -> None:
    """Each bad file is refused with the problems its `# expect` lines name, at those paths."""
    expected = _expectations(path)
    assert expected, f"{path.name} has no '# expect' line"
    with pytest.raises(InvalidTemplate) as caught:
        load_template(path, guards=GUARDS)
    problems = caught.value.problems
    assert all(p.source == str(path) for p in problems)
    for where, fragment in expected:
        assert any(p.path == where and fragment in p.message for p in problems), (
            f"no problem at {where!r} containing {fragment!r}; got:\n{caught.value}"
        )


def test_there_is_a_bad_template_for_each_kind_of_problem() -> None:
    """The data-driven suite covers at least thirty kinds of mistakes."""
    assert len(list(BAD.glob("*.yaml"))) >= 30


def test_the_pilot_template_loads() -> None:
    """A well-formed template loads with its key, title, initial stage and source name."""
    spec = _load(PILOT)
    assert (spec.key, spec.title, spec.initial, spec.source) == (
        "pilot",
        "Pilot",
        "draft",
        "pilot.yaml",
    )
    assert [s.key for s in spec.stages] == ["draft", "review", "paused", "done"]
    assert spec.final_stages == ("done",)


def test_reminder_rules_map_to_anchors_and_signed_offsets() -> None:
    """before_due is a negative offset from the due date; after_entry anchors on entry."""
    draft = _load(PILOT).stage("draft")
    assert draft.reminders == (
        ReminderSpec(name="week_before", anchor="due", offset=-timedelta(days=7)),
        ReminderSpec(
            name="due_today",
            anchor="due",
            offset=timedelta(0),
            late="send_latest",
            to=("focal_point", "lead"),
        ),
        ReminderSpec(
            name="kickoff",
            anchor="entry",
            offset=timedelta(0),
            to=("focal_point", "active", "informed"),
        ),
        ReminderSpec(name="chase", anchor="due", offset=timedelta(days=2)),
    )
    assert draft.duration == timedelta(weeks=1)


def test_work_stages_inherit_defaults_unless_they_set_their_own() -> None:
    """A stage without rules inherits the defaults; `reminders: []` and `overdue: null` turn
    them off while the stall default still applies."""
    spec = _load(PILOT)
    draft, review = spec.stage("draft"), spec.stage("review")
    assert draft.overdue == OverdueSpec(every=timedelta(days=3), escalate_after=3)
    assert draft.stall == StallSpec(after=timedelta(days=14))
    assert review.reminders == ()
    assert review.overdue is None
    assert review.stall == StallSpec(after=timedelta(days=14))


def test_hold_and_final_stages_get_no_defaults() -> None:
    """A cycle resting in a hold or final stage has no due date and gets no reminders."""
    spec = _load(PILOT)
    for key in ("paused", "done"):
        stage = spec.stage(key)
        assert (stage.duration, stage.reminders, stage.overdue, stage.stall) == (
            None,
            (),
            None,
            None,
        )
    assert spec.stage("paused").hold
    assert spec.stage("done").final


def test_star_source_expands_to_work_stages_and_previous_is_kept() -> None:
    """`from: "*"` means every stage that is neither final nor hold; `@previous` stays as dest."""
    spec = _load(PILOT)
    pause = next(t for t in spec.transitions if t.trigger == "pause")
    resume = next(t for t in spec.transitions if t.trigger == "resume")
    assert pause.sources == ("draft", "review")
    assert resume.sources == ("paused",)
    assert resume.dest == PREVIOUS


def test_guards_roles_and_description_are_kept() -> None:
    """`requires` becomes GuardSpecs in order, with their arguments."""
    submit = _load(PILOT).transitions[0]
    assert submit.guards == (
        GuardSpec(name="product", arg="good_practice_review"),
        GuardSpec(name="contexts_reported", arg=3),
    )
    assert submit.roles == ("coordinator", "lead")
    assert submit.description == "Send the draft for review."


def test_all_problems_are_reported_at_once() -> None:
    """A file with several different mistakes yields one error listing every one of them."""
    text = (
        PILOT.replace("to: done", "to: dnoe")
        .replace("duration: P2W", "duration: P1M")
        .replace("product: good_practice_review", "prodcut: good_practice_review")
        .replace("roles: [coordinator, lead]", "roles: [coordinator, boss]")
        .replace("    title: Draft\n", "    title: Draft\n    duraton: P1W\n")
    )
    problems = _problems(text)
    paths = {p.path for p in problems}
    assert {
        "transitions[1].to",
        "stages[1].duration",
        "transitions[0].requires[0]",
        "transitions[0].roles[1]",
        "stages[0].duraton",
    } <= paths
    assert len(problems) >= 5


def test_problem_names_file_path_value_and_line() -> None:
    """A problem reads `file: path: message (line N)` with the bad value and its real line."""
    text = PILOT.replace("to: done", "to: dnoe")
    line = text.splitlines().index("    to: dnoe") + 1
    (problem,) = _problems(text, "workflows/pilot.yaml")
    assert problem.source == "workflows/pilot.yaml"
    assert problem.path == "transitions[1].to"
    assert str(problem) == (
        "workflows/pilot.yaml: transitions[1].to: unknown stage 'dnoe' "
        "(did you mean 'done'? stages: 'draft', 'review', 'paused', 'done') "
        f"(line {line})"
    )


def test_nested_paths_point_into_reminder_rules() -> None:
    """A bad reminder offset is reported at `stages[i].reminders[j].before_due` on its line."""
    text = PILOT.replace(
        "    reminders: []\n", "    reminders:\n      - name: nudge\n        before_due: P1X\n"
    )
    line = text.splitlines().index("        before_due: P1X") + 1
    (problem,) = _problems(text)
    assert problem.path == "stages[1].reminders[0].before_due"
    assert problem.message.endswith(f"got 'P1X' (line {line})")


def test_duplicate_keys_report_both_lines() -> None:
    """A repeated key names the line of the repeat and of the first occurrence."""
    text = PILOT.replace("    duration: P1W\n", "    duration: P1W\n    duration: P2W\n", 1)
    first = text.splitlines().index("    duration: P1W") + 1
    (problem,) = _problems(text)
    assert problem.path == "stages[0].duration"
    assert problem.message == f"duplicate key 'duration' (first at line {first}) (line {first + 1})"


@pytest.mark.parametrize(
    ("replace", "by", "path", "word"),
    [
        ("trigger: approve", "trigger: on", "transitions[1].trigger", "on"),
        ("trigger: approve", "trigger: yes", "transitions[1].trigger", "yes"),
        ("  - key: review", "  - key: off", "stages[1].key", "off"),
        ("    from: review\n", "    from: [review, no]\n", "transitions[1].from[1]", "no"),
        ("roles: [coordinator, lead]", "roles: [coordinator, on]", "transitions[0].roles[1]", "on"),
    ],
)
def test_yaml_boolean_trap_is_named(replace: str, by: str, path: str, word: str) -> None:
    """YAML 1.1 reads bare on/off/yes/no as booleans; where a name was meant, we say so."""
    problems = _problems(PILOT.replace(replace, by))
    assert any(
        p.path == path and p.message.startswith(f"YAML reads bare {word!r} as a boolean; quote it")
        for p in problems
    ), "\n".join(map(str, problems))


def test_yaml_boolean_trap_as_a_mapping_key() -> None:
    """A bare `on:` key (as in GitHub Actions files) becomes True; the problem says to quote it."""
    problems = _problems(PILOT.replace("  - trigger: approve\n", "  - on: approve\n"))
    assert any(
        p.path == "transitions[1]" and "key 'on': YAML reads bare 'on' as a boolean" in p.message
        for p in problems
    )


def test_quoted_on_is_an_ordinary_trigger() -> None:
    """Quoting the word is the fix: `trigger: "on"` loads."""
    spec = _load(PILOT.replace("trigger: approve", 'trigger: "on"'))
    assert "on" in spec.triggers()


def test_unknown_guards_depend_on_the_registry() -> None:
    """Guard names are checked against the registry passed in, not a global list."""
    with pytest.raises(InvalidTemplate, match="unknown guard 'product'"):
        load_template_text(PILOT, "pilot.yaml", GuardRegistry())


def test_empty_file_and_non_mapping_are_refused() -> None:
    """An empty file, or a document that is not a mapping, is one clear problem."""
    assert "the file is empty" in str(_problems("# nothing here\n")[0])
    assert "a template is a mapping" in str(_problems("- just\n- a list\n")[0])


def test_missing_file_is_an_invalid_template(tmp_path: Path) -> None:
    """A file that cannot be read raises InvalidTemplate naming the file, not OSError."""
    missing = tmp_path / "nope.yaml"
    with pytest.raises(InvalidTemplate, match="cannot read the file") as caught:
        load_template(missing, guards=GUARDS)
    assert caught.value.problems[0].source == str(missing)


def test_load_template_uses_given_text_and_names_the_source() -> None:
    """With `text=`, nothing is read from disk and the source name still appears in the spec."""
    spec = load_template("memory/pilot.yaml", text=PILOT, guards=GUARDS)
    assert spec.source == "memory/pilot.yaml"


def test_content_hash_ignores_comments_whitespace_and_key_order() -> None:
    """Reformatting a template keeps its hash; the JSON form of the same document does too."""
    reformatted = "# a comment\n" + PILOT.replace(
        "key: pilot\ntitle: Pilot\n", "title:   Pilot\nkey: pilot  # same\n\n"
    )
    reflowed = PILOT.replace(
        "  - key: draft\n    title: Draft\n", "  - title: Draft\n    key: draft\n"
    )
    as_json = json.dumps(yaml.safe_load(PILOT), indent=1)
    hashes = {_load(text).content_hash for text in (PILOT, reformatted, reflowed, as_json)}
    assert len(hashes) == 1
    assert len(hashes.pop()) == 64


def test_content_hash_changes_with_content() -> None:
    """Any change of meaning, even one word of a description, gives a new hash."""
    original = _load(PILOT).content_hash
    assert _load(PILOT.replace("duration: P2W", "duration: P3W")).content_hash != original
    assert _load(PILOT.replace("for review.", "for a review.")).content_hash != original


def test_diagram_dot_draws_stages_edges_and_highlight() -> None:
    """DOT output has a start marker, one labelled edge per source and the highlighted stage."""
    dot = diagram_dot(_load(PILOT), highlight="review")
    assert dot.startswith('digraph "pilot" {')
    assert "__start -> draft;" in dot
    assert 'draft -> review [label="submit"];' in dot
    assert 'paused -> paused__back [label="resume", style=dashed];' in dot
    assert 'review [label="Review\\nP2W", style="rounded,filled"' in dot


def test_diagram_mermaid_draws_a_state_diagram() -> None:
    """Mermaid output is a stateDiagram-v2 with start and end markers."""
    text = diagram_mermaid(_load(PILOT), highlight="draft")
    assert text.startswith("stateDiagram-v2\n")
    assert "    [*] --> draft" in text
    assert "    review --> done: approve" in text
    assert "    done --> [*]" in text
    assert "    class draft current" in text


def test_public_api_of_the_templates_package() -> None:
    """The names embedders import from `cycle_engine.spec` stay available."""
    assert {
        "load_template",
        "load_template_text",
        "builtin_template_paths",
        "diagram_dot",
        "diagram_mermaid",
        "TemplateSpec",
        "StageSpec",
        "TransitionSpec",
        "ReminderSpec",
    } <= set(templates.__all__)
    assert all(hasattr(templates, name) for name in templates.__all__)


def test_recursive_alias_is_refused_without_recursing_forever() -> None:
    """An alias to a node that contains it is one problem, not a RecursionError."""
    (problem,) = _problems("key: &loop [*loop]\n")
    assert problem.message.startswith("an alias refers to a node that contains it")


def test_alias_bomb_is_refused() -> None:
    """Aliases that expand to millions of nodes stop the load with one problem."""
    text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]\n"
        for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
    )
    (problem,) = _problems(text)
    assert "the document is too large" in problem.message
