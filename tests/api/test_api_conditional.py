"""HTTP caching and problem types (issue 19, item 7): every JSON resource answers with an ETag,
`If-None-Match` with it answers 304 until the resource changes; a cycle's ETag stays its version;
problems carry a `type` URI per kind."""

from __future__ import annotations

from tests.api.conftest import World


def test_if_none_match_answers_304_until_a_correction(world: World) -> None:
    url = f"/api/v1/organisations/{world.ids['o1']}"
    with world.client("coord_a") as client:
        first = client.get(url)
        tag = first.headers["etag"]
        assert tag.startswith('"') and first.status_code == 200
        cached = client.get(url, headers={"If-None-Match": tag})
        assert cached.status_code == 304 and cached.content == b""
        assert cached.headers["etag"] == tag
        assert client.get(url, headers={"If-None-Match": f'"other", W/{tag}'}).status_code == 304
        client.patch(url, json={"country": "Colombia (Cali)"})
        changed = client.get(url, headers={"If-None-Match": tag})
        assert changed.status_code == 200 and changed.headers["etag"] != tag
        assert changed.json()["country"] == "Colombia (Cali)"


def test_a_cycle_keeps_its_version_as_etag_and_lists_get_one_too(world: World) -> None:
    cycle = world.ids["cycle_a"]
    with world.client("coord_a") as client:
        detail = client.get(f"/api/v1/cycles/{cycle}")
        assert detail.headers["etag"] == f'"{detail.json()["version"]}"'
        again = client.get(
            f"/api/v1/cycles/{cycle}", headers={"If-None-Match": detail.headers["etag"]}
        )
        assert again.status_code == 304
        listing = client.get("/api/v1/people")
        assert (
            client.get(
                "/api/v1/people", headers={"If-None-Match": listing.headers["etag"]}
            ).status_code
            == 304
        )
        client.post(
            "/api/v1/people",
            json={
                "name": "Nuevo",
                "email": "nuevo@ciat.example",
                "organisation_id": world.ids["o1"],
            },
        )
        assert (
            client.get(
                "/api/v1/people", headers={"If-None-Match": listing.headers["etag"]}
            ).status_code
            == 200
        )


def test_problems_name_their_kind(world: World) -> None:
    with world.client("partner_o1") as client:
        missing = client.get("/api/v1/organisations/999999")
        assert missing.json()["type"] == "urn:cycle-engine:problem:not-found"
        forbidden = client.post(
            "/api/v1/keys", json={"name": "x", "role": "partner", "organisation_id": 1}
        )
        assert forbidden.json()["type"] == "urn:cycle-engine:problem:forbidden"
    with world.client(None) as client:
        assert client.get("/api/v1/alliances").json()["type"] == (
            "urn:cycle-engine:problem:unauthenticated"
        )
    with world.client("coord_a") as client:
        refused = client.post(
            f"/api/v1/cycles/{world.ids['cycle_a']}/transitions", json={"trigger": "cancel"}
        )
        assert refused.json()["type"] == "urn:cycle-engine:problem:transition-refused"
        stale = client.post(
            f"/api/v1/cycles/{world.ids['cycle_a']}/transitions",
            json={"trigger": "questions_agreed"},
            headers={"If-Match": '"999"'},
        )
        assert stale.status_code == 412
        assert stale.json()["type"] == "urn:cycle-engine:problem:precondition-failed"
