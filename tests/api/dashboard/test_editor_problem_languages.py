"""The editor shows each validator problem beside its field in the coordinator's language, with
its did-you-mean, both on the live check and on the page re-rendered without JavaScript, over
HTTP against the real app; the publish preview lists them in that language too."""

from __future__ import annotations

import html

import httpx

from tests.api.dashboard.conftest import DashboardServer, World, sign_in
from tests.api.dashboard.test_dashboard_languages import speak
from tests.api.dashboard.test_editor_forms import form_fields
from tests.api.dashboard.test_editor_pages import press, problem_in, start_draft

BROKEN = """\
key: ciclo-roto
title: Ciclo roto
initial: plan
stages:
- key: plan
  title: Plan
  duration: P2M
- {key: done, title: Done, final: true}
transitions:
- {trigger: finish, from: plan, to: done, roles: [cordinator]}
"""


def _spanish_coordinator(dashboard: DashboardServer, world: World, db_url: str) -> httpx.Client:
    speak(db_url, world.coordinator, "es")
    client = sign_in(dashboard, world.coordinator)
    client.headers["Accept-Language"] = "en-US,en;q=0.9"  # the person's language wins
    return client


def test_a_spanish_coordinator_reads_each_problem_in_spanish_beside_its_field(
    dashboard: DashboardServer, dashboard_world: World, db_url: str
) -> None:
    client = _spanish_coordinator(dashboard, dashboard_world, db_url)
    url = start_draft(client, dashboard_world.alliance_id, "ciclo-roto")
    fields = form_fields(client.get(url).text)

    parts = client.post(
        url + "/check", data={**fields, "yaml": BROKEN}, headers={"X-Editor-Source": "yaml"}
    ).json()
    role = html.unescape(problem_in(parts["form-fields"], "transition-0-roles"))
    assert "rol 'cordinator' desconocido (¿quiso decir 'coordinator'? se esperaba uno de" in role
    duration = html.unescape(problem_in(parts["form-fields"], "stage-0-duration"))
    assert "'P2M': los meses y los años no tienen una duración fija" in duration
    assert "unknown role" not in parts["form-fields"]

    page = press(client, url, client.get(url).text, "refresh", yaml=BROKEN)  # without htmx
    assert page.status_code in (200, 422), page.text
    shown = html.unescape(problem_in(page.text, "transition-0-roles"))
    assert "rol 'cordinator' desconocido" in shown


def test_the_language_switch_words_the_problems(
    dashboard: DashboardServer, dashboard_world: World
) -> None:
    """A coordinator who picks French with the page's language switch reads the problems in
    French on the next live check (the switch's choice is remembered)."""
    client = sign_in(dashboard, dashboard_world.coordinator)
    url = start_draft(client, dashboard_world.alliance_id, "cycle-casse")
    fields = form_fields(client.get(url, params={"lang": "fr"}).text)
    parts = client.post(
        url + "/check", data={**fields, "yaml": BROKEN}, headers={"X-Editor-Source": "yaml"}
    ).json()
    role = html.unescape(problem_in(parts["form-fields"], "transition-0-roles"))
    assert "rôle 'cordinator' inconnu (vouliez-vous dire 'coordinator' ?" in role


def test_the_publish_preview_lists_the_problems_in_spanish(
    dashboard: DashboardServer, dashboard_world: World, db_url: str
) -> None:
    client = _spanish_coordinator(dashboard, dashboard_world, db_url)
    url = start_draft(client, dashboard_world.alliance_id, "ciclo-roto")
    saved = press(client, url, client.get(url).text, "save", yaml=BROKEN)
    assert saved.status_code == 303, saved.text
    preview = html.unescape(client.get(url + "/publish").text)
    assert "transitions[0].roles[0]: rol 'cordinator' desconocido" in preview
    assert "unknown role" not in preview


TEXTS = """\
key: ciclo-textos
title: Texts cycle
translations:
  es: {title: Ciclo de textos}
initial: plan
stages:
- {key: plan, title: Plan, duration: P2W}
- {key: done, title: Done, final: true}
transitions:
- {trigger: finish, from: plan, to: done}
"""


def test_the_template_title_per_language_has_its_own_fields(
    dashboard: DashboardServer, dashboard_world: World
) -> None:
    """The template's own title per language shows as a field per language, follows the text
    both ways, and a wrong language code is shown beside its field with a did-you-mean."""
    client = sign_in(dashboard, dashboard_world.coordinator)
    url = start_draft(client, dashboard_world.alliance_id, "ciclo-textos")
    saved = press(client, url, client.get(url).text, "save", yaml=TEXTS)
    assert saved.status_code == 303, saved.text
    page = client.get(url).text
    fields = form_fields(page)
    assert fields["tr-es-title"] == "Ciclo de textos"
    assert fields["tr-fr-title"] == "" and "tr-fr-description" in fields
    assert "Title in French" in page

    changed = press(client, url, page, "save", **{"tr-fr-title": "Cycle des textes"})
    assert changed.status_code == 303, changed.text
    text = form_fields(client.get(url).text)["yaml"]
    expected = (
        "translations:\n  es:\n    title: Ciclo de textos\n  fr:\n    title: Cycle des textes"
    )
    assert expected in text

    wrong = TEXTS.replace("  es: {title", "  esp: {title")
    parts = client.post(
        url + "/check", data={**fields, "yaml": wrong}, headers={"X-Editor-Source": "yaml"}
    ).json()
    assert 'id="tr-esp-title"' in parts["form-fields"]
    problem = html.unescape(problem_in(parts["form-fields"], "tr-esp"))
    assert "unknown language 'esp' (did you mean 'es'?" in problem
