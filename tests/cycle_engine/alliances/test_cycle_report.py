"""The cycle report reads like the documentation a partner would share: a draft while the cycle
runs, complete once documented, in Markdown and HTML."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cycle_engine import InvalidInput

from .conftest import COORDINATOR, World
from .test_questions_learning_turnover import _to_documentation


def test_draft_report_is_available_from_the_first_day(world: World) -> None:
    """A new cycle's report is a draft that names its stage, questions and plan."""
    cycle = world.start()
    report = world.engine.work.cycle_report(cycle)
    assert not report.complete
    text = world.engine.work.render_report(cycle)
    assert text.startswith("# Market access\n")
    assert "**Draft learning cycle report** (Learning cycle), Alianza Test" in text
    assert "1. Which market channels pay smallholders best?" in text
    assert "| Question workshop | 2026-01-05 | 2026-01-26 | 2026-01-05 | - | current |" in text


def test_documented_cycle_report_compiles_everything(world: World) -> None:
    """The complete report has roles, planned vs actual dates, products, contexts, answers,
    learning and the moved due date with its reason."""
    cycle = _to_documentation(world)
    e = world.engine
    e.work.move_due_date(
        cycle, "documentation", date(2026, 10, 30), reason="Board meets late", actor=COORDINATOR
    )
    world.clock.advance(timedelta(days=10))
    e.work.add_product(
        cycle,
        "documented_results",
        "Market channels: results",
        world.research,
        link="https://docs.example.org/results",
    )
    questions = e.work.learning_questions(cycle)
    e.work.answer_questions(
        cycle,
        {
            questions[0].id or 0: "Direct supermarket contracts.",
            questions[1].id or 0: "Steady volumes.",
        },
    )
    e.work.add_learning(
        cycle, "development_interventions", "Contracts first", "Start with one buyer.", [world.ngo]
    )
    report = e.work.cycle_report(cycle)
    assert not report.complete  # still documenting: a draft until the cycle is completed
    text = e.work.render_report(cycle)
    assert "**Draft learning cycle report** (Learning cycle)" in text
    assert ("| Prototype | Centro de Investigación (Ana Pérez) | - | - |") in text
    assert "- Documentation: 2026-01-05: due 2026-10-05 -> 2026-10-30 (Board meets late)" in text
    assert (
        "- **Market channels: results** (Documented results), Documentation stage, by "
        "Centro de Investigación"
    ) in text
    assert "### Site 0 (Village 0, Guatemala)" in text
    assert "- Round 1, 2026-01-05, strong: Worked well." in text
    assert "**1. Which channels pay best?**\n\nDirect supermarket contracts." in text
    assert "### Development interventions" in text
    assert "- **Contracts first** (Fundación Tierra): Start with one buyer." in text
    dates = {s.key: s for s in report.stages}
    assert dates["prototype"].actual_start == date(2026, 1, 5)
    assert dates["documentation"].status == "current"
    world.fire(cycle, "cycle_documented")
    assert e.work.cycle_report(cycle).complete
    assert "**Learning cycle report** (Learning cycle)" in e.work.render_report(cycle)


def test_html_report_escapes_partner_text(world: World) -> None:
    """The HTML report is a full page and escapes what partners typed."""
    cycle = world.start(questions=["Do <script> tags survive?"])
    html = world.engine.work.render_report(cycle, "html")
    assert html.startswith("<!DOCTYPE html>")
    assert "<li>Do &lt;script&gt; tags survive?</li>" in html
    with pytest.raises(InvalidInput, match="format: must be one of markdown, html"):
        world.engine.work.render_report(cycle, "pdf")
