"""The editor shows a stage's title and description per language (Spanish and French beside the
default) and keeps them in sync with the YAML both ways, over HTTP against the real app."""

from __future__ import annotations

from tests.api.dashboard.conftest import DashboardServer, World, sign_in
from tests.api.dashboard.test_editor_forms import form_fields
from tests.api.dashboard.test_editor_pages import press, problem_in, start_draft

TEXT = """\
key: lingo
title: Languages
initial: plan
stages:
- key: plan
  title: Work plan
  duration: P2W
  translations:
    es: {title: Plan de trabajo propio}
- {key: done, title: Done, final: true}
transitions:
- {trigger: finish, from: plan, to: done}
"""


def test_stage_texts_per_language_follow_the_text_and_the_form(
    dashboard: DashboardServer, dashboard_world: World
) -> None:
    client = sign_in(dashboard, dashboard_world.coordinator)
    url = start_draft(client, dashboard_world.alliance_id, "lingo")
    saved = press(client, url, client.get(url).text, "save", yaml=TEXT)
    assert saved.status_code == 303, saved.text
    page = client.get(url).text
    fields = form_fields(page)
    assert fields["stage-0-tr-es-title"] == "Plan de trabajo propio"
    assert fields["stage-0-tr-fr-title"] == "" and "stage-0-tr-fr-description" in fields
    assert 'lang="es"' in page and "Stage title in Spanish" in page
    assert "Stage title in French" in page

    changed = press(client, url, page, "save", **{"stage-0-tr-fr-title": "Plan de travail"})
    assert changed.status_code == 303, changed.text
    text = form_fields(client.get(url).text)["yaml"]
    assert "fr:\n      title: Plan de travail" in text
    assert "es:\n      title: Plan de trabajo propio" in text

    wrong = TEXT.replace("es: {title", "esp: {title")
    parts = client.post(
        url + "/check", data={**fields, "yaml": wrong}, headers={"X-Editor-Source": "yaml"}
    ).json()
    assert 'id="stage-0-tr-esp-title"' in parts["form-fields"]
    problem = problem_in(parts["form-fields"], "stage-0-tr-esp")
    assert "unknown language &#39;esp&#39;" in problem and "did you mean &#39;es&#39;?" in problem
