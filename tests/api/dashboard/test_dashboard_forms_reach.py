"""The dashboard's forms apply exactly the API's rules, because both run the engine's checks
(`cycle_engine.alliances.reach`): the twin of tests/api/test_api_access.py, walking every form
the dashboard serves instead of the OpenAPI document. Each refused submission answers what the
same command answers over the API for a key of the same role and organisation, and changes
nothing (no product, no context result, the cycle's version as it was).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from cycle_engine import CycleEngine
from cycle_engine.api.dashboard import create_dashboard_router
from cycle_engine.testing import ManualClock, WorldBuilder
from tests.api.dashboard.conftest import COORDINATOR, DashboardServer, csrf_of, sign_in

PEOPLE = {  # key: (email, organisation, alliance roles)
    "coordinator": ("coco@ngo.example.org", "ngo", {"alliance": "coordinator"}),
    "manager": ("mara@research.example.org", "research", {"alliance": "manager"}),
    "lead": ("lena@union.example.org", "union", None),
    "informed": ("ines@seedbank.example.org", "seedbank", None),
    "outsider": ("omar@outside.example.org", "outside", {"other": "coordinator"}),
}
#: Who tries each form, and the key standing for them over the API.
CALLERS = ("manager", "informed", "outsider")
NUDGE = "/dashboard/alliances/{alliance_id}/stalled/{cycle_id}/nudge"
PROPOSE = "/dashboard/cycles/{cycle_id}/levels/propose"
FOLLOW = "/dashboard/cycles/{cycle_id}/follow"
#: Forms these callers may submit: managers nudge (the cycle is not stalled: nothing is sent);
#: a partner proposes its own organisation's level (the method lets each organisation choose)
#: and follows a cycle of its alliance itself.
ALLOWED = {("manager", NUDGE), ("informed", PROPOSE), ("informed", FOLLOW)}


@dataclass(frozen=True, kw_only=True)
class FormsWorld:
    ids: dict[str, int]
    tokens: dict[str, str]


@pytest.fixture
def forms_world(db_url: str, clock: ManualClock) -> FormsWorld:
    """Alianza: an NGO coordinates, a research institute manages, the union leads the question
    workshop and the seed bank is only informed of it; Otra has an outside coordinator."""
    with CycleEngine(db_url, clock=clock) as engine:
        engine.publish_builtin_templates()
        build = WorldBuilder(engine, actor=COORDINATOR)
        build.alliance("alliance", "Alianza", "Seeds")
        build.alliance("other", "Otra", "Water")
        for key, name, alliance in (
            ("ngo", "Coordinating NGO", "alliance"),
            ("research", "Research Institute", "alliance"),
            ("union", "Farmers' Union", "alliance"),
            ("seedbank", "Seed Bank", "alliance"),
            ("outside", "Outside Org", "other"),
        ):
            build.organisation(key, name, "ngo", "Peru", member_of=[alliance])
        for key, (email, organisation, roles) in PEOPLE.items():
            build.person(key, key.title(), email, organisation, roles=roles)
        build.cycle("cycle", "learning-cycle", "Seed fairs", "alliance", questions=["Who?"])
        build.role("cycle", "question_workshop", "union", "lead", focal_point="lead")
        build.role("cycle", "question_workshop", "seedbank", "informed")
        context = engine.work.add_context(
            build["cycle"], "Puno", "Peru", "Ilave", build["union"], actor=COORDINATOR
        )
        assert context.id is not None
        draft = engine.drafts.start(alliance_id=build["alliance"], key="seed-draft")
        ids = {**build.ids, "context": context.id, "draft": draft.id}
        build.key("manager", "manager", alliance="alliance")
        build.key("informed", "partner", organisation="seedbank")
        build.key("lead", "partner", organisation="union")
        build.key("outsider", "coordinator", alliance="other")
        return FormsWorld(ids=ids, tokens=build.tokens)


@pytest.fixture
def server(
    db_url: str, clock: ManualClock, tmp_path: Path, forms_world: FormsWorld
) -> Iterator[DashboardServer]:
    with DashboardServer(db_url, clock, tmp_path / "data") as running:
        yield running


def _forms(ids: dict[str, int], author: int) -> dict[str, tuple[dict[str, str], str, Any]]:
    """Every form: its fields, and the API request (path, JSON) running the same command."""
    cycle, context = ids["cycle"], ids["context"]
    return {
        "/dashboard/cycles/{cycle_id}/fire": (
            {"trigger": "questions_agreed"},
            f"/api/v1/cycles/{cycle}/transitions",
            {"trigger": "questions_agreed"},
        ),
        "/dashboard/cycles/{cycle_id}/participation": (
            {"stage": "work_plan", "organisation_id": str(ids["union"]), "level": "active"},
            f"/api/v1/cycles/{cycle}/participation",
            {"stage": "work_plan", "organisation_id": ids["union"], "level": "active"},
        ),
        "/dashboard/cycles/{cycle_id}/due-date": (
            {"stage": "work_plan", "due": "2026-09-30", "reason": "harvest"},
            f"/api/v1/cycles/{cycle}/due-dates",
            {"stage": "work_plan", "due": "2026-09-30", "reason": "harvest"},
        ),
        "/dashboard/cycles/{cycle_id}/products": (
            {
                "kind": "learning_questions",
                "title": "Questions",
                "link": "https://example.org/q",
                "organisation_id": str(author),
            },
            f"/api/v1/cycles/{cycle}/products",
            {
                "kind": "learning_questions",
                "title": "Questions",
                "link": "https://example.org/q",
                "author_organisation_id": author,
            },
        ),
        "/dashboard/cycles/{cycle_id}/contexts/{context_id}/results": (
            {"rating": "strong", "summary": "Worked"},
            f"/api/v1/cycles/{cycle}/contexts/{context}/results",
            {"rating": "strong", "summary": "Worked"},
        ),
        NUDGE: ({}, "", None),
        "/dashboard/alliances/{alliance_id}/templates/copy": (
            {"key": "learning-cycle", "new_key": "seed-fair-cycle"},
            "/api/v1/templates/learning-cycle/copy",
            {"key": "seed-fair-cycle", "alliance_id": ids["alliance"]},
        ),
        "/dashboard/alliances/{alliance_id}/migrations": (
            {"key": "learning-cycle"},
            "/api/v1/templates/learning-cycle/migrations",
            {"alliance_id": ids["alliance"]},
        ),
        "/dashboard/alliances/{alliance_id}/migrations/{plan_id}/preview": (
            {},
            "/api/v1/templates/learning-cycle/migrations/999999/preview",
            {},
        ),
        "/dashboard/alliances/{alliance_id}/migrations/{plan_id}/apply": (
            {},
            "/api/v1/templates/learning-cycle/migrations/999999/apply",
            {},
        ),
        PROPOSE: (
            {"stage": "work_plan", "level": "active"},
            f"/api/v1/cycles/{cycle}/level-proposals",
            {"stage": "work_plan", "organisation_id": ids["seedbank"], "level": "active"},
        ),
        FOLLOW: (
            {"follow": "yes"},
            f"/api/v1/cycles/{cycle}/followers",
            {"person_id": ids["informed"]},
        ),
        "/dashboard/cycles/{cycle_id}/levels/{proposal_id}/decide": (
            {"level": "active"},
            f"/api/v1/cycles/{cycle}/level-proposals/999999/decision",
            {"level": "active"},
        ),
        "/dashboard/alliances/{alliance_id}/editor": ({"key": "new-draft"}, "", None),
        "/dashboard/alliances/{alliance_id}/editor/cycles": (
            {"key": "learning-cycle", "title": "Seed banks"},
            "/api/v1/cycles",
            {
                "template_key": "learning-cycle",
                "title": "Seed banks",
                "alliance_id": ids["alliance"],
            },
        ),
        **{
            f"/dashboard/alliances/{{alliance_id}}/editor/{{draft_id}}{tail}": (
                {"revision": "1", "op": "save", "key": "seed-draft", "yaml": "key: x\n"},
                "",
                None,
            )
            for tail in ("", "/check", "/import", "/discard", "/publish")
        },
    }


def _form_routes() -> set[str]:
    """Every POST route of the dashboard but signing in and out."""
    return {
        route.path
        for route in create_dashboard_router().routes
        if isinstance(route, APIRoute)
        and route.path.startswith("/dashboard/")
        and "POST" in route.methods
        and not route.path.startswith(("/dashboard/signin", "/dashboard/signout"))
    }


def _url(path: str, ids: dict[str, int]) -> str:
    return (
        path.replace("{cycle_id}", str(ids["cycle"]))
        .replace("{context_id}", str(ids["context"]))
        .replace("{alliance_id}", str(ids["alliance"]))
        .replace("{plan_id}", "999999")
        .replace("{proposal_id}", "999999")
        .replace("{draft_id}", str(ids["draft"]))
    )


def _state(db_url: str, ids: dict[str, int]) -> tuple[int, int, str, list[str], int, int]:
    """Products, context results, the stage and the history (a manager's nudge aside), the
    template draft's revision and how many cycles run."""
    with CycleEngine(db_url) as engine:
        allowed = {"nudged", "level_proposed"}  # what ALLOWED callers may do
        events = [e.kind for e in engine.history(ids["cycle"]) if e.kind not in allowed]
        return (
            len(engine.work.cycle_products(ids["cycle"])),
            len(engine.work.context_results(ids["cycle"])),
            engine.get_cycle(ids["cycle"]).state,
            events,
            engine.drafts.get(ids["draft"]).revision,
            sum(engine.migrations.running().values()),
        )


def _submit(client: httpx.Client, path: str, ids: dict[str, int], fields: dict[str, str]) -> int:
    page = client.get(f"/dashboard/cycles/{ids['cycle']}")
    home = page if page.status_code == 200 else client.get("/dashboard/", follow_redirects=True)
    csrf = csrf_of(home.text)
    return client.post(_url(path, ids), data={"csrf_token": csrf, **fields}).status_code


def test_every_form_refuses_what_the_api_refuses(
    server: DashboardServer, forms_world: FormsWorld, db_url: str
) -> None:
    """A manager, a partner only informed of the stage and another alliance's coordinator get,
    from every form, the status the API gives their key for the same command (403, 404 or
    409; managers may nudge), and nothing changes; a new form fails this test until it is
    listed here."""
    ids = forms_world.ids
    forms = _forms(ids, author=ids["seedbank"])
    assert _form_routes() == set(forms)
    before = _state(db_url, ids)
    for who in CALLERS:
        browser = sign_in(server, PEOPLE[who][0])
        api = server.client(headers={"Authorization": f"Bearer {forms_world.tokens[who]}"})
        for path, (fields, api_path, body) in forms.items():
            status = _submit(browser, path, ids, fields)
            expected = (303,) if (who, path) in ALLOWED else (403, 404, 409)
            assert status in expected, (who, path, status)
            if api_path:
                answer = api.post(api_path, json=body)
                same = answer.status_code == status or (status == 303 and answer.is_success)
                assert same, (who, path, status, answer.text)
    assert _state(db_url, ids) == before


def test_partner_forms_credit_its_own_organisation_only(
    server: DashboardServer, forms_world: FormsWorld, db_url: str
) -> None:
    """The lead partner's product form crediting another organisation is refused (403) as the
    API refuses it; crediting its own organisation works in both."""
    ids = forms_world.ids
    browser = sign_in(server, PEOPLE["lead"][0])
    api = server.client(headers={"Authorization": f"Bearer {forms_world.tokens['lead']}"})
    path = "/dashboard/cycles/{cycle_id}/products"
    fields, api_path, body = _forms(ids, author=ids["seedbank"])[path]
    assert _submit(browser, path, ids, fields) == 403
    assert api.post(api_path, json=body).status_code == 403
    assert _state(db_url, ids)[0] == 0
    own_fields, _, own_body = _forms(ids, author=ids["union"])[path]
    assert _submit(browser, path, ids, own_fields) == 303
    assert api.post(api_path, json=own_body).status_code == 201
    assert _state(db_url, ids)[0] == 2
