"""The template's own title and description per language (`translations:` at the top level):
kept on the frozen spec and checked as a stage's are (known languages with a did-you-mean, no
empty texts), in the JSON Schema too."""

from __future__ import annotations

import json

import pytest

from cycle_engine.alliances.guards import default_guards
from cycle_engine.errors import InvalidTemplate
from cycle_engine.spec import StageText, TemplateSpec, load_template_text
from cycle_engine.spec.messages import problem_message
from cycle_engine.templates import reference

TEMPLATE = """\
key: plan-cycle
title: Plan cycle
description: Plan the work together.
translations:
  {texts}
initial: work_plan
stages:
  - {{key: work_plan, title: Work plan, duration: P2W}}
  - {{key: done, title: Done, final: true}}
transitions:
  - {{trigger: finish, from: work_plan, to: done}}
"""


def _load(texts: str) -> TemplateSpec:
    return load_template_text(TEMPLATE.format(texts=texts), "plan.yaml", default_guards())


def test_template_texts_per_language_are_kept_on_the_spec() -> None:
    spec = _load("es: {title: Ciclo de planificación, description: Planificar juntos.}")
    assert spec.title == "Plan cycle"
    assert spec.text_in("es") == StageText(
        language="es", title="Ciclo de planificación", description="Planificar juntos."
    )
    assert spec.text_in("fr") is None


@pytest.mark.parametrize(
    ("texts", "path", "english", "spanish"),
    [
        (
            "esp: {title: Ciclo}",
            "translations.esp",
            "unknown language 'esp' (did you mean 'es'? expected one of 'en', 'es', 'fr')",
            "idioma 'esp' desconocido (¿quiso decir 'es'? se esperaba uno de 'en', 'es', 'fr')",
        ),
        (
            "fr: {title: '  '}",
            "translations.fr",
            "give a title or a description (or leave the language out)",
            "indique un título o una descripción (o quite el idioma)",
        ),
        (
            "fr: {titre: Cycle}",
            "translations.fr.titre",
            "unknown key 'titre' (did you mean 'title'? expected one of 'title', 'description')",
            "clave 'titre' desconocida (¿quiso decir 'title'? se esperaba una de 'title',"
            " 'description')",
        ),
    ],
)
def test_bad_template_texts_are_refused_with_their_path(
    texts: str, path: str, english: str, spanish: str
) -> None:
    with pytest.raises(InvalidTemplate) as caught:
        _load(texts)
    found = [p for p in caught.value.problems if p.path == path]
    assert found, [str(p) for p in caught.value.problems]
    assert found[0].message.startswith(english)
    assert problem_message(found[0], "es").startswith(spanish)


def test_the_json_schema_allows_template_texts_per_language() -> None:
    schema = json.loads(reference.SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["properties"]["translations"]["$ref"] == "#/$defs/stageTranslations"
