"""The editor's form model without a server: every built-in template survives YAML -> form ->
YAML unchanged (same content hash), comments are counted so the page can warn before dropping
them, the buttons reshape the form, stage references follow a renamed stage, and each
validator path lands in the slot of the field it concerns."""

from __future__ import annotations

from pathlib import Path

import pytest

from cycle_engine.alliances.guards import default_guards
from cycle_engine.api.dashboard.editor.check import check, diagram, slot_of
from cycle_engine.api.dashboard.editor.fields import parse_form
from cycle_engine.api.dashboard.editor.model import DurationField, TextForm, form_to_document
from cycle_engine.api.dashboard.editor.ops import apply_op
from cycle_engine.api.dashboard.editor.text import count_comments, form_text, read_text
from cycle_engine.spec import builtin_template_paths
from cycle_engine.spec.loader import load_template_text
from cycle_engine.spec.specs import TemplateSpec

REGISTRY = default_guards()
ROLES = ("admin", "coordinator", "manager", "lead", "active", "system")
RECIPIENTS = ("focal_point", "deputy", "lead", "active", "informed", "coordinator", "manager")


def validate(text: str) -> TemplateSpec:
    return load_template_text(text, "<test>", REGISTRY)


@pytest.mark.parametrize("path", builtin_template_paths(), ids=lambda p: p.name)
def test_builtin_templates_round_trip_through_the_form(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    read = read_text(text, REGISTRY)
    assert read.form is not None and not read.lossy and read.comments >= 1
    rewritten = form_text(read.form, REGISTRY)
    assert validate(rewritten).content_hash == validate(text).content_hash
    assert count_comments(rewritten) == 0


def test_comments_are_told_apart_from_hashes_in_text() -> None:
    text = "# heading\nkey: a  # trailing\ntitle: 'C# and #hash'\nurl: x#y\n"
    assert count_comments(text) == 2


def test_durations_read_and_write_iso_8601() -> None:
    assert DurationField.from_value("P3W") == DurationField("3", "W")
    assert DurationField.from_value("PT4H") == DurationField("4", "H")
    assert DurationField.from_value("P1DT12H") == DurationField("P1DT12H", "iso")
    assert DurationField("10", "D").to_value() == "P10D"
    assert DurationField("", "W").to_value() is None
    assert DurationField("three", "W").to_value() == "three"  # left for the validator to name


def test_references_follow_a_renamed_stage_and_buttons_reshape() -> None:
    fields = {
        "key": "t",
        "title": "T",
        "initial": "stage:0",
        "stage-0-key": "draft",
        "stage-0-title": "Draft",
        "stage-0-duration-amount": "2",
        "stage-1-key": "finished",
        "stage-1-title": "Finished",
        "stage-1-kind": "final",
        "transition-0-trigger": "finish",
        "transition-0-from-0": "on",
        "transition-0-to": "stage:1",
        "transition-0-role-coordinator": "on",
        "transition-0-guard-0-name": "learning_questions",
        "transition-0-guard-0-arg": "2",
    }
    form = parse_form(fields, roles=ROLES, recipients=RECIPIENTS)
    document = form_to_document(form, REGISTRY)
    assert document["initial"] == "draft"
    assert document["transitions"][0] == {
        "trigger": "finish",
        "from": "draft",
        "to": "finished",
        "roles": ["coordinator"],
        "requires": [{"learning_questions": 2}],
    }
    renamed = parse_form({**fields, "stage-0-key": "writing"}, roles=ROLES, recipients=RECIPIENTS)
    assert form_to_document(renamed, REGISTRY)["transitions"][0]["from"] == "writing"
    assert apply_op(form, "add-stage") == "stage-2-key" and len(form.stages) == 3
    assert apply_op(form, "up-stage-1") == "stage-0-key"
    assert [s.key for s in form.stages] == ["finished", "draft", ""]
    apply_op(form, "remove-stage-2")
    apply_op(form, "add-pause")
    apply_op(form, "add-cancel")
    assert {t.trigger for t in form.transitions} == {"finish", "pause", "resume", "cancel"}
    apply_op(form, "remove-guard-0-0")
    assert form.transitions[0].guards == []
    assert apply_op(form, "remove-stage-99") is None and apply_op(form, "explode") is None
    assert check(form_text(form, REGISTRY), form, validate).ok
    form.stages[1].duration = DurationField()
    missing = check(form_text(form, REGISTRY), form, validate)
    assert "missing required key 'duration'" in missing.by_slot["stage-1-duration"][0]


def test_problems_land_beside_their_fields() -> None:
    assert slot_of("stages[2].duration") == "stage-2-duration"
    assert slot_of("stages[2].final") == "stage-2-kind"
    assert slot_of("stages[1].reminders[0].before_due") == "stage-1-reminder-0"
    assert slot_of("stages[1].overdue.every") == "stage-1-overdue"
    assert slot_of("defaults.stall.after") == "defaults-stall"
    assert slot_of("transitions[0].requires[1].product") == "transition-0-guard-1"
    assert slot_of("transitions[3].from[1]") == "transition-3-from"
    assert slot_of("initial") == "initial"
    text = "key: t\ntitle: T\ninitial: a\nstages:\n- {key: a, title: A, duration: P3Q}\n"
    text += "- {key: z, title: Z, final: true}\ntransitions:\n- {trigger: go, from: a, to: zz}\n"
    read = read_text(text, REGISTRY)
    checked = check(text, read.form, validate)
    assert "P3Q" in checked.by_slot["stage-0-duration"][0]
    assert "did you mean 'z'?" in checked.by_slot["transition-0-to"][0]
    svg, flagged = diagram(read.form)
    assert svg is not None and flagged == {
        "a": "no way leads from A to a final stage",
        "z": "Z cannot be reached from the first stage",
    }


TRANSLATED = """\
key: t
title: T
initial: plan
stages:
- key: plan
  title: Work plan
  description: Who does what.
  translations:
    es: {title: Plan de trabajo propio, description: Quién hace qué.}
    fr: {title: Plan de travail propre}
  duration: P2W
- {key: done, title: Done, final: true, translations: {es: {title: Hecho}}}
transitions:
- {trigger: finish, from: plan, to: done}
"""


def test_stage_texts_per_language_round_trip_through_the_form() -> None:
    """YAML -> form -> YAML keeps every language's title and description (same content hash),
    and the form shows the offered languages even where the template gives none."""
    read = read_text(TRANSLATED, REGISTRY)
    assert read.form is not None and not read.lossy
    plan, done = read.form.stages
    assert plan.text_in("es") == TextForm("Plan de trabajo propio", "Quién hace qué.")
    assert plan.text_in("fr") == TextForm("Plan de travail propre", "")
    assert done.languages(("es", "fr")) == ["es", "fr"] and done.text_in("fr") == TextForm()
    rewritten = form_text(read.form, REGISTRY)
    assert validate(rewritten).content_hash == validate(TRANSLATED).content_hash
    assert validate(rewritten).stage("done").text_in("es") is not None


def test_stage_texts_per_language_are_read_from_the_posted_form() -> None:
    """`stage-<i>-tr-<code>-title` fields become `translations:`; a language left blank is left
    out, and a code the YAML brought (here `de`) survives the form to be refused by the
    validator beside its own field."""
    fields = {
        "key": "t",
        "title": "T",
        "initial": "stage:0",
        "stage-0-key": "plan",
        "stage-0-title": "Work plan",
        "stage-0-duration-amount": "2",
        "stage-0-tr-es-title": " Plan de trabajo ",
        "stage-0-tr-es-description": "",
        "stage-0-tr-fr-title": "",
        "stage-0-tr-fr-description": "",
        "stage-0-tr-de-title": "Arbeitsplan",
        "stage-1-key": "done",
        "stage-1-title": "Done",
        "stage-1-kind": "final",
        "stage-1-tr-fr-description": "Fini.",
        "transition-0-trigger": "finish",
        "transition-0-from-0": "on",
        "transition-0-to": "stage:1",
    }
    form = parse_form(fields, roles=ROLES, recipients=RECIPIENTS)
    document = form_to_document(form, REGISTRY)
    assert document["stages"][0]["translations"] == {
        "es": {"title": "Plan de trabajo"},
        "de": {"title": "Arbeitsplan"},
    }
    assert document["stages"][1]["translations"] == {"fr": {"description": "Fini."}}
    assert form.stages[0].languages(("es", "fr")) == ["es", "fr", "de"]
    text = form_text(form, REGISTRY)
    checked = check(text, form, validate)
    assert "unknown language 'de'" in checked.by_slot["stage-0-tr-de"][0]
    del fields["stage-0-tr-de-title"]
    fields["stage-0-tr-fr-title"] = "x" * 201
    form = parse_form(fields, roles=ROLES, recipients=RECIPIENTS)
    checked = check(form_text(form, REGISTRY), form, validate)
    assert "at most 200" in checked.by_slot["stage-0-tr-fr-title"][0]
    assert slot_of("stages[3].translations.es.description") == "stage-3-tr-es-description"
    assert slot_of("stages[3].translations") == "stage-3"
