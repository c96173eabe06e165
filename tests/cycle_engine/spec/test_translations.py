"""A stage's title and description per language (`translations:`): kept on the frozen spec,
checked against the engine's languages with a did-you-mean, bounded; the plain title unchanged."""

from __future__ import annotations

import dataclasses
import json

import pytest

from cycle_engine.alliances.guards import default_guards
from cycle_engine.errors import InvalidTemplate
from cycle_engine.spec import StageText, TemplateSpec, load_template_text
from cycle_engine.spec.translations import MAX_DESCRIPTION, MAX_TITLE
from cycle_engine.templates import reference

TEMPLATE = """\
key: plan-cycle
title: Plan cycle
initial: work_plan
stages:
  - key: work_plan
    title: Work plan
    description: Agree who does what.
    duration: P2W
    translations:
      es: {{title: Plan de trabajo, description: Acordar quién hace qué.}}
      {extra}
  - key: done
    title: Done
    final: true
    translations:
      fr: {{title: Terminé}}
transitions:
  - {{trigger: finish, from: work_plan, to: done}}
"""


def _load(extra: str = "fr: {title: Plan de travail}") -> TemplateSpec:
    return load_template_text(TEMPLATE.format(extra=extra), "plan.yaml", default_guards())


def _problems(extra: str) -> list[str]:
    with pytest.raises(InvalidTemplate) as caught:
        _load(extra)
    return [str(p) for p in caught.value.problems]


def test_translations_are_kept_on_the_frozen_spec() -> None:
    spec = _load()
    stage = spec.stage("work_plan")
    assert stage.title == "Work plan"
    assert stage.translations == (
        StageText(language="es", title="Plan de trabajo", description="Acordar quién hace qué."),
        StageText(language="fr", title="Plan de travail"),
    )
    assert stage.text_in("fr") == StageText(language="fr", title="Plan de travail")
    assert stage.text_in("en") is None
    assert spec.stage("done").text_in("fr") == StageText(language="fr", title="Terminé")
    with pytest.raises(dataclasses.FrozenInstanceError):
        stage.translations[0].title = "x"  # type: ignore[misc]


def test_unknown_language_is_refused_with_its_path_and_a_did_you_mean() -> None:
    problems = _problems("esp: {title: Plan}")
    assert len(problems) == 1
    assert "stages[0].translations.esp" in problems[0]
    assert "unknown language 'esp'" in problems[0]
    assert "did you mean 'es'?" in problems[0]
    assert "'en', 'es', 'fr'" in problems[0]
    (german,) = _problems("de: {title: Arbeitsplan}")
    assert "unknown language 'de'" in german and "did you mean" not in german


@pytest.mark.parametrize(
    ("extra", "where", "words"),
    [
        (f"fr: {{title: {'x' * (MAX_TITLE + 1)}}}", "translations.fr.title", "at most 200"),
        (
            f"fr: {{description: {'y' * (MAX_DESCRIPTION + 1)}}}",
            "translations.fr.description",
            "at most 4000",
        ),
        ("fr: {titel: Plan}", "translations.fr.titel", "did you mean 'title'?"),
        ("fr: {}", "translations.fr", "give a title or a description"),
        ("fr: Plan de travail", "translations.fr", "expected a mapping"),
        ("fr: {title: [a, b]}", "translations.fr.title", "expected text"),
    ],
)
def test_bad_translations_name_what_and_where(extra: str, where: str, words: str) -> None:
    problems = _problems(extra)
    assert any(f"stages[0].{where}" in p and words in p for p in problems), problems


def test_translations_that_are_not_a_mapping_are_refused() -> None:
    spanish = "es: {title: Plan de trabajo, description: Acordar quién hace qué.}"
    text = TEMPLATE.format(extra="").replace(
        f"    translations:\n      {spanish}", "    translations: [es]"
    )
    with pytest.raises(InvalidTemplate, match=r"stages\[0\]\.translations.*language codes"):
        load_template_text(text, "plan.yaml", default_guards())


def test_the_json_schema_describes_translations_with_the_engine_languages() -> None:
    """The schema's language list is generated from the vocabulary (the sync test keeps it so),
    and its bounds are the loader's."""
    defs = json.loads(reference.SCHEMA_PATH.read_text(encoding="utf-8"))["$defs"]
    assert defs["stage"]["properties"]["translations"] == {"$ref": "#/$defs/stageTranslations"}
    assert defs["language"]["enum"] == list(default_guards().vocabulary.languages)
    texts = defs["stageTranslations"]["additionalProperties"]
    assert defs["stageTranslations"]["propertyNames"] == {"$ref": "#/$defs/language"}
    assert texts["properties"]["title"]["maxLength"] == MAX_TITLE
    assert texts["properties"]["description"]["maxLength"] == MAX_DESCRIPTION
    assert texts["additionalProperties"] is False
