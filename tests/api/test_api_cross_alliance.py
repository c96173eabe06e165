"""Objects named in a body are checked against the caller's reach like objects named in a path
(`cycle_engine.alliances.reach`): a coordinator cannot seat another alliance's organisation in
their own alliance and so take over its people, a person is visible only through an alliance
both share, and an error about an object out of reach reads exactly like one about a missing id.
"""

from __future__ import annotations

import re

import httpx
import pytest

from cycle_engine import CycleEngine
from cycle_engine.alliances.reach import Reach
from cycle_engine.errors import OrganisationNotFound
from tests.api.conftest import World

MISSING = 2_000_000_000
OUT_OF_REACH_NAMES = ("AgroB", "Luis", "luis@agrob.example", "Water", "Irrigation")


def _same_as_missing(out: httpx.Response, missing: httpx.Response, ident: int) -> None:
    """`out` (an object out of reach) answers like `missing` (no such id) and names nothing."""
    assert out.status_code == missing.status_code == 404, (out.text, missing.text)
    bodies = [out.json(), missing.json()]
    for body in bodies:
        body.pop("request_id", None)
    assert re.sub(str(ident), "N", str(bodies[0])) == re.sub(str(MISSING), "N", str(bodies[1]))
    for name in OUT_OF_REACH_NAMES:
        assert name not in out.text


def test_coordinator_cannot_seat_another_alliances_organisation(
    world: World, seed_engine: CycleEngine
) -> None:
    """POST /alliances/A/members with alliance B's organisation answers 404 (as for a missing
    one); its people stay out of reach: reading one and recording their departure are 404, and
    alliance B's cycle gets no `focal_point_left` event."""
    a, o3, p3 = world.ids["alliance_a"], world.ids["o3"], world.ids["p3"]
    with world.client("coord_a") as client:
        taken = client.post(f"/api/v1/alliances/{a}/members", json={"organisation_id": o3})
        missing = client.post(f"/api/v1/alliances/{a}/members", json={"organisation_id": MISSING})
        _same_as_missing(taken, missing, o3)
        via = client.post(
            f"/api/v1/alliances/{a}/members",
            json={"organisation_id": world.ids["o1"], "works_with_id": o3},
        )
        assert via.status_code == 404 and "AgroB" not in via.text
        assert client.get(f"/api/v1/people/{p3}").status_code == 404
        left = client.post(f"/api/v1/people/{p3}/departure", json={"note": "gone"})
        assert left.status_code == 404
        members = client.get(f"/api/v1/alliances/{a}/members").json()["items"]
        assert o3 not in {m["organisation"]["id"] for m in members}
    assert [e.kind for e in seed_engine.history(world.ids["cycle_b"])].count(
        "focal_point_left"
    ) == 0
    assert seed_engine.alliances.get_person(p3).left_on is None


def test_people_are_visible_only_through_a_shared_alliance(world: World) -> None:
    """A coordinator reads the people of their alliance's members only; once an admin seats
    alliance B's organisation in alliance A too, both alliances share it and its people."""
    a, o3, p3 = world.ids["alliance_a"], world.ids["o3"], world.ids["p3"]
    with world.client("coord_a") as client:
        assert client.get(f"/api/v1/people/{world.ids['p1']}").status_code == 200
        assert client.get(f"/api/v1/people/{p3}").status_code == 404
        assert p3 not in {p["id"] for p in client.get("/api/v1/people").json()["items"]}
    with world.client("partner_o1") as client:
        assert client.get(f"/api/v1/people/{p3}").status_code == 404
    with world.client("admin") as client:
        seated = client.post(f"/api/v1/alliances/{a}/members", json={"organisation_id": o3})
        assert seated.status_code == 201, seated.text
    with world.client("coord_a") as client:
        assert client.get(f"/api/v1/people/{p3}").json()["email"] == "luis@agrob.example"


def test_engine_seats_an_organisation_for_whoever_may_act_for_it(
    world: World, seed_engine: CycleEngine
) -> None:
    """The engine's check, shared by the API and the dashboard: a coordinator of both
    alliances may seat B's organisation in A; a coordinator of A alone may not."""
    a, b, o3 = world.ids["alliance_a"], world.ids["alliance_b"], world.ids["o3"]
    with pytest.raises(OrganisationNotFound) as refused:
        seed_engine.alliances.join_alliance(a, o3, reach=Reach(alliance_ids=frozenset({a})))
    assert "AgroB" not in str(refused.value)
    seat = seed_engine.alliances.join_alliance(a, o3, reach=Reach(alliance_ids=frozenset({a, b})))
    assert (seat.alliance_id, seat.organisation_id) == (a, o3)


def test_commands_on_a_cycle_never_name_objects_out_of_reach(world: World) -> None:
    """Organisations and people named in the body of a command on alliance A's cycle but
    belonging to alliance B answer 404 like missing ids, never "'AgroB' is not a member"."""
    cycle, o3, p3 = world.ids["cycle_a"], world.ids["o3"], world.ids["p3"]
    product = {"kind": "learning_questions", "title": "Qs", "link": "https://example.org/q"}
    cases = [
        ("products", {**product, "author_organisation_id": o3}, o3),
        (
            "learning",
            {"kind": "knowledge_capacity", "title": "T", "text": "x", "organisation_ids": [o3]},
            o3,
        ),
        ("participation", {"stage": "work_plan", "organisation_id": o3, "level": "lead"}, o3),
        (
            "participation",
            {
                "stage": "work_plan",
                "organisation_id": world.ids["o1"],
                "level": "lead",
                "focal_point_id": p3,
            },
            p3,
        ),
        (
            "contexts",
            {"name": "Cusco", "country": "Peru", "community": "Ccorca", "organisation_id": o3},
            o3,
        ),
    ]
    with world.client("coord_a") as client:
        for path, body, ident in cases:
            out = client.post(f"/api/v1/cycles/{cycle}/{path}", json=body)
            missing_body = {
                k: (
                    MISSING
                    if v == ident
                    else [MISSING]
                    if v == [ident] and k == "organisation_ids"
                    else v
                )
                for k, v in body.items()
            }
            missing = client.post(f"/api/v1/cycles/{cycle}/{path}", json=missing_body)
            _same_as_missing(out, missing, ident)


def test_partner_credits_products_to_its_own_organisation_only(world: World) -> None:
    """The lead partner adds a product as its own organisation (the default) and is refused
    (403, the engine's rule) when crediting another member of the alliance."""
    cycle = world.ids["cycle_a"]
    product = {"kind": "learning_questions", "title": "Qs", "link": "https://example.org/q"}
    with world.client("partner_o1") as client:
        own = client.post(f"/api/v1/cycles/{cycle}/products", json=product)
        assert own.status_code == 201, own.text
        assert own.json()["author_organisation_id"] == world.ids["o1"]
        other = client.post(
            f"/api/v1/cycles/{cycle}/products",
            json={**product, "author_organisation_id": world.ids["o2"]},
        )
        assert other.status_code == 403, other.text
        assert "own organisation" in other.json()["detail"]
