"""The validator's problems read in English as always (`message`, `str`) and in the coordinator's
language from the `validator` catalog, did-you-mean included; keys and values stay as written."""

from __future__ import annotations

import pytest

from cycle_engine.alliances.guards import default_guards
from cycle_engine.errors import InvalidTemplate, Message, TemplateProblem
from cycle_engine.spec import load_template_text
from cycle_engine.spec.messages import problem_message, problem_text

GOOD = """\
key: plan-cycle
title: Plan cycle
initial: work_plan
stages:
  - key: work_plan
    title: Work plan
    duration: {duration}
  - key: review
    title: Review
    duration: P1W
  - key: done
    title: Done
    final: true
transitions:
  - trigger: finish
    from: work_plan
    to: {dest}
    roles: [{role}]
    requires:
      - product: {kind}
"""


def _problems(**changes: str) -> list[TemplateProblem]:
    values = {
        "duration": "P2W",
        "dest": "done",
        "role": "coordinator",
        "kind": "good_practice_review",
    }
    values.update(changes)
    with pytest.raises(InvalidTemplate) as caught:
        load_template_text(GOOD.format(**values), "plan.yaml", default_guards())
    return list(caught.value.problems)


def _only(problems: list[TemplateProblem], path: str) -> TemplateProblem:
    (found,) = [p for p in problems if p.path == path]
    return found


def test_unknown_product_kind_reads_in_each_language_with_did_you_mean() -> None:
    """A guard names a product kind the domain lacks: a suggestion in every language."""
    problem = _only(_problems(kind="good_practise_review"), "transitions[0].requires[0].product")
    assert problem.message.startswith(
        "unknown product kind 'good_practise_review' for guard 'product'"
        " (did you mean 'good_practice_review'? expected one of "
    )
    assert problem.message.endswith("(line 20)")
    spanish = problem_message(problem, "es")
    assert spanish.startswith(
        "tipo de producto 'good_practise_review' desconocido para la condición 'product'"
        " (¿quiso decir 'good_practice_review'? se esperaba uno de 'learning_questions', "
    )
    assert spanish.endswith("(línea 20)")
    french = problem_message(problem, "fr")
    assert french.startswith(
        "type de produit 'good_practise_review' inconnu pour la condition 'product'"
        " (vouliez-vous dire 'good_practice_review' ? attendu : un parmi "
    )
    assert french.endswith("(ligne 20)")
    assert problem_message(problem, "en") == problem.message
    assert problem_text(problem, "es") == (
        f"plan.yaml: transitions[0].requires[0].product: {spanish}"
    )


def test_bad_duration_reads_in_each_language_with_the_value_as_written() -> None:
    """A month duration is refused in Spanish and French, the value and the example untranslated."""
    problem = _only(_problems(duration="P2M"), "stages[0].duration")
    assert problem.message == (
        "'P2M': months and years have no fixed length; write weeks or days (e.g. 'P4W') (line 7)"
    )
    assert problem_message(problem, "es") == (
        "'P2M': los meses y los años no tienen una duración fija; escriba semanas o días"
        " (p. ej. 'P4W') (línea 7)"
    )
    assert problem_message(problem, "fr") == (
        "'P2M' : les mois et les années n'ont pas de durée fixe ; écrivez des semaines ou des"
        " jours (p. ex. 'P4W') (ligne 7)"
    )


def test_unreachable_stage_reads_in_each_language() -> None:
    """A stage no transition leads to is named in the coordinator's language."""
    problems = _problems()  # nothing goes to `review`, and it has no way out either
    texts = {p.message for p in problems}
    assert "stage 'review' has no way out: add a transition from it or mark it 'final: true'" in (
        " ".join(texts)
    )
    review = [p for p in problems if p.path == "stages[1]"]
    assert review
    spanish = [problem_message(p, "es") for p in review]
    assert any(t.startswith("la etapa 'review' no tiene salida") for t in spanish)

    unreachable = _unreachable()
    assert unreachable.message.startswith(
        "stage 'review' cannot be reached from the initial stage 'work_plan'"
    )
    assert problem_message(unreachable, "es").startswith(
        "no se puede llegar a la etapa 'review' desde la etapa inicial 'work_plan'"
    )
    assert problem_message(unreachable, "fr").startswith(
        "l'étape 'review' est inaccessible depuis l'étape initiale 'work_plan'"
    )


def _unreachable() -> TemplateProblem:
    text = GOOD.format(
        duration="P2W", dest="done", role="coordinator", kind="good_practice_review"
    ).replace(
        "transitions:\n",
        "transitions:\n  - {trigger: reviewed, from: review, to: done}\n",
    )
    with pytest.raises(InvalidTemplate) as caught:
        load_template_text(text, "plan.yaml", default_guards())
    (problem,) = caught.value.problems
    return problem


def test_unknown_role_reads_in_each_language_with_did_you_mean() -> None:
    problem = _only(_problems(role="cordinator"), "transitions[0].roles[0]")
    assert problem.message.startswith(
        "unknown role 'cordinator' (did you mean 'coordinator'? expected one of 'admin', "
    )
    assert problem_message(problem, "es").startswith(
        "rol 'cordinator' desconocido (¿quiso decir 'coordinator'? se esperaba uno de 'admin', "
    )
    assert problem_message(problem, "fr").startswith(
        "rôle 'cordinator' inconnu (vouliez-vous dire 'coordinator' ? attendu : un parmi 'admin', "
    )


def test_a_language_without_a_catalog_reads_in_english() -> None:
    problem = _only(_problems(role="cordinator"), "transitions[0].roles[0]")
    assert problem_message(problem, "de") == problem.message
    assert problem_message(problem, "../es") == problem.message


def test_a_translation_whose_placeholders_do_not_fit_reads_in_english() -> None:
    """A broken catalog entry never hides the problem: the English words are shown instead."""
    text = Message("unknown role {role!r}", (("role", "x"),))
    assert text.render(lambda _msgid: "rol {rol!r} desconocido") == "unknown role 'x'"


def test_problems_made_by_hand_keep_their_words() -> None:
    """A problem without a `Message` (built by another part) reads as written in any language."""
    problem = TemplateProblem("<text>", "", "a template is a YAML mapping")
    assert problem_message(problem, "es") == "a template is a YAML mapping"
    assert str(problem) == "<text>: a template is a YAML mapping"
