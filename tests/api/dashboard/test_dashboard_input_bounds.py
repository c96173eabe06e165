"""The dashboard's forms refuse what no database stores, like the API: a due date of
9999-12-31 (a 500 on both databases before), a NUL character in any field, an id beyond the
integer range; each answers 422 with the cycle page or an error page, and changes nothing."""

from __future__ import annotations

from cycle_engine import CycleEngine
from tests.api.dashboard.conftest import DashboardServer, World, csrf_of, sign_in


def test_forms_refuse_unstorable_input(
    dashboard: DashboardServer, dashboard_world: World, db_url: str
) -> None:
    """Bad dates, NUL characters and huge ids in the coordinator's forms answer 422."""
    cycle = dashboard_world.cycle_id
    client = sign_in(dashboard, dashboard_world.coordinator)
    csrf = csrf_of(client.get(f"/dashboard/cycles/{cycle}").text)
    with CycleEngine(db_url) as engine:
        before = (engine.get_cycle(cycle).version, len(engine.history(cycle)))
    attempts = {
        "due-date": [
            {"stage": "work_plan", "due": "9999-12-31", "reason": "far away"},
            {"stage": "work_plan", "due": "0001-01-01", "reason": "long ago"},
            {"stage": "work_plan", "due": "2026-09-30", "reason": "harvest\x00"},
        ],
        "products": [
            {
                "kind": "learning_questions",
                "title": "Questions\x00",
                "link": "https://example.org/q",
                "organisation_id": str(dashboard_world.partner_org),
            },
            {
                "kind": "learning_questions",
                "title": "Questions",
                "link": "https://example.org/q",
                "organisation_id": "99999999999",
            },
        ],
        "fire": [{"trigger": "questions_agreed", "note": "ok\x00"}],
        "participation": [
            {"stage": "work_plan", "organisation_id": "2147483648", "level": "lead"},
        ],
    }
    for action, forms in attempts.items():
        for fields in forms:
            answer = client.post(
                f"/dashboard/cycles/{cycle}/{action}", data={"csrf_token": csrf, **fields}
            )
            assert answer.status_code == 422, (action, fields, answer.text[:500])
    with CycleEngine(db_url) as engine:
        assert (engine.get_cycle(cycle).version, len(engine.history(cycle))) == before
    assert client.get("/dashboard/cycles/1%00").status_code == 422
