"""A dashboard session has the same reach as the API keys of its roles (`api.access`): another
alliance's pages, cycles and actions are not found, and its cycles never appear in lists."""

from __future__ import annotations

from cycle_engine import CycleEngine
from tests.api.dashboard.conftest import DashboardServer, World, csrf_of, sign_in


def test_session_of_one_alliance_sees_nothing_of_another(
    dashboard: DashboardServer, dashboard_world: World, db_url: str
) -> None:
    """The coordinator of one alliance gets 404 on every page and action of the other alliance
    and its cycle, and the other alliance's cycle stays as it was."""
    client = sign_in(dashboard, dashboard_world.coordinator)
    other, cycle = dashboard_world.other_alliance_id, dashboard_world.other_cycle_id
    for path in (
        f"/dashboard/alliances/{other}",
        f"/dashboard/alliances/{other}/cycles",
        f"/dashboard/alliances/{other}/stalled",
        f"/dashboard/alliances/{other}/engagement",
        f"/dashboard/alliances/{other}/mail",
        f"/dashboard/cycles/{cycle}",
        f"/dashboard/cycles/{cycle}/diagram.svg",
        f"/dashboard/cycles/{cycle}/report",
    ):
        assert client.get(path).status_code == 404, path
    own = client.get(
        f"/dashboard/alliances/{dashboard_world.alliance_id}/cycles", params={"status": "all"}
    )
    assert "Community seed systems" in own.text and "Water user groups" not in own.text
    csrf = csrf_of(client.get(f"/dashboard/cycles/{dashboard_world.cycle_id}").text)
    fired = client.post(
        f"/dashboard/cycles/{cycle}/fire", data={"csrf_token": csrf, "trigger": "questions_agreed"}
    )
    assert fired.status_code == 404
    nudged = client.post(
        f"/dashboard/alliances/{dashboard_world.alliance_id}/stalled/{cycle}/nudge",
        data={"csrf_token": csrf},
    )
    assert nudged.status_code == 404
    with CycleEngine(db_url) as engine:
        assert engine.get_cycle(cycle).state == "question_workshop"
        assert [e.kind for e in engine.history(cycle)].count("nudged") == 0


def test_stale_form_version_changes_nothing(
    dashboard: DashboardServer, dashboard_world: World, db_url: str
) -> None:
    """A fire form rendered before someone else's change is refused (409) under the cycle's lock
    and the cycle keeps the other change only."""
    client = sign_in(dashboard, dashboard_world.coordinator)
    page = client.get(f"/dashboard/cycles/{dashboard_world.cycle_id}")
    with CycleEngine(db_url) as engine:
        engine.work.add_questions(dashboard_world.cycle_id, ["Who saves seed?"])
        version = engine.get_cycle(dashboard_world.cycle_id).version
    answer = client.post(
        f"/dashboard/cycles/{dashboard_world.cycle_id}/fire",
        data={
            "csrf_token": csrf_of(page.text),
            "trigger": "questions_agreed",
            "version": str(version - 1),
        },
    )
    assert answer.status_code == 409
    assert "Someone changed this cycle" in answer.text
    with CycleEngine(db_url) as engine:
        assert engine.get_cycle(dashboard_world.cycle_id).state == "question_workshop"
        assert engine.get_cycle(dashboard_world.cycle_id).version == version


def test_member_without_a_role_reads_the_cycle_and_cannot_act(
    dashboard: DashboardServer, dashboard_world: World, db_url: str
) -> None:
    """A person of a member organisation with no role on the cycle reads the cycle page and its
    report (issue 12 item 5); the fire form is refused with the reason and changes nothing."""
    with CycleEngine(db_url) as engine:
        seat = engine.alliances.add_organisation("Red de Mujeres", "local", "Guatemala")
        assert seat.id is not None
        engine.alliances.join_alliance(dashboard_world.alliance_id, seat.id)
        engine.alliances.add_person("Rosa Miembro", "rosa@red.example.org", seat.id)
        version = engine.get_cycle(dashboard_world.cycle_id).version
    client = sign_in(dashboard, "rosa@red.example.org")
    cycle = dashboard_world.cycle_id
    page = client.get(f"/dashboard/cycles/{cycle}")
    assert page.status_code == 200 and "Community seed systems" in page.text
    report = client.get(f"/dashboard/cycles/{cycle}/report")
    assert report.status_code == 200 and "Community seed systems" in report.text
    other = client.get(f"/dashboard/cycles/{dashboard_world.other_cycle_id}")
    assert other.status_code == 404
    fired = client.post(
        f"/dashboard/cycles/{cycle}/fire",
        data={"csrf_token": csrf_of(page.text), "trigger": "questions_agreed"},
    )
    assert fired.status_code == 403
    assert "has no role in cycle" in fired.text
    with CycleEngine(db_url) as engine:
        assert engine.get_cycle(cycle).version == version
