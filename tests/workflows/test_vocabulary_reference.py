"""The JSON Schema and the README list the words a template may use exactly as the code does."""

from __future__ import annotations

import json

import pytest

from cycle_engine.alliances.guards import default_guards
from cycle_engine.spec.guards import GuardRegistry
from cycle_engine.spec.vocabulary import Vocabulary
from cycle_engine.templates import reference


def test_schema_file_is_what_the_code_generates() -> None:
    """template.schema.json equals the schema regenerated from the domain's vocabulary."""
    text = reference.SCHEMA_PATH.read_text(encoding="utf-8")
    regenerated = reference.schema_with_vocabulary(json.loads(text), default_guards())
    assert json.loads(text) == regenerated, "run python -m cycle_engine.templates.reference"


def test_readme_section_is_what_the_code_generates() -> None:
    """The README's vocabulary section equals the one regenerated from the code."""
    text = reference.README_PATH.read_text(encoding="utf-8")
    assert reference.readme_with_vocabulary(text, default_guards()) == text


def test_schema_lists_every_product_kind_rating_and_level() -> None:
    """The schema's lists are the domain's, and the product guard's argument refers to them."""
    vocabulary = default_guards().vocabulary
    defs = json.loads(reference.SCHEMA_PATH.read_text(encoding="utf-8"))["$defs"]
    assert defs["productKind"]["enum"] == list(vocabulary.product_kinds)
    assert defs["rating"]["enum"] == list(vocabulary.ratings)
    assert defs["participationLevel"]["enum"] == list(vocabulary.participation_levels)
    guards = defs["transition"]["properties"]["requires"]["items"]["properties"]
    assert guards["product"]["$ref"] == "#/$defs/productKind"


def test_a_changed_vocabulary_changes_the_generated_files() -> None:
    """The sync check can fail: a vocabulary with one more product kind gives another schema
    and another README section."""
    base = default_guards()
    grown = GuardRegistry(
        [base[name] for name in base],
        vocabulary=Vocabulary(product_kinds=(*base.vocabulary.product_kinds, "seed_stock_report")),
    )
    schema = json.loads(reference.SCHEMA_PATH.read_text(encoding="utf-8"))
    assert reference.schema_with_vocabulary(schema, grown) != schema
    readme = reference.README_PATH.read_text(encoding="utf-8")
    assert "`seed_stock_report`" in reference.readme_with_vocabulary(readme, grown)


def test_readme_without_markers_is_refused() -> None:
    """A README that lost its markers is an error naming them, not a silent no-op."""
    with pytest.raises(ValueError, match="lacks the markers"):
        reference.readme_with_vocabulary("# no markers\n", default_guards())


def test_check_mode_reports_up_to_date_files() -> None:
    """`--check` exits 0 on the files in the tree (the generated state)."""
    assert reference.main(["--check"]) == 0
