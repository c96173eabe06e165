"""The access matrix: every route that takes an object id, tried with keys that must not reach
the object (another alliance, another organisation) answers 404 without the object's data;
weaker roles cannot change it.

Members read, they do not act (issue 12 item 5, the lead's rule): a partner key of an
organisation that sits in the alliance but has no role on the cycle (`partner_o4`) reads the
alliance's cycles, their reports and the alliance learning report (200), and every command on
such a cycle answers 403 with the reason; it stays an outsider (404) for other organisations'
records, and keys of other alliances stay outsiders of everything.

Routes are read from the app's own OpenAPI document, so a new route with an id fails this test
until it is given a body here and checked.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from cycle_engine import CycleEngine
from tests.api.conftest import COORDINATOR, World

OUTSIDERS = ("coord_b", "partner_o3", "partner_o4")
#: What `partner_o4` (a member with no role on cycle A) reads: the alliance's own routes (roles
#: decide), the cycle and its products; elsewhere (other organisations' records) it is an outsider.
MEMBER_READS = (
    "/api/v1/alliances/{alliance_id}",
    "/api/v1/webhooks",
    "/api/v1/cycles/{cycle_id}",
    "/api/v1/products/{product_id}",
)
WEAKER = ("manager_a", "partner_o2", "partner_o4")
SECRET_TITLE = "Market access for smallholders"

#: A valid body for every write route with an id (so the reach check, not validation, answers).
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/api/v1/alliances/{alliance_id}/members"): {"organisation_id": 0},
    ("post", "/api/v1/alliances/{alliance_id}/roles"): {"person_id": 0, "role": "manager"},
    ("post", "/api/v1/alliances/{alliance_id}/webhooks"): {
        "url": "https://hooks.example.org/hook",
        "events": ["stage.entered"],
    },
    ("post", "/api/v1/people/{person_id}/departure"): {"note": "left"},
    ("post", "/api/v1/cycles/{cycle_id}/transitions"): {"trigger": "questions_agreed"},
    ("post", "/api/v1/cycles/{cycle_id}/participation"): {
        "stage": "work_plan",
        "organisation_id": 0,
        "level": "lead",
    },
    ("post", "/api/v1/cycles/{cycle_id}/due-dates"): {
        "stage": "work_plan",
        "due": "2026-06-01",
        "reason": "holidays",
    },
    ("post", "/api/v1/cycles/{cycle_id}/products"): {
        "kind": "learning_questions",
        "title": "Qs",
        "link": "https://example.org/q",
        "author_organisation_id": 0,
    },
    ("post", "/api/v1/cycles/{cycle_id}/contexts"): {
        "name": "Jinotega",
        "country": "Nicaragua",
        "community": "El Cua",
        "organisation_id": 0,
    },
    ("post", "/api/v1/cycles/{cycle_id}/contexts/{context_id}/status"): {"status": "testing"},
    ("post", "/api/v1/cycles/{cycle_id}/contexts/{context_id}/results"): {
        "summary": "fine",
        "rating": "strong",
    },
    ("post", "/api/v1/cycles/{cycle_id}/questions"): {"texts": ["Why?"]},
    ("post", "/api/v1/cycles/{cycle_id}/questions/answers"): {"answers": {"1": "Because."}},
    ("post", "/api/v1/cycles/{cycle_id}/learning"): {
        "kind": "knowledge_capacity",
        "title": "T",
        "text": "Learnt.",
        "organisation_ids": [0],
    },
    ("patch", "/api/v1/webhooks/{webhook_id}"): {"active": False},
    # issue 12: the learning agenda, level proposals, follow-ons and the alliance's records
    ("post", "/api/v1/cycles/{cycle_id}/raised-questions"): {
        "text": "Who sets prices?",
        "reason": "Asked at the fair",
        "organisation_id": 0,
    },
    ("post", "/api/v1/cycles/{cycle_id}/taken-up-questions"): {"agenda_question_id": 1},
    ("post", "/api/v1/cycles/{cycle_id}/questions/{question_id}/status"): {
        "status": "carried_forward",
        "note": "Next season",
    },
    ("post", "/api/v1/cycles/{cycle_id}/level-proposals"): {
        "stage": "work_plan",
        "organisation_id": 0,
        "level": "active",
    },
    ("post", "/api/v1/cycles/{cycle_id}/level-proposals/{proposal_id}/decision"): {},
    ("post", "/api/v1/cycles/{cycle_id}/follow-on"): {"title": "Market access II"},
    ("post", "/api/v1/alliances/{alliance_id}/agenda"): {
        "text": "Who sets prices?",
        "reason": "Asked at the fair",
        "organisation_id": 0,
    },
    ("post", "/api/v1/alliances/{alliance_id}/adoptions"): {
        "product_id": 1,
        "organisation_id": 0,
        "use": "used",
        "country": "Nicaragua",
        "place": "Waslala",
        "adopted_on": "2026-01-10",
        "description": "Used with two groups",
    },
    ("post", "/api/v1/alliances/{alliance_id}/outcomes"): {
        "kind": "practice_change",
        "title": "Joint reviews",
        "description": "Quarterly",
        "observed_on": "2026-01-10",
        "cycle_ids": [1],
        "organisation_id": 0,
    },
    ("post", "/api/v1/alliances/{alliance_id}/departures"): {
        "organisation_id": 0,
        "reason": "Funding ended",
    },
    # issue 19: corrections, archiving and the bulk import
    ("patch", "/api/v1/alliances/{alliance_id}"): {"theme": "Changed"},
    ("patch", "/api/v1/organisations/{organisation_id}"): {"country": "Changed"},
    ("patch", "/api/v1/alliances/{alliance_id}/members/{organisation_id}"): {"works_with_id": None},
    ("patch", "/api/v1/people/{person_id}"): {"name": "Changed"},
    ("post", "/api/v1/organisations/{organisation_id}/archive"): {"reason": "Merged"},
    ("post", "/api/v1/alliances/{alliance_id}/import"): {"organisations": [], "people": []},
    # issue 12 item 5: following a cycle (`person_id` becomes p1, a person of o1)
    ("post", "/api/v1/cycles/{cycle_id}/followers"): {"person_id": 0},
}
#: Members may follow a cycle, but only with their own organisation's people: p1 (of o1) is
#: out of o4's reach, so these answer 404 naming the person (tests/api/test_api_followers.py).
FOLLOWING = {
    ("post", "/api/v1/cycles/{cycle_id}/followers"),
    ("delete", "/api/v1/cycles/{cycle_id}/followers/{person_id}"),
}
MULTIPART = {("post", "/api/v1/cycles/{cycle_id}/products/files")}


@pytest.fixture
def matrix(world: World, seed_engine: CycleEngine) -> World:
    """Adds alliance A objects of every kind, and o4: in alliance A but not in cycle A."""
    engine, ids = seed_engine, world.ids
    o4 = engine.alliances.add_organisation("Red Rural", "local", "Honduras")
    assert o4.id is not None
    ids["o4"] = o4.id
    engine.alliances.join_alliance(ids["alliance_a"], o4.id)
    world.tokens["partner_o4"] = engine.alliances.credentials.create_key(
        name="partner_o4", role="partner", organisation_id=o4.id
    ).token
    product = engine.work.add_product(
        ids["cycle_a"],
        "learning_questions",
        "Questions",
        ids["o1"],
        file_name="q.txt",
        content=b"Which channels?\n",
        actor=COORDINATOR,
    )
    context = engine.work.add_context(
        ids["cycle_a"], "Matagalpa", "Nicaragua", "Waslala", ids["o1"], actor=COORDINATOR
    )
    assert product.id is not None and context.id is not None
    ids["product"], ids["context"] = product.id, context.id
    question = engine.learning.question_states(ids["cycle_a"])[0].question
    proposal = engine.learning.propose_level(
        ids["cycle_a"], "work_plan", ids["o1"], "lead", actor=COORDINATOR
    )
    assert question.id is not None and proposal.id is not None
    ids["question"], ids["proposal"] = question.id, proposal.id
    grant = engine.alliances.grant_role(ids["alliance_a"], ids["p1"], "manager")
    keys = engine.alliances.credentials.keys(include_revoked=True)
    managers = [k for k in keys if k.name == "manager_a"]
    assert grant.id is not None and managers[0].id is not None
    ids["grant"], ids["key"] = grant.id, managers[0].id
    with world.client("coord_a") as client:
        hook = client.post(
            f"/api/v1/alliances/{ids['alliance_a']}/webhooks",
            json={"url": "https://hooks.example.org/a", "events": ["stage.entered"]},
        )
        assert hook.status_code == 201, hook.text
        ids["webhook"] = hook.json()["id"]
    return world


def _id_routes(client: httpx.Client) -> list[tuple[str, str]]:
    paths = client.get("/openapi.json").json()["paths"]
    return [
        (method, path)
        for path, item in paths.items()
        for method in item
        if "{" in path and not path.startswith("/api/v1/templates")
    ]


def _url(path: str, ids: dict[str, int]) -> str:
    names = {
        "alliance_id": "alliance_a",
        "cycle_id": "cycle_a",
        "person_id": "p1",
        "organisation_id": "o1",
        "product_id": "product",
        "context_id": "context",
        "webhook_id": "webhook",
        "question_id": "question",
        "proposal_id": "proposal",
        "grant_id": "grant",
        "key_id": "key",
    }
    url = path.replace("{fmt}", "markdown")
    for name, key in names.items():
        url = url.replace("{" + name + "}", str(ids[key]))
    assert "{" not in url, f"the access matrix does not know an id in {path}"
    return url


def _send(client: httpx.Client, method: str, path: str, ids: dict[str, int]) -> httpx.Response:
    url = _url(path, ids)
    if (method, path) in MULTIPART:
        return client.post(
            url,
            files={"file": ("r.txt", b"review\n", "text/plain")},
            data={"kind": "good_practice_review", "title": "Review"},
        )
    body = BODIES.get((method, path))
    if method in ("post", "patch") and body is None:
        raise AssertionError(f"the access matrix has no body for {method.upper()} {path}")
    if body is not None:
        body = {
            k: (
                ids["o1"]
                if k == "organisation_id" or k == "author_organisation_id"
                else [ids["o1"]]
                if k == "organisation_ids"
                else ids["p1"]
                if k == "person_id"
                else v
            )
            for k, v in body.items()
        }
    return client.request(method.upper(), url, json=body)


def test_outsiders_get_404_on_every_id_route(matrix: World) -> None:
    """Keys of another alliance or organisation get 404, never the object's data, everywhere."""
    with matrix.client("admin") as admin:
        routes = _id_routes(admin)
        version = admin.get(f"/api/v1/cycles/{matrix.ids['cycle_a']}").json()["version"]
    assert len(routes) >= 30
    for who in OUTSIDERS:
        with matrix.client(who) as client:
            for method, path in routes:
                if who == "partner_o4" and path.startswith(MEMBER_READS):
                    continue  # o4 sits in alliance A: it reads (see the members test below)
                response = _send(client, method, path, matrix.ids)
                assert response.status_code == 404, (who, method, path, response.text)
                assert SECRET_TITLE not in response.text
    with matrix.client("admin") as admin:
        after = admin.get(f"/api/v1/cycles/{matrix.ids['cycle_a']}").json()
        assert after["version"] == version


def test_members_read_their_alliance_cycles_and_act_only_with_a_role(matrix: World) -> None:
    """A member with no role on the cycle reads it, its products, its report and the alliance
    learning report (200); every command on the cycle answers 403 naming why; nothing changes."""
    ids = matrix.ids
    with matrix.client("admin") as admin:
        routes = [(m, p) for m, p in _id_routes(admin) if p.startswith(MEMBER_READS[2:])]
        before = admin.get(f"/api/v1/cycles/{ids['cycle_a']}").json()["version"]
    reads = [p for m, p in routes if m == "get"]
    writes = [(m, p) for m, p in routes if m != "get"]
    assert "/api/v1/cycles/{cycle_id}/report/{fmt}" in reads and len(writes) >= 15
    with matrix.client("partner_o4") as client:
        for path in reads:
            response = _send(client, "get", path, ids)
            assert response.status_code == 200, (path, response.text)
        cycle = client.get(f"/api/v1/cycles/{ids['cycle_a']}").json()
        assert cycle["title"] == SECRET_TITLE
        assert ids["cycle_a"] in [c["id"] for c in client.get("/api/v1/cycles").json()["items"]]
        report = client.get(f"/api/v1/cycles/{ids['cycle_a']}/report/markdown")
        assert SECRET_TITLE in report.text
        learning = client.get(f"/api/v1/alliances/{ids['alliance_a']}/learning-report/markdown")
        assert learning.status_code == 200 and SECRET_TITLE in learning.text
        for method, path in writes:
            response = _send(client, method, path, ids)
            if (method, path) in FOLLOWING:
                assert response.status_code == 404, (method, path, response.text)
                assert response.json()["detail"] == f"person {ids['p1']} not found"
                continue
            assert response.status_code == 403, (method, path, response.text)
            assert response.json()["detail"].startswith("cannot "), (method, path, response.text)
        refused = _send(client, "post", "/api/v1/cycles/{cycle_id}/transitions", ids).json()
        assert (
            f"organisation {ids['o4']} has no role in cycle {ids['cycle_a']}" in (refused["detail"])
        )
    with matrix.client("admin") as admin:
        assert admin.get(f"/api/v1/cycles/{ids['cycle_a']}").json()["version"] == before


def test_weaker_roles_cannot_change_what_they_reach(matrix: World) -> None:
    """Managers and partners outside a stage are refused (403/404/409) on every write route."""
    with matrix.client("admin") as admin:
        writes = [(m, p) for m, p in _id_routes(admin) if m in ("post", "patch", "delete")]
        before = admin.get(f"/api/v1/cycles/{matrix.ids['cycle_a']}").json()["version"]
    for who in WEAKER:
        with matrix.client(who) as client:
            for method, path in writes:
                response = _send(client, method, path, matrix.ids)
                assert response.status_code in (403, 404, 409), (who, method, path, response.text)
    with matrix.client("admin") as admin:
        assert admin.get(f"/api/v1/cycles/{matrix.ids['cycle_a']}").json()["version"] == before
        hook = admin.get(f"/api/v1/webhooks/{matrix.ids['webhook']}").json()
        assert hook["active"] is True


def test_lists_show_only_what_is_in_reach(matrix: World) -> None:
    """Lists never include another alliance's or organisation's rows."""
    with matrix.client("partner_o3") as client:
        cycles = client.get("/api/v1/cycles").json()["items"]
        assert [c["id"] for c in cycles] == [matrix.ids["cycle_b"]]
        assert [a["id"] for a in client.get("/api/v1/alliances").json()["items"]] == [
            matrix.ids["alliance_b"]
        ]
        assert [o["id"] for o in client.get("/api/v1/organisations").json()["items"]] == [
            matrix.ids["o3"]
        ]
        people = client.get("/api/v1/people").json()["items"]
        assert {p["organisation_id"] for p in people} == {matrix.ids["o3"]}
    with matrix.client("partner_o4") as client:  # a member reads its alliance's cycles
        cycles = client.get("/api/v1/cycles").json()["items"]
        assert [c["id"] for c in cycles] == [matrix.ids["cycle_a"]]
    with matrix.client("coord_b") as client:
        assert client.get("/api/v1/outbox").status_code == 200
        assert all(
            r["cycle_id"] != matrix.ids["cycle_a"]
            for r in client.get("/api/v1/outbox").json()["items"]
        )
