"""Keys and role grants as resources (issue 19, item 1): an admin creates, lists and revokes keys
of every role; a coordinator only manager keys of its alliance and partner keys of its members;
the token is shown once (a replayed creation answers without it); grants are listed, revoked
and shown on the alliance; every change is a line in the alliance's history."""

from __future__ import annotations

import httpx

from tests.api.conftest import World


def _bearer(world: World, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=world.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def test_coordinator_issues_a_partner_key_that_works_once_shown(world: World) -> None:
    body = {"name": "CIAT desk", "role": "partner", "organisation_id": world.ids["o1"]}
    headers = {"Idempotency-Key": "key-ciat"}
    with world.client("coord_a") as client:
        created = client.post("/api/v1/keys", json=body, headers=headers)
        assert created.status_code == 201, created.text
        token = created.json()["token"]
        assert token.startswith("ce_") and created.json()["role"] == "partner"
        replay = client.post("/api/v1/keys", json=body, headers=headers)
        assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
        assert replay.json()["id"] == created.json()["id"]
        assert replay.json()["token"] is None
        listed = client.get("/api/v1/keys").json()["items"]
        assert created.json()["id"] in [k["id"] for k in listed]
        assert all("token" not in k for k in listed)
        assert {k["role"] for k in listed} <= {"manager", "partner"}
    with _bearer(world, token) as partner:
        assert partner.get(f"/api/v1/organisations/{world.ids['o1']}").status_code == 200
    with world.client("coord_a") as client:
        revoked = client.delete(f"/api/v1/keys/{created.json()['id']}")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
        history = client.get(f"/api/v1/alliances/{world.ids['alliance_a']}/history").json()
        kinds = [line["kind"] for line in history["items"]]
        assert kinds[-2:] == ["key_created", "key_revoked"]
    with _bearer(world, token) as partner:
        assert partner.get(f"/api/v1/organisations/{world.ids['o1']}").status_code == 401


def test_a_coordinator_stays_within_its_alliance_and_its_delegated_roles(world: World) -> None:
    with world.client("coord_a") as client:
        other_org = client.post(
            "/api/v1/keys",
            json={"name": "x", "role": "partner", "organisation_id": world.ids["o3"]},
        )
        assert other_org.status_code == 404, other_org.text
        other_alliance = client.post(
            "/api/v1/keys",
            json={"name": "x", "role": "manager", "alliance_id": world.ids["alliance_b"]},
        )
        assert other_alliance.status_code == 404
        coordinator = client.post(
            "/api/v1/keys",
            json={"name": "x", "role": "coordinator", "alliance_id": world.ids["alliance_a"]},
        )
        assert coordinator.status_code == 403
        admin_keys = [k for k in client.get("/api/v1/keys").json()["items"] if k["role"] == "admin"]
        assert admin_keys == []
    for who in ("manager_a", "partner_o1"):
        with world.client(who) as client:
            assert client.get("/api/v1/keys").status_code == 403
    with world.client("coord_b") as client:
        b_keys = client.get("/api/v1/keys").json()["items"]
        assert {k["organisation_id"] for k in b_keys if k["role"] == "partner"} == {world.ids["o3"]}


def test_admin_issues_a_coordinator_key(world: World) -> None:
    with world.client("admin") as client:
        created = client.post(
            "/api/v1/keys",
            json={"name": "Lead", "role": "coordinator", "alliance_id": world.ids["alliance_b"]},
        )
        assert created.status_code == 201, created.text
        roles = {k["role"] for k in client.get("/api/v1/keys").json()["items"]}
        assert roles == {"admin", "coordinator", "manager", "partner"}
        wrong = client.post(
            "/api/v1/keys", json={"name": "Bad", "role": "partner", "alliance_id": 1}
        )
        assert wrong.status_code == 422 and wrong.json()["field"] == "organisation_id"
    with _bearer(world, created.json()["token"]) as coordinator:
        alliance = coordinator.get(f"/api/v1/alliances/{world.ids['alliance_b']}")
        assert alliance.status_code == 200


def test_role_grants_listed_on_the_alliance_and_revoked(world: World) -> None:
    alliance = world.ids["alliance_a"]
    with world.client("coord_a") as client:
        granted = client.post(
            f"/api/v1/alliances/{alliance}/roles",
            json={"person_id": world.ids["p1"], "role": "manager"},
        )
        assert granted.status_code == 201, granted.text
        grant = granted.json()
        assert grant["person_id"] == world.ids["p1"] and grant["id"] >= 1
        shown = client.get(f"/api/v1/alliances/{alliance}").json()["roles"]
        assert shown == [grant]
        assert client.get(f"/api/v1/alliances/{alliance}/roles").json()["items"] == [grant]
    with world.client("manager_a") as client:
        assert client.delete(f"/api/v1/alliances/{alliance}/roles/{grant['id']}").status_code == 403
    with world.client("coord_b") as client:
        assert client.delete(f"/api/v1/alliances/{alliance}/roles/{grant['id']}").status_code == 404
    with world.client("coord_a") as client:
        gone = client.delete(f"/api/v1/alliances/{alliance}/roles/{grant['id']}")
        assert gone.status_code == 204 and gone.content == b""
        assert client.get(f"/api/v1/alliances/{alliance}").json()["roles"] == []
        again = client.delete(f"/api/v1/alliances/{alliance}/roles/{grant['id']}")
        assert again.status_code == 404
        kinds = [
            e["kind"] for e in client.get(f"/api/v1/alliances/{alliance}/history").json()["items"]
        ]
        assert kinds == ["role_revoked"]
