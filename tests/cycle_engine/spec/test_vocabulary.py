"""Template validation knows the domain's words: unknown product kinds, participation levels and
recipient roles are refused when the template is validated, with a did-you-mean (issue 14)."""

from __future__ import annotations

import pytest

from cycle_engine.alliances.guards import default_guards
from cycle_engine.errors import InvalidTemplate
from cycle_engine.spec import load_template_text
from cycle_engine.spec.guards import CORE_GUARDS, GuardRegistry
from cycle_engine.spec.vocabulary import Vocabulary

TEMPLATE = """\
key: seed-cycle
title: Seed cycle
initial: review
stages:
  - key: review
    title: Review
    duration: P2W
    reminders:
      - {name: kickoff, after_entry: P0D, to: [focal_point, lead]}
  - key: done
    title: Done
    final: true
transitions:
  - trigger: reviewed
    from: review
    to: done
    roles: [coordinator, lead]
    requires:
      - product: good_practice_review
"""


def _problems(text: str, registry: GuardRegistry | None = None) -> list[str]:
    with pytest.raises(InvalidTemplate) as caught:
        load_template_text(text, "seed.yaml", registry or default_guards())
    return [str(p) for p in caught.value.problems]


def test_the_sample_template_loads_with_the_domain_vocabulary() -> None:
    """The words the domain knows pass: the template below is valid as written."""
    spec = load_template_text(TEMPLATE, "seed.yaml", default_guards())
    assert "reviewed" in spec.triggers()


def test_unknown_product_kind_is_refused_at_validate_time() -> None:
    """`product: seed_stock_report` used to publish and then block every cycle at run time."""
    (problem,) = _problems(TEMPLATE.replace("good_practice_review", "seed_stock_report"))
    assert "transitions[0].requires[0].product" in problem
    assert "unknown product kind 'seed_stock_report'" in problem
    assert "'good_practice_review'" in problem  # the allowed values are listed


def test_misspelt_product_kind_gets_a_did_you_mean() -> None:
    """A near miss names the word meant."""
    (problem,) = _problems(TEMPLATE.replace("good_practice_review", "good_practise_review"))
    assert "did you mean 'good_practice_review'?" in problem


def test_unknown_recipient_role_is_refused_with_did_you_mean() -> None:
    """A reminder to `focal_piont` is refused, pointing at the right word."""
    (problem,) = _problems(TEMPLATE.replace("to: [focal_point, lead]", "to: [focal_piont, lead]"))
    assert "stages[0].reminders[0].to[0]" in problem
    assert "did you mean 'focal_point'?" in problem


def test_unknown_participation_level_is_refused_in_roles_and_recipients() -> None:
    """`leader` is not a participation level, neither in `roles:` nor in `to:`."""
    problems = _problems(
        TEMPLATE.replace("roles: [coordinator, lead]", "roles: [coordinator, leader]").replace(
            "to: [focal_point, lead]", "to: [focal_point, leader]"
        )
    )
    assert len(problems) == 2
    assert all("unknown role 'leader'" in p and "did you mean 'lead'?" in p for p in problems)


def test_the_spec_layer_alone_knows_no_domain_words() -> None:
    """Without the domain's vocabulary, `lead` and `focal_point` are not words the spec knows:
    the vocabulary really comes from the registry, not from the spec layer."""
    bare = GuardRegistry(list(CORE_GUARDS))
    text = TEMPLATE.replace("    requires:\n      - product: good_practice_review\n", "")
    problems = _problems(text, bare)
    assert any("unknown role 'focal_point'" in p for p in problems)
    assert any("unknown role 'lead'" in p for p in problems)
    plain = text.replace("[focal_point, lead]", "[coordinator]").replace(
        "[coordinator, lead]", "[coordinator]"
    )
    assert load_template_text(plain, "seed.yaml", bare).key == "seed-cycle"


def test_a_vocabulary_names_its_lists() -> None:
    """A guard naming a list the vocabulary lacks is a programming error, said plainly."""
    with pytest.raises(KeyError, match="no vocabulary list 'colours'"):
        Vocabulary().choices("colours")


def test_unknown_rating_is_refused_with_did_you_mean() -> None:
    """`context_rated: weeak` names the rating meant; `weak` loads."""
    text = TEMPLATE.replace("product: good_practice_review", "context_rated: weeak")
    (problem,) = _problems(text)
    assert "transitions[0].requires[0].context_rated" in problem
    assert "unknown rating 'weeak'" in problem and "did you mean 'weak'?" in problem
    spec = load_template_text(text.replace("weeak", "weak"), "seed.yaml", default_guards())
    assert spec.transitions[0].guards[0].arg == "weak"
