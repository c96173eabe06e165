"""Template texts in several languages (issue 12): every title and description of a built-in
template and its stages, every transition's description and every trigger's title has a Spanish
and a French translation in the gettext catalogs, and a text no catalog knows falls back to the
template's own."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cycle_engine.notifications.template_texts import (
    catalog,
    localize_context,
    translate,
    trigger_label,
    trigger_title,
)

BUILTINS = sorted(Path(__file__).parents[2].joinpath("workflows").glob("*.yaml"))


def _texts(path: Path) -> list[str]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    texts = [document["title"], document["description"]]
    for stage in document["stages"]:
        texts += [stage["title"], stage.get("description") or ""]
    for transition in document["transitions"]:  # the cycle page's buttons, forms and timeline
        texts += [trigger_title(transition["trigger"]), transition.get("description") or ""]
    return [t for t in texts if t]


@pytest.mark.parametrize("language", ["es", "fr"])
@pytest.mark.parametrize("path", BUILTINS, ids=lambda p: p.stem)
def test_every_builtin_text_is_translated(path: Path, language: str) -> None:
    """A new or changed text in a built-in template needs its catalog entry."""
    missing = [t for t in _texts(path) if t not in catalog(language)]
    assert missing == []


def test_translation_and_fallback() -> None:
    """Known texts are translated; unknown texts and languages keep the template's words."""
    assert translate("Work plan", "es") == "Plan de trabajo"
    assert translate("Work plan", "fr") == "Plan de travail"
    assert translate("Work plan", "en") == "Work plan"
    assert translate("Our own stage", "es") == "Our own stage"
    assert translate("Work plan", "../../etc") == "Work plan"
    assert trigger_label("questions_agreed", "es") == "Preguntas acordadas"
    assert trigger_label("questions_agreed", "fr") == "Questions convenues"
    assert trigger_label("questions_agreed", "en") == "Questions agreed"
    assert trigger_label("our_own_step", "es") == "Our own step"
    context = {
        "stage": {"title": "Prototype", "description": None},
        "details": {"next_stage": {"key": "work_plan", "title": "Work plan"}},
        "cycle": {"title": "Work plan"},
    }
    localized = localize_context(context, "es")
    assert localized["stage"]["title"] == "Prototipo"
    assert localized["details"]["next_stage"]["title"] == "Plan de trabajo"
    assert localized["cycle"]["title"] == "Work plan"  # a partner's own words stay


def test_the_template_translation_comes_before_the_catalog() -> None:
    """A template's own text in the reader's language wins; a field it leaves out falls back to
    the catalog, then to the default; digest items are localized the same way."""
    stage = {
        "title": "Work plan",
        "description": "Our own words",
        "translations": {"es": {"title": "Plan propio", "description": ""}},
    }
    context = {"stage": stage, "items": [{"stage": stage, "cycle": {"title": "C"}}]}
    spanish = localize_context(context, "es")
    assert spanish["stage"] == {"title": "Plan propio", "description": "Our own words"}
    assert spanish["items"][0]["stage"]["title"] == "Plan propio"
    french = localize_context(context, "fr")
    assert french["stage"]["title"] == "Plan de travail"  # no template text: the catalog
    english = localize_context(context, "en")
    assert english["stage"] == {"title": "Work plan", "description": "Our own words"}
