"""The dashboard's forms refuse what no database stores, like the API: a due date of
9999-12-31 (a 500 on both databases before: now 409, the engine's ten-year bound), a NUL
character in any field, an id beyond the integer range (422); nothing changes."""

from __future__ import annotations

from cycle_engine import CycleEngine
from tests.api.dashboard.conftest import DashboardServer, World, csrf_of, sign_in


def test_forms_refuse_unstorable_input(
    dashboard: DashboardServer, dashboard_world: World, db_url: str
) -> None:
    """Far dates answer 409, NUL characters and huge ids 422, in the coordinator's forms."""
    cycle = dashboard_world.cycle_id
    client = sign_in(dashboard, dashboard_world.coordinator)
    csrf = csrf_of(client.get(f"/dashboard/cycles/{cycle}").text)
    with CycleEngine(db_url) as engine:
        before = (engine.get_cycle(cycle).version, len(engine.history(cycle)))
    for due in ("9999-12-31", "0001-01-01"):  # the engine's bound: ten years from today
        answer = client.post(
            f"/dashboard/cycles/{cycle}/due-date",
            data={"csrf_token": csrf, "stage": "work_plan", "due": due, "reason": "far"},
        )
        assert answer.status_code == 409, (due, answer.text[:500])
        assert "more than ten years from today" in answer.text
    attempts = {
        "due-date": [
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
