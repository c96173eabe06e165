"""A template text is parsed once per process (`spec.loader.read_document`): a second load of
the same text gives the same spec and the same problems, with their lines, and never shares a
document another caller could change."""

from __future__ import annotations

from pathlib import Path

import pytest

from cycle_engine.alliances.guards import default_guards
from cycle_engine.errors import InvalidTemplate
from cycle_engine.spec import load_template_text
from cycle_engine.spec.loader import read_document
from cycle_engine.spec.validate import Problems

WORKFLOWS = Path(__file__).resolve().parents[3] / "workflows"


def test_a_second_read_is_an_equal_document_of_its_own() -> None:
    text = (WORKFLOWS / "learning_cycle.yaml").read_text(encoding="utf-8")
    first, second = Problems("a.yaml"), Problems("b.yaml")
    one = read_document(text, first)
    other = read_document(text, second)
    assert one == other and one is not other
    assert second.lines == first.lines and second.lines  # lines for problems found later
    other["stages"].clear()  # a caller that changes its copy changes nobody else's
    assert read_document(text, Problems("c.yaml"))["stages"] == one["stages"]


def test_the_same_text_gives_the_same_spec() -> None:
    text = (WORKFLOWS / "learning_cycle.yaml").read_text(encoding="utf-8")
    guards = default_guards()
    assert load_template_text(text, "x.yaml", guards) == load_template_text(text, "x.yaml", guards)


@pytest.mark.parametrize(
    "text",
    [
        "key: [unclosed\n",  # not YAML: fatal
        "key: a\nkey: b\n",  # a duplicate key: a problem found while reading
        "key: bad key\ntitle: T\nstages: {}\ntransitions: []\n",  # read fine, refused later
    ],
)
def test_problems_are_reported_the_same_each_time(text: str) -> None:
    reports = []
    for _ in range(2):
        with pytest.raises(InvalidTemplate) as refused:
            load_template_text(text, "bad.yaml", default_guards())
        reports.append([str(problem) for problem in refused.value.problems])
    assert reports[0] == reports[1] and reports[0]
