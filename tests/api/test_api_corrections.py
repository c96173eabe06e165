"""Corrections over HTTP (issue 19, item 2): update alliances, organisations, seats (the agency
link) and people within reach, each leaving a line in the alliance's history; removal only where
nothing depends on the record (409 naming what does); archiving an organisation with a history
records its departure, flags its open roles and revokes its partner keys."""

from __future__ import annotations

from sqlmodel import select

from cycle_engine import CycleEngine
from cycle_engine.store.tables.alliances import ParticipationRecord
from cycle_engine.store.tables.learning import OrganisationDepartureRecord
from tests.api.conftest import World


def test_an_organisation_seated_without_its_agency_link_is_linked_later(world: World) -> None:
    alliance = world.ids["alliance_a"]
    with world.client("coord_a") as client:
        local = client.post(
            "/api/v1/organisations",
            json={
                "name": "Coop Norte",
                "kind": "local",
                "country": "Nicaragua",
                "alliance_id": alliance,
            },
        ).json()
        url = f"/api/v1/alliances/{alliance}/members/{local['id']}"
        linked = client.patch(url, json={"works_with_id": world.ids["o2"]})
        assert linked.status_code == 200, linked.text
        assert linked.json()["works_with_id"] == world.ids["o2"]
        members = client.get(f"/api/v1/alliances/{alliance}/members").json()["items"]
        assert {m["organisation"]["id"]: m["works_with_id"] for m in members}[local["id"]] == (
            world.ids["o2"]
        )
        outside = client.patch(url, json={"works_with_id": world.ids["o3"]})
        assert outside.status_code == 409 and outside.json()["field"] == "works_with_id"
        unlinked = client.patch(url, json={"works_with_id": None})
        assert unlinked.json()["works_with_id"] is None
        lines = client.get(f"/api/v1/alliances/{alliance}/history").json()["items"]
        assert [(e["kind"], e["data"]) for e in lines] == [
            ("member_updated", {"works_with_id": [None, world.ids["o2"]]}),
            ("member_updated", {"works_with_id": [world.ids["o2"], None]}),
        ]
        again = client.post(
            f"/api/v1/alliances/{alliance}/members", json={"organisation_id": local["id"]}
        )
        assert again.status_code == 409  # a second seating is a conflict, not invalid input
    with world.client("coord_b") as client:
        assert client.patch(url, json={"works_with_id": None}).status_code == 404


def test_people_organisations_and_alliances_are_corrected_within_reach(world: World) -> None:
    person = world.ids["p1"]
    with world.client("partner_o1") as client:
        fixed = client.patch(
            f"/api/v1/people/{person}", json={"email": "ana.m@ciat.example", "language": "es"}
        )
        assert fixed.status_code == 200, fixed.text
        assert fixed.json()["email"] == "ana.m@ciat.example" and fixed.json()["language"] == "es"
        bad = client.patch(f"/api/v1/people/{person}", json={"language": "xx"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.language"
        assert (
            client.patch(f"/api/v1/people/{world.ids['p3']}", json={"name": "X"}).status_code == 404
        )
        renamed = client.patch(
            f"/api/v1/organisations/{world.ids['o1']}", json={"country": "Colombia "}
        )
        assert renamed.status_code == 200 and renamed.json()["country"] == "Colombia"
        named = client.patch(f"/api/v1/organisations/{world.ids['o1']}", json={"name": "CIAT-A"})
        assert named.status_code == 200, named.text
    with world.client("coord_a") as client:
        history = client.get(f"/api/v1/alliances/{world.ids['alliance_a']}/history")
        updates = [
            e["data"] for e in history.json()["items"] if e["kind"] == "organisation_updated"
        ]
        assert updates == [{"name": ["CIAT", "CIAT-A"]}]  # an unchanged country writes no line
    with world.client("partner_o1") as client:
        assert (
            client.patch(
                f"/api/v1/alliances/{world.ids['alliance_a']}", json={"theme": "X"}
            ).status_code
            == 403
        )
    with world.client("coord_a") as client:
        changed = client.patch(
            f"/api/v1/alliances/{world.ids['alliance_a']}",
            json={"language": "es", "working_hours_start": 8},
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["language"] == "es" and changed.json()["working_hours_start"] == 8
        hours = client.patch(
            f"/api/v1/alliances/{world.ids['alliance_a']}", json={"working_hours_start": 20}
        )
        assert hours.status_code == 422
    with world.client("admin") as client:
        backwards = {"name": "Backwards", "theme": "Soil"}
        refused = client.post(
            "/api/v1/alliances",
            json={**backwards, "working_hours_start": 17, "working_hours_end": 9},
        )
        assert refused.status_code == 422 and "17-9" in refused.text, refused.text
        names = [a["name"] for a in client.get("/api/v1/alliances").json()["items"]]
        assert "Backwards" not in names
    with world.client("coord_a") as client:
        not_a_number = client.patch(
            f"/api/v1/alliances/{world.ids['alliance_a']}", json={"working_hours_start": False}
        )
        assert not_a_number.status_code == 422  # found by schemathesis: false was read as 0
        taken = client.patch(f"/api/v1/organisations/{world.ids['o1']}", json={"name": "FUNDAR"})
        assert taken.status_code == 409
        kinds = [
            e["kind"]
            for e in client.get(f"/api/v1/alliances/{world.ids['alliance_a']}/history").json()[
                "items"
            ]
        ]
        assert kinds == ["person_updated", "organisation_updated", "alliance_updated"]


def test_removal_only_where_nothing_depends(world: World) -> None:
    with world.client("coord_a") as client:
        blocked = client.delete(f"/api/v1/people/{world.ids['p1']}")
        assert blocked.status_code == 409, blocked.text
        assert "participation" in blocked.json()["detail"] and "left" in blocked.json()["detail"]
        mistake = client.post(
            "/api/v1/people",
            json={
                "name": "Typo",
                "email": "typo@fundar.example",
                "organisation_id": world.ids["o2"],
            },
        ).json()
        assert client.delete(f"/api/v1/people/{mistake['id']}").status_code == 204
        assert client.get(f"/api/v1/people/{mistake['id']}").status_code == 404
        org_blocked = client.delete(f"/api/v1/organisations/{world.ids['o1']}")
        assert org_blocked.status_code == 409 and "archive" in org_blocked.json()["detail"]
        spare = client.post(
            "/api/v1/organisations",
            json={
                "name": "Spare",
                "kind": "ngo",
                "country": "Peru",
                "alliance_id": world.ids["alliance_a"],
            },
        ).json()
        assert client.delete(f"/api/v1/organisations/{spare['id']}").status_code == 204
        assert client.get(f"/api/v1/organisations/{spare['id']}").status_code == 404


def test_archiving_records_the_departure_and_flags_open_roles(
    world: World, seed_engine: CycleEngine
) -> None:
    organisation = world.ids["o1"]
    with world.client("coord_a") as client:
        archived = client.post(
            f"/api/v1/organisations/{organisation}/archive",
            json={"reason": "merged into another institute"},
        )
        assert archived.status_code == 201, archived.text
        flagged = archived.json()["stages_needing_focal_point"]
        assert flagged == {
            str(world.ids["alliance_a"]): {str(world.ids["cycle_a"]): ["question_workshop"]}
        }
        history = client.get(f"/api/v1/cycles/{world.ids['cycle_a']}/history").json()["items"]
        assert history[-1]["kind"] == "organisation_left"
        again = client.post(
            f"/api/v1/organisations/{organisation}/archive", json={"reason": "again"}
        )
        assert again.status_code == 409
        assert client.get(f"/api/v1/organisations/{organisation}").status_code == 200
    with world.client("partner_o1") as client:
        assert client.get(f"/api/v1/organisations/{organisation}").status_code == 401
    with seed_engine.db.read_session() as session:
        departure = session.exec(select(OrganisationDepartureRecord)).one()
        assert departure.organisation_id == organisation
        assert departure.reason == "merged into another institute"
        row = session.exec(
            select(ParticipationRecord).where(ParticipationRecord.organisation_id == organisation)
        ).one()
        assert row.needs_focal_point
